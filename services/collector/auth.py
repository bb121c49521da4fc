"""Who may call the collector.

Every RPC carries ``authorization: Bearer <jwt>``, verified locally against the auth
service's key set (``analyticbot.runtime.jwks``). The collector acts on channels as a
whole, not for one user's grant, so:

- ``TrackChannel`` and ``SetChannelPaused`` (changes): service tokens of trusted
  services (bot, gateway by default) and superadmins; channel-scoped changes also pass
  ``rbac.authorize`` so the one permission table has the last word.
- ``ListTrackedChannels`` and ``GetCollectionStatus`` (reads): any service token and
  superadmins.

Share tokens and other users are refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from analyticbot.runtime.errors import PermissionDenied
from analyticbot.runtime.jwks import JwksKeyRing
from analyticbot.runtime.rbac import Connection, Permission, authorize
from analyticbot.runtime.tokens import Principal, bearer

Metadata = Iterable[tuple[str, str | bytes]] | None


class CollectorAuth:
    """Verifies callers and applies the collector's rules (module docstring)."""

    def __init__(
        self,
        keys: JwksKeyRing,
        *,
        superadmins: frozenset[int],
        trusted_services: frozenset[str],
    ) -> None:
        self.keys = keys
        self._superadmins = superadmins
        self._trusted = trusted_services

    async def caller(self, metadata: Metadata) -> Principal:
        """The verified principal of the call (Unauthenticated without a valid token)."""
        return await self.keys.verify(bearer(metadata or ()), ("access", "service", "share"))

    def _superadmin(self, principal: Principal) -> bool:
        return principal.kind == "access" and principal.user_id in self._superadmins

    async def may_read(self, metadata: Metadata) -> Principal:
        """Allow service tokens and superadmins."""
        principal = await self.caller(metadata)
        if principal.kind == "service" or self._superadmin(principal):
            return principal
        raise PermissionDenied("collection status is for services and superadmins")

    async def may_change(self, metadata: Metadata) -> Principal:
        """Allow trusted services and superadmins."""
        principal = await self.caller(metadata)
        if principal.kind == "service" and principal.service in self._trusted:
            return principal
        if self._superadmin(principal):
            return principal
        who = f"service {principal.service}" if principal.kind == "service" else "this caller"
        raise PermissionDenied(f"{who} may not change what the collector tracks")

    async def may_change_channel(
        self, conn: Connection, metadata: Metadata, channel_id: int
    ) -> Principal:
        """``may_change`` for one channel, confirmed by the permission table."""
        principal = await self.may_change(metadata)
        await authorize(
            conn,
            principal,
            channel_id,
            Permission.MANAGE_CHANNEL,
            superadmins=self._superadmins,
            trusted_services=self._trusted,
        )
        return principal
