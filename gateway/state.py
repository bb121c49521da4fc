"""What the running app holds: settings, peer clients, the key ring and the limiter.

Handlers reach it through ``gateway_state()``; it lives in ``app.extensions`` so that
several apps (tests) never share clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from gateway.analytics_peer import AnalyticsPeer
from gateway.config import GatewaySettings
from gateway.keys import Caller, KeyRing, bearer_token
from gateway.peers import PeerChannels, Peers
from gateway.ratelimit import Limits, Policy, RateLimiter

EXTENSION = "analyticbot_gateway"


@dataclass
class GatewayState:
    """Per-app state; ``peers``, ``analytics`` and ``limiter`` exist between the startup
    and shutdown hooks."""

    settings: GatewaySettings
    keys: KeyRing
    given_channels: PeerChannels | None = None
    channels: PeerChannels | None = None
    _peers: Peers | None = field(default=None, repr=False)
    _analytics: AnalyticsPeer | None = field(default=None, repr=False)
    _limiter: RateLimiter | None = field(default=None, repr=False)

    @property
    def peers(self) -> Peers:
        if self._peers is None:
            raise RuntimeError("the gateway is not started")
        return self._peers

    @property
    def analytics(self) -> AnalyticsPeer:
        if self._analytics is None:
            raise RuntimeError("the gateway is not started")
        return self._analytics

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            raise RuntimeError("the gateway is not started")
        return self._limiter

    def start(self) -> None:
        """Open the peer channels (unless the caller gave its own) and the limiter's Redis
        client (it connects on first use)."""
        settings = self.settings
        self.channels = self.given_channels or PeerChannels.open(
            settings.auth_addr, settings.analytics_addr
        )
        self._peers = Peers(self.channels, deadline_seconds=settings.rpc_deadline_seconds)
        self._analytics = AnalyticsPeer(
            self.channels.analytics,
            deadline_seconds=settings.rpc_deadline_seconds,
            export_deadline_seconds=settings.export_deadline_seconds,
        )
        self._limiter = RateLimiter(
            settings.redis_url.get_secret_value(),
            Limits.parse(
                settings.rate_limit_per_ip,
                settings.rate_limit_per_user,
                settings.rate_limit_auth_per_ip,
            ),
            key_prefix=settings.rate_limit_key_prefix,
            timeout_seconds=settings.rate_limit_redis_timeout_seconds,
            backoff_seconds=settings.rate_limit_backoff_seconds,
        )

    async def stop(self) -> None:
        """Close the channels this state opened; given ones belong to the caller."""
        if self.channels is not None and self.given_channels is None:
            await self.channels.close()
        self.channels = None
        self._peers = None
        self._analytics = None
        if self._limiter is not None:
            await self._limiter.close()
            self._limiter = None


def gateway_state() -> GatewayState:
    state = current_app.extensions[EXTENSION]
    assert isinstance(state, GatewayState)
    return state


async def authenticate(authorization: str | None) -> Caller:
    """Verify the request's bearer token locally (401 when missing or invalid), then
    count the call against the caller's own rate limit (429 beyond it)."""
    state = gateway_state()
    token = bearer_token(authorization)
    principal = await state.keys.verify(token)
    limiter = state.limiter
    await limiter.check("user", principal.subject, limiter.limits.per_user, Policy.FAIL_OPEN)
    return Caller(principal=principal, token=token)
