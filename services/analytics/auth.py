"""Who is calling, and may they: tokens verified locally with the auth service's key set,
then the one permission table (``analyticbot.runtime.rbac``) on every RPC.

Keys come from the shared ``analyticbot.runtime.jwks.JwksKeyRing`` (fetched from auth
``GetJwks``, refreshed on an unknown ``kid`` at most once per ``min_refresh_seconds``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from analyticbot.runtime.errors import PermissionDenied
from analyticbot.runtime.jwks import JwksKeyRing, grpc_jwks_fetcher
from analyticbot.runtime.rbac import Connection, GrantSource, Permission, authorize
from analyticbot.runtime.tokens import Principal, TokenKind, bearer

log = logging.getLogger(__name__)

ACCEPTED_KINDS: tuple[TokenKind, ...] = ("access", "service", "share")
__all__ = ["ACCEPTED_KINDS", "Authorizer", "KeyRing", "grpc_jwks_fetcher"]


class KeyRing(JwksKeyRing):
    """The shared key ring, accepting the token kinds analytics serves: users, services
    and read-only share links."""

    async def verify(self, token: str, kinds: Iterable[TokenKind] = ACCEPTED_KINDS) -> Principal:
        return await super().verify(token, kinds)


class Authorizer:
    """Verifies the caller of an RPC and checks a permission on a channel."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        superadmins: frozenset[int] = frozenset(),
        trusted_services: frozenset[str] = frozenset(),
    ) -> None:
        self.keys = keys
        self._superadmins = superadmins
        self._trusted = trusted_services

    async def caller(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Principal:
        """The verified principal of the ``authorization: Bearer`` metadata."""
        return await self.keys.verify(bearer(metadata or ()))

    async def check(
        self,
        grants: Connection | GrantSource,
        principal: Principal,
        channel_id: int,
        permission: Permission,
    ) -> None:
        """Raise unless ``principal`` holds ``permission`` on ``channel_id`` (a user
        without a grant gets NotFound, as for an unknown channel), reading roles from
        ``grants`` (the service's grant cache, or a connection)."""
        await authorize(
            grants,
            principal,
            channel_id,
            permission,
            superadmins=self._superadmins,
            trusted_services=self._trusted,
        )

    @staticmethod
    def user_id(principal: Principal) -> int:
        """The user behind ``principal``: alert rules belong to users, not services or
        share links."""
        if principal.user_id is None:
            raise PermissionDenied("alert rules belong to a user; call with a user's token")
        return principal.user_id
