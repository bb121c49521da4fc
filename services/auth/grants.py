"""Use cases of grants from Telegram and invites.

Owner and admin grants mirror Telegram: the bot reports a channel's administrators
(``getChatAdministrators``) and ``sync_channel_admins`` makes the grants match, the
creator and the user who added the bot as owners, everyone else as admin. Analysts and
viewers join through invites (a Mini App ``startapp`` payload ``inv_<secret>``), single
use or until they expire; their grants are revocable.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from analyticbot.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from analyticbot.runtime.rbac import Permission, Role, authorize
from analyticbot.runtime.tokens import Principal
from services.auth import grants_repository as repo
from services.auth import repository as users_repo
from services.auth.domain import (
    ChannelAccess,
    ChannelAdmin,
    ChannelNotRegistered,
    GrantNotRevocable,
    Invite,
    InviteUnusable,
    Member,
    SyncResult,
)

log = logging.getLogger(__name__)

BOT_SERVICE = "bot"
INVITE_PREFIX = "inv_"
INVITABLE_ROLES = frozenset({Role.ANALYST, Role.VIEWER})
DEFAULT_INVITE_VALIDITY = timedelta(days=7)
MAX_INVITE_VALIDITY = timedelta(days=30)
MIN_INVITE_VALIDITY = timedelta(minutes=1)
_MAX_START_PARAM = 64
SOURCE_TELEGRAM = "telegram"
SOURCE_INVITE = "invite"


def hash_invite_secret(start_param: str) -> bytes:
    """What the database keeps of an invite: SHA-256 of its startapp payload."""
    return hashlib.sha256(start_param.encode()).digest()


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    start_param: str


@dataclass(frozen=True)
class AcceptedInvite:
    channel_id: int
    role: Role
    title: str


class GrantService:
    """Grants from Telegram administrators, invites, members."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        superadmins: frozenset[int] = frozenset(),
        changed: Callable[[int], None] = lambda _user_id: None,
    ) -> None:
        self._pool = pool
        self._superadmins = superadmins
        # Told of each user whose roles a committed transaction here changed, so this
        # process's grant cache forgets them at once rather than on PostgreSQL's
        # announcement a moment later (which every other process waits for).
        self._changed = changed

    @staticmethod
    def _require_bot(principal: Principal) -> None:
        if principal.kind != "service" or principal.service != BOT_SERVICE:
            raise PermissionDenied("only the bot may do this")

    @staticmethod
    def _require_user(principal: Principal) -> int:
        if principal.kind != "access" or principal.user_id is None:
            raise PermissionDenied("a user token is required")
        return principal.user_id

    async def sync_channel_admins(
        self,
        principal: Principal,
        channel_id: int,
        admins: Sequence[ChannelAdmin],
        added_by: int,
    ) -> SyncResult:
        """Make the channel's Telegram-derived grants match ``admins``."""
        self._require_bot(principal)
        desired: dict[int, Role] = {
            a.user.id: Role.OWNER if a.is_creator else Role.ADMIN for a in admins
        }
        if added_by:
            if added_by not in desired:
                raise InvalidArgument("added_by_user_id is not among the admins")
            desired[added_by] = Role.OWNER
        now = datetime.now(UTC)
        granted = 0
        async with self._pool.acquire() as conn, conn.transaction():
            if await repo.channel_title(conn, channel_id) is None:
                raise ChannelNotRegistered("channel not found")
            await repo.ensure_users(conn, [a.user for a in admins])
            current = await repo.lock_channel_grants(conn, channel_id)
            for user_id, role in desired.items():
                existing = current.get(user_id)
                if existing is not None and existing[0] >= role:
                    continue
                await repo.put_grant(
                    conn,
                    user_id=user_id,
                    channel_id=channel_id,
                    role=role,
                    source=SOURCE_TELEGRAM,
                    granted_by=None,
                    at=now,
                )
                current[user_id] = (role, SOURCE_TELEGRAM)
                granted += 1
            gone = [
                user_id
                for user_id, (_, source) in current.items()
                if source == SOURCE_TELEGRAM and user_id not in desired
            ]
            removed = await repo.delete_grants(conn, channel_id, gone) if gone else 0
        for user_id in (*desired, *gone):
            self._changed(user_id)
        owners = tuple(
            sorted(u for u, (role, _) in current.items() if role == Role.OWNER and u not in gone)
        )
        log.info(
            "channel admins synced",
            extra={"channel_id": channel_id, "granted": granted, "removed": removed},
        )
        return SyncResult(granted=granted, removed=removed, owners=owners)

    async def list_user_channels(self, principal: Principal, user_id: int) -> list[ChannelAccess]:
        """A user's channels, for the bot acting on the user's behalf in chat."""
        self._require_bot(principal)
        async with self._pool.acquire() as conn:
            return await users_repo.granted_channels(conn, user_id)

    async def create_invite(
        self,
        principal: Principal,
        channel_id: int,
        role: Role,
        single_use: bool,
        valid_for: timedelta | None,
    ) -> CreatedInvite:
        """An invite link payload; only its hash is stored."""
        user_id = self._require_user(principal)
        if role not in INVITABLE_ROLES:
            raise InvalidArgument("invites grant analyst or viewer")
        validity = valid_for or DEFAULT_INVITE_VALIDITY
        if not MIN_INVITE_VALIDITY <= validity <= MAX_INVITE_VALIDITY:
            raise InvalidArgument("valid_for must be between 1 minute and 30 days")
        start_param = INVITE_PREFIX + secrets.token_urlsafe(24)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._authorize(conn, principal, channel_id, Permission.INVITE_MEMBERS)
            invite = await repo.insert_invite(
                conn,
                token_hash=hash_invite_secret(start_param),
                channel_id=channel_id,
                role=role,
                single_use=single_use,
                created_by=user_id,
                expires_at=datetime.now(UTC) + validity,
            )
        return CreatedInvite(invite=invite, start_param=start_param)

    async def accept_invite(self, principal: Principal, start_param: str) -> AcceptedInvite:
        """Grant the caller the invite's role; a higher role they hold is kept."""
        user_id = self._require_user(principal)
        if not start_param.startswith(INVITE_PREFIX) or len(start_param) > _MAX_START_PARAM:
            raise InviteUnusable("invite is invalid, expired or already used")
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            invite = await repo.lock_live_invite(conn, hash_invite_secret(start_param), now)
            if invite is None:
                raise InviteUnusable("invite is invalid, expired or already used")
            current = await repo.lock_channel_grants(conn, invite.channel_id)
            held = current.get(user_id)
            role = invite.role
            if held is not None and held[0] >= invite.role:
                role = held[0]
            else:
                await repo.put_grant(
                    conn,
                    user_id=user_id,
                    channel_id=invite.channel_id,
                    role=invite.role,
                    source=SOURCE_INVITE,
                    granted_by=invite.created_by,
                    at=now,
                )
                await repo.count_use(conn, invite.id)
            title = await repo.channel_title(conn, invite.channel_id) or ""
        self._changed(user_id)
        log.info(
            "invite accepted",
            extra={"invite_id": invite.id, "channel_id": invite.channel_id, "user_id": user_id},
        )
        return AcceptedInvite(channel_id=invite.channel_id, role=role, title=title)

    async def revoke_invite(self, principal: Principal, invite_id: int) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            channel_id = await repo.invite_channel(conn, invite_id)
            if channel_id is None:
                raise NotFound("invite not found")
            await self._authorize(conn, principal, channel_id, Permission.INVITE_MEMBERS)
            return await repo.revoke_invite(conn, invite_id, datetime.now(UTC))

    async def list_invites(self, principal: Principal, channel_id: int) -> list[Invite]:
        async with self._pool.acquire() as conn:
            await self._authorize(conn, principal, channel_id, Permission.INVITE_MEMBERS)
            return await repo.live_invites(conn, channel_id, datetime.now(UTC))

    async def list_members(self, principal: Principal, channel_id: int) -> list[Member]:
        async with self._pool.acquire() as conn:
            await self._authorize(conn, principal, channel_id, Permission.MANAGE_MEMBERS)
            return await repo.members(conn, channel_id)

    async def revoke_grant(self, principal: Principal, channel_id: int, user_id: int) -> bool:
        """Remove an invited member's grant; owner/admin grants change in Telegram."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._authorize(conn, principal, channel_id, Permission.MANAGE_MEMBERS)
            current = await repo.lock_channel_grants(conn, channel_id)
            held = current.get(user_id)
            if held is None:
                raise NotFound("member not found")
            role, source = held
            if role >= Role.ADMIN or source == SOURCE_TELEGRAM:
                raise GrantNotRevocable(
                    "owners and admins follow the channel's administrators in Telegram"
                )
            removed = await repo.delete_grants(conn, channel_id, [user_id])
        self._changed(user_id)
        log.info("grant revoked", extra={"channel_id": channel_id, "user_id": user_id})
        return removed > 0

    async def _authorize(
        self,
        conn: asyncpg.pool.PoolConnectionProxy,
        principal: Principal,
        channel_id: int,
        permission: Permission,
    ) -> None:
        if principal.kind != "access":
            raise PermissionDenied("a user token is required")
        await authorize(conn, principal, channel_id, permission, superadmins=self._superadmins)
