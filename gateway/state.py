"""What the running app holds: settings, peer clients and the key ring.

Handlers reach it through ``gateway_state()``; it lives in ``app.extensions`` so that
several apps (tests) never share clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from gateway.config import GatewaySettings
from gateway.keys import Caller, KeyRing, bearer_token
from gateway.peers import PeerChannels, Peers

EXTENSION = "analyticbot_gateway"


@dataclass
class GatewayState:
    """Per-app state; ``peers`` exists between the startup and shutdown hooks."""

    settings: GatewaySettings
    keys: KeyRing
    given_channels: PeerChannels | None = None
    channels: PeerChannels | None = None
    _peers: Peers | None = field(default=None, repr=False)

    @property
    def peers(self) -> Peers:
        if self._peers is None:
            raise RuntimeError("the gateway is not started")
        return self._peers

    def start(self) -> None:
        """Open the peer channels (unless the caller gave its own)."""
        self.channels = self.given_channels or PeerChannels.open(
            self.settings.auth_addr, self.settings.analytics_addr
        )
        self._peers = Peers(self.channels, deadline_seconds=self.settings.rpc_deadline_seconds)

    async def stop(self) -> None:
        """Close the channels this state opened; given ones belong to the caller."""
        if self.channels is not None and self.given_channels is None:
            await self.channels.close()
        self.channels = None
        self._peers = None


def gateway_state() -> GatewayState:
    state = current_app.extensions[EXTENSION]
    assert isinstance(state, GatewayState)
    return state


async def authenticate(authorization: str | None) -> Caller:
    """Verify the request's bearer token locally; 401 when missing or invalid."""
    token = bearer_token(authorization)
    principal = await gateway_state().keys.verify(token)
    return Caller(principal=principal, token=token)
