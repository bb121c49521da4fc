"""Use cases of share links: read-only, one channel, expiring, revocable.

An admin (``manage_share_links``) or a superadmin creates a link and gets its secret
token ``shr_<43 URL-safe characters>`` once; the database keeps only its SHA-256, and
links are found by that hash. Whoever holds the token exchanges it, without a Telegram
login, for a short-lived access token of kind ``share`` (``sub`` ``share:<link id>``,
claim ``cid``) that lives at most as long as a normal access token and never past the
link. Every request made with it reads the link back (``rbac.authorize``, and
``CheckAccess`` here), so a revocation takes effect on the next request.

Links belong to the channel, not to their creator: any admin of the channel lists and
revokes them, and they outlive their creator's role.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from analyticbot.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from analyticbot.runtime.rbac import SHARE_SUBJECT_PREFIX, Connection, Permission, authorize
from analyticbot.runtime.tokens import Principal, TokenSigner
from services.auth import share_links_repository as repo
from services.auth.domain import (
    ChannelNotRegistered,
    IssuedToken,
    SharedChannel,
    ShareLink,
    ShareLinkRejected,
    TooManyShareLinks,
)

log = logging.getLogger(__name__)

SHARE_TOKEN_PREFIX = "shr_"  # noqa: S105 - the public prefix of every share token
# "shr_" and secrets.token_urlsafe(32): 32 random bytes, 43 URL-safe characters. It also
# fits a Telegram startapp payload (at most 64 characters of [A-Za-z0-9_-]).
_SHARE_TOKEN = re.compile(r"shr_[A-Za-z0-9_-]{43}")
MIN_SHARE_LINK_TTL = timedelta(minutes=1)
DEFAULT_SHARE_LINK_TTL = timedelta(days=7)
MAX_LIVE_LINKS_PER_CHANNEL = 100


def hash_share_token(token: str) -> bytes:
    """What the database keeps of a share link: SHA-256 of its token."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class SharePolicy:
    """How long share links and the tokens exchanged from them may live."""

    access_ttl_seconds: int = 900
    max_link_ttl_seconds: int = 30 * 24 * 3600
    superadmins: frozenset[int] = frozenset()

    @property
    def max_link_ttl(self) -> timedelta:
        return timedelta(seconds=self.max_link_ttl_seconds)


@dataclass(frozen=True)
class CreatedShareLink:
    link: ShareLink
    token: str


class ShareLinkService:
    """Create, list, revoke and exchange share links."""

    def __init__(self, pool: asyncpg.Pool, signer: TokenSigner, policy: SharePolicy) -> None:
        self._pool = pool
        self._signer = signer
        self._policy = policy

    async def create(
        self, principal: Principal, channel_id: int, ttl: timedelta | None
    ) -> CreatedShareLink:
        """A new link to ``channel_id``; the token is returned here and never again."""
        user_id = self._require_user(principal)
        lifetime = (
            ttl if ttl is not None else min(DEFAULT_SHARE_LINK_TTL, self._policy.max_link_ttl)
        )
        if not MIN_SHARE_LINK_TTL <= lifetime <= self._policy.max_link_ttl:
            raise InvalidArgument(
                f"ttl must be between 60 and {self._policy.max_link_ttl_seconds} seconds"
            )
        token = SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._authorize(conn, principal, channel_id)
            if not await repo.lock_channel(conn, channel_id):
                raise ChannelNotRegistered("channel not found")
            if await repo.count_live(conn, channel_id, now) >= MAX_LIVE_LINKS_PER_CHANNEL:
                raise TooManyShareLinks(
                    f"a channel has at most {MAX_LIVE_LINKS_PER_CHANNEL} live share links; "
                    "revoke one first"
                )
            link = await repo.insert(
                conn,
                token_hash=hash_share_token(token),
                channel_id=channel_id,
                created_by=user_id,
                created_at=now,
                expires_at=now + lifetime,
            )
        log.info(
            "share link created",
            extra={"link_id": link.id, "channel_id": channel_id, "user_id": user_id},
        )
        return CreatedShareLink(link=link, token=token)

    async def list_links(
        self, principal: Principal, channel_id: int, *, include_inactive: bool
    ) -> list[ShareLink]:
        """A channel's links, without secrets (none are stored)."""
        self._require_user(principal)
        async with self._pool.acquire() as conn:
            await self._authorize(conn, principal, channel_id)
            return await repo.channel_links(
                conn, channel_id, datetime.now(UTC), include_inactive=include_inactive
            )

    async def revoke(self, principal: Principal, link_id: int) -> bool:
        """Revoke a link; False when it already was. An id on a channel the caller has no
        role on is NotFound, like an unknown id."""
        user_id = self._require_user(principal)
        async with self._pool.acquire() as conn, conn.transaction():
            channel_id = await repo.link_channel(conn, link_id)
            if channel_id is None:
                raise NotFound("share link not found")
            await self._authorize(conn, principal, channel_id)
            revoked = await repo.revoke(conn, link_id, datetime.now(UTC))
        log.info(
            "share link revoked",
            extra={"link_id": link_id, "channel_id": channel_id, "user_id": user_id},
        )
        return revoked

    async def exchange(self, token: str) -> SharedChannel:
        """A share token for a live link's channel; ShareLinkRejected otherwise."""
        if not _SHARE_TOKEN.fullmatch(token):
            raise ShareLinkRejected("malformed share link")
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            found = await repo.find_by_hash(conn, hash_share_token(token))
            if found is None:
                raise ShareLinkRejected("unknown share link")
            link = found.link
            if link.revoked_at is not None:
                raise ShareLinkRejected("share link revoked")
            remaining = int((link.expires_at - now).total_seconds())
            if remaining < 1:
                raise ShareLinkRejected("share link expired")
            await repo.mark_used(conn, link.id, now)
        issued, expires = self._signer.issue(
            "share",
            f"{SHARE_SUBJECT_PREFIX}{link.id}",
            min(self._policy.access_ttl_seconds, remaining),
            extra={"cid": link.channel_id},
            now=now.timestamp(),
        )
        log.info("share link used", extra={"link_id": link.id, "channel_id": link.channel_id})
        return SharedChannel(
            access=IssuedToken(token=issued, expires_at=datetime.fromtimestamp(expires, UTC)),
            link=link,
            title=found.title,
            username=found.username,
        )

    @staticmethod
    def _require_user(principal: Principal) -> int:
        if principal.kind != "access" or principal.user_id is None:
            raise PermissionDenied("a user token is required")
        return principal.user_id

    async def _authorize(self, conn: Connection, principal: Principal, channel_id: int) -> None:
        await authorize(
            conn,
            principal,
            channel_id,
            Permission.MANAGE_SHARE_LINKS,
            superadmins=self._policy.superadmins,
        )
