"""What the running app holds: settings, peer clients, the key ring and the limiter.

Handlers reach it through ``gateway_state()``; it lives in ``app.extensions`` so that
several apps (tests) never share clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from quart import current_app, g

from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.tokens import TokenKind
from gateway.access_cache import AccessCache
from gateway.analytics_peer import AnalyticsPeer
from gateway.answer_memo import AnswerMemo
from gateway.config import GatewaySettings
from gateway.export_links import ExportLinks
from gateway.keys import USER, Caller, KeyRing, bearer_token
from gateway.peers import PeerChannels, Peers
from gateway.ratelimit import Limits, Policy, RateLimiter
from gateway.rendered import RenderedBodies
from gateway.resilience import AnalyticsGuard, CircuitBreaker, RecentAccess
from gateway.team_peer import TeamPeer

EXTENSION = "analyticbot_gateway"
# Set on ``g`` by the rate guard (gateway/guards.py) for a request it leaves to
# ``authenticate`` to count; ``authenticate`` takes it off once it counts the request.
IP_COUNT_DEFERRED = "ip_count_deferred"


@dataclass
class GatewayState:
    """Per-app state; ``peers``, ``analytics``, ``team`` and ``limiter`` exist between the
    startup and shutdown hooks."""

    settings: GatewaySettings
    keys: KeyRing
    given_channels: PeerChannels | None = None
    channels: PeerChannels | None = None
    _peers: Peers | None = field(default=None, repr=False)
    _analytics: AnalyticsPeer | None = field(default=None, repr=False)
    _limiter: RateLimiter | None = field(default=None, repr=False)
    _team: TeamPeer | None = field(default=None, repr=False)
    guard: AnalyticsGuard | None = field(default=None, repr=False)
    recent_access: RecentAccess = field(default_factory=RecentAccess, repr=False)
    access_cache: AccessCache | None = field(default=None, repr=False)
    answer_memo: AnswerMemo | None = field(default=None, repr=False)
    # JSON bodies kept beside the answers they were rendered from (gateway/rendered.py).
    rendered: RenderedBodies = field(default_factory=RenderedBodies, repr=False)
    _export_links: ExportLinks | None = field(default=None, repr=False)

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
    def team(self) -> TeamPeer:
        if self._team is None:
            raise RuntimeError("the gateway is not started")
        return self._team

    @property
    def export_links(self) -> ExportLinks:
        if self._export_links is None:
            raise RuntimeError("the gateway is not started")
        return self._export_links

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
        if settings.answer_memo:
            self.answer_memo = AnswerMemo(
                create_redis(settings.redis_url.get_secret_value(), connect_timeout=1.0),
                settings.redis_name(settings.answers_topic),
                ttl_seconds=settings.answer_memo_seconds,
            )
        self.guard = AnalyticsGuard(
            create_redis(
                settings.redis_url.get_secret_value(), connect_timeout=0.25, command_timeout=0.25
            ),
            prefix=settings.redis_name(f"{settings.stale_key_prefix}:"),
            ttl_seconds=settings.stale_ttl_seconds,
            breaker=CircuitBreaker(
                threshold=settings.breaker_threshold, open_seconds=settings.breaker_open_seconds
            ),
            share_reads=settings.share_concurrent_reads,
            memo=self.answer_memo,
        )
        self._peers = Peers(
            self.channels,
            deadline_seconds=settings.rpc_deadline_seconds,
            analytics_guard=self.guard,
        )
        self._analytics = AnalyticsPeer(
            self.channels.analytics,
            deadline_seconds=settings.rpc_deadline_seconds,
            export_deadline_seconds=settings.export_deadline_seconds,
            guard=self.guard,
        )
        self._team = TeamPeer(self.channels.auth, deadline_seconds=settings.rpc_deadline_seconds)
        if settings.access_cache:
            self.access_cache = AccessCache(
                create_redis(settings.redis_url.get_secret_value(), connect_timeout=1.0),
                settings.redis_name(settings.grants_topic),
                stale_seconds=settings.access_cache_stale_seconds,
            )
        self._export_links = ExportLinks(
            create_redis(settings.redis_url.get_secret_value(), connect_timeout=1.0),
            prefix=settings.redis_name(settings.export_link_key_prefix),
            ttl_seconds=settings.export_link_ttl_seconds,
        )
        self._limiter = RateLimiter(
            settings.redis_url.get_secret_value(),
            Limits.parse(
                per_ip=settings.rate_limit_per_ip,
                per_user=settings.rate_limit_per_user,
                auth_per_ip=settings.rate_limit_auth_per_ip,
                per_share_link=settings.rate_limit_per_share_link,
                share_exchange_per_ip=settings.rate_limit_share_exchange_per_ip,
                share_exchange_per_link=settings.rate_limit_share_exchange_per_link,
            ),
            key_prefix=settings.redis_name(settings.rate_limit_key_prefix),
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
        self._team = None
        if self.guard is not None:
            await self.guard.close()
            self.guard = None
        if self._limiter is not None:
            await self._limiter.close()
            self._limiter = None
        if self._export_links is not None:
            await self._export_links.close()
            self._export_links = None
        if self.access_cache is not None:
            await self.access_cache.close()
            self.access_cache = None
        if self.answer_memo is not None:
            await self.answer_memo.close()
            self.answer_memo = None


def gateway_state() -> GatewayState:
    state = current_app.extensions[EXTENSION]
    assert isinstance(state, GatewayState)
    return state


async def authenticate(authorization: str | None, kinds: Iterable[TokenKind] = USER) -> Caller:
    """Verify the request's bearer token locally (401 when missing, invalid or of a kind
    not in ``kinds``), then count the call against the caller's own rate limit (429
    beyond it): a user's, or for a share token its link's, shared by all its holders.

    Routes take share tokens through ``api.access``, which decides per route what a
    share token may do."""
    state = gateway_state()
    token = bearer_token(authorization)
    principal = await state.keys.verify(token, kinds)
    g.pop(IP_COUNT_DEFERRED, None)  # counted here, per user or link, instead
    limiter, limits = state.limiter, state.limiter.limits
    if principal.kind == "share":
        await limiter.check("share", principal.subject, limits.per_share_link, Policy.FAIL_OPEN)
    else:
        await limiter.check("user", principal.subject, limits.per_user, Policy.FAIL_OPEN)
    return Caller(principal=principal, token=token)
