"""Use cases of the auth service: login, key set, RBAC answers, refresh, service tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from analyticbot.runtime.grant_cache import GrantCache
from analyticbot.runtime.initdata import InitDataValidator
from analyticbot.runtime.rbac import (
    SHARE_PERMISSIONS,
    Connection,
    Permission,
    Role,
    allows,
    require_live_share_link,
)
from analyticbot.runtime.tokens import Principal, TokenKind, TokenSigner, TokenVerifier
from services.auth import repository as repo
from services.auth.domain import (
    AccessDecision,
    ChannelAccess,
    IssuedToken,
    RefreshTokenRejected,
    ServiceCredentialsRejected,
    Session,
    TelegramUser,
    UnknownPermission,
)
from services.auth.grants import GrantService
from services.auth.share_links import ShareLinkService, SharePolicy

log = logging.getLogger(__name__)

# Refresh tokens carry a recognisable prefix so secret scanners can spot leaked ones.
REFRESH_PREFIX = "abr_"
_MAX_REFRESH_LENGTH = 128
# Compared against when a service name is unknown, so timing tells nothing.
_NO_SECRET = hashlib.sha256(b"no such service").digest()


@dataclass(frozen=True)
class AuthPolicy:
    """Lifetimes and the people and services the configuration trusts."""

    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600
    service_token_ttl_seconds: int = 600
    share_link_max_ttl_seconds: int = 30 * 24 * 3600
    superadmins: frozenset[int] = frozenset()
    # SHA-256 of each service's pre-shared secret, by service name.
    service_secrets: Mapping[str, bytes] | None = None

    @property
    def trusted_services(self) -> frozenset[str]:
        return frozenset(self.service_secrets or {})


def hash_refresh_token(token: str) -> bytes:
    """What the database keeps of a refresh token."""
    return hashlib.sha256(token.encode()).digest()


class AuthService:
    """The auth service's behaviour, independent of gRPC."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        validator: InitDataValidator,
        signer: TokenSigner,
        policy: AuthPolicy,
        *,
        grants: GrantCache | None = None,
    ) -> None:
        self._pool = pool
        # Roles for CheckAccess; without a listening cache, read on every check.
        self._roles = grants if grants is not None else GrantCache(pool)
        self._validator = validator
        self._signer = signer
        self._verifier = TokenVerifier(signer.jwks())
        self._policy = policy
        self.grants = GrantService(pool, superadmins=policy.superadmins, changed=self._roles.forget)
        self.share_links = ShareLinkService(
            pool,
            signer,
            SharePolicy(
                access_ttl_seconds=policy.access_ttl_seconds,
                max_link_ttl_seconds=policy.share_link_max_ttl_seconds,
                superadmins=policy.superadmins,
            ),
        )

    def jwks(self) -> dict[str, Any]:
        """The public key set every service verifies tokens with."""
        return self._signer.jwks()

    def authenticate(self, token: str, kinds: Iterable[TokenKind]) -> Principal:
        """The principal of a bearer token, or Unauthenticated."""
        return self._verifier.verify(token, kinds=kinds)

    async def exchange_init_data(self, raw: str) -> Session:
        """Validate a launch, remember the user, and open a session (new token family)."""
        launch = self._validator.validate(raw)
        user = TelegramUser.from_init_data(launch.user)
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.upsert_user(conn, user, now)
            refresh = await self._new_refresh_token(conn, user.id, str(uuid.uuid4()), now)
        log.info("session opened", extra={"user_id": user.id, "method": launch.method})
        return Session(
            access=self._access_token(user.id),
            refresh=refresh,
            user=user,
            start_param=launch.start_param,
        )

    async def refresh(self, token: str) -> Session:
        """Rotate a refresh token. A token presented twice revokes its whole family."""
        token_hash = self._refresh_hash(token)
        now = datetime.now(UTC)
        refresh: IssuedToken | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await repo.lock_refresh_token(conn, token_hash)
            if stored is None:
                raise RefreshTokenRejected("unknown refresh token")
            if stored.revoked:
                raise RefreshTokenRejected("refresh token revoked")
            if stored.rotated:
                await repo.revoke_family(conn, stored.family_id, now)
            elif stored.expires_at <= now:
                raise RefreshTokenRejected("refresh token expired")
            else:
                await repo.mark_rotated(conn, stored.id, now)
                refresh = await self._new_refresh_token(conn, stored.user_id, stored.family_id, now)
        if refresh is None:
            # A reused token: raised after the commit, so the revocation stands.
            log.warning(
                "refresh token reused; family revoked",
                extra={"user_id": stored.user_id, "family_id": stored.family_id},
            )
            raise RefreshTokenRejected("refresh token already used; the session is revoked")
        return Session(access=self._access_token(stored.user_id), refresh=refresh)

    async def revoke(self, token: str) -> bool:
        """Log out: revoke the family of ``token``; False when the token is unknown."""
        token_hash = self._refresh_hash(token)
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await repo.lock_refresh_token(conn, token_hash)
            if stored is None:
                return False
            await repo.revoke_family(conn, stored.family_id, now)
            return True

    def issue_service_token(self, service: str, secret: str) -> IssuedToken:
        """A service token for a deployable that proves its pre-shared secret."""
        expected = (self._policy.service_secrets or {}).get(service)
        presented = hashlib.sha256(secret.encode()).digest()
        matches = hmac.compare_digest(presented, expected or _NO_SECRET)
        if expected is None or not matches:
            raise ServiceCredentialsRejected("unknown service or wrong secret")
        token, expires = self._signer.issue(
            "service", f"svc:{service}", self._policy.service_token_ttl_seconds
        )
        return IssuedToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))

    async def list_my_channels(self, principal: Principal) -> tuple[list[ChannelAccess], bool]:
        """The caller's channels and whether the caller is a superadmin (sees all)."""
        assert principal.user_id is not None
        superadmin = principal.user_id in self._policy.superadmins
        async with self._pool.acquire() as conn:
            if superadmin:
                return await repo.all_channels(conn, principal.user_id), True
            return await repo.granted_channels(conn, principal.user_id), False

    async def check_access(
        self, principal: Principal, channel_id: int, permission_name: str
    ) -> AccessDecision:
        """Whether ``principal`` holds a permission on a channel, from grants through the
        grant cache (share tokens: from their link, read on every check, which must
        still be live)."""
        try:
            permission = Permission(permission_name)
        except ValueError:
            raise UnknownPermission(f"unknown permission {permission_name!r}") from None
        if principal.kind == "service":
            allowed = principal.service in self._policy.trusted_services
            return AccessDecision(allowed=allowed, role=None, superadmin=False)
        if principal.kind == "share":
            if principal.channel_id != channel_id:
                return AccessDecision(allowed=False, role=None, superadmin=False)
            # Read back on every check: a revoked or expired link is Unauthenticated.
            async with self._pool.acquire() as conn:
                await require_live_share_link(conn, principal)
            return AccessDecision(
                allowed=permission in SHARE_PERMISSIONS, role=Role.VIEWER, superadmin=False
            )
        assert principal.user_id is not None
        role = await self._roles.role(principal.user_id, channel_id)
        if principal.user_id in self._policy.superadmins:
            return AccessDecision(allowed=True, role=role or Role.OWNER, superadmin=True)
        return AccessDecision(allowed=allows(role, permission), role=role, superadmin=False)

    def _access_token(self, user_id: int) -> IssuedToken:
        token, expires = self._signer.issue("access", str(user_id), self._policy.access_ttl_seconds)
        return IssuedToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))

    async def _new_refresh_token(
        self, conn: Connection, user_id: int, family_id: str, now: datetime
    ) -> IssuedToken:
        token = REFRESH_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=self._policy.refresh_ttl_seconds)
        await repo.insert_refresh_token(
            conn,
            token_hash=hash_refresh_token(token),
            family_id=family_id,
            user_id=user_id,
            expires_at=expires_at,
        )
        return IssuedToken(token=token, expires_at=expires_at)

    @staticmethod
    def _refresh_hash(token: str) -> bytes:
        if not token.startswith(REFRESH_PREFIX) or len(token) > _MAX_REFRESH_LENGTH:
            raise RefreshTokenRejected("malformed refresh token")
        return hash_refresh_token(token)
