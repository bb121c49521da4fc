"""The gateway's breaker and stale-if-error copies, over real Redis: a dashboard read that
analytics cannot answer is served from the last good copy and marked stale; a failing
peer stops being called once the breaker opens; Redis down costs only the fallback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from quart import Quart

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2
from analyticbot.runtime.cache import create_redis
from gateway.errors import APIError
from gateway.resilience import (
    AnalyticsGuard,
    CircuitBreaker,
    access_checked,
    install_stale_headers,
)

Overview = analytics_pb2.GetChannelOverviewResponse


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "peer says no")


class Peer:
    """Stands in for the analytics service: answers, or fails with ``failing``."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing: grpc.StatusCode | None = None

    def sender(self, title: str) -> Callable[[], asyncio.Future[Overview]]:
        async def send() -> Overview:
            self.calls += 1
            if self.failing is not None:
                raise rpc_error(self.failing)
            return Overview(channel_id=7, title=title)

        return lambda: asyncio.ensure_future(send())


@pytest.fixture
async def guard(redis_url: str) -> AsyncIterator[AnalyticsGuard]:
    built = AnalyticsGuard(
        create_redis(redis_url, connect_timeout=0.25, command_timeout=0.25),
        prefix=f"test:stale:{uuid.uuid4().hex}:",
        breaker=CircuitBreaker(threshold=3, open_seconds=60),
    )
    yield built
    await built.close()


async def _settle(guard: AnalyticsGuard) -> None:
    """Let the background copy reach Redis."""
    for _ in range(50):
        if not guard._writes:
            return
        await asyncio.sleep(0.01)


def app_for(guard: AnalyticsGuard, peer: Peer, *, checked: bool = True) -> Quart:
    """A route as the real ones are: auth has allowed the caller (``access_checked``)
    unless ``checked`` is False (auth was unavailable, analytics alone authorizes)."""
    app = Quart(__name__)
    install_stale_headers(app)

    @app.get("/overview/<int:channel_id>")
    async def overview(channel_id: int) -> dict[str, str]:
        if checked:
            access_checked(channel_id)
        request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
        try:
            answer = await guard.call("GetChannelOverview", request, Overview, peer.sender("Seven"))
        except grpc.aio.AioRpcError:
            return {"error": "UNAVAILABLE"}, 503  # type: ignore[return-value]
        return {"title": answer.title}

    return app


async def test_an_unavailable_peer_is_answered_from_the_last_copy_marked_stale(
    guard: AnalyticsGuard,
) -> None:
    peer = Peer()
    client = app_for(guard, peer).test_client()
    fresh = await client.get("/overview/7")
    assert (await fresh.get_json()) == {"title": "Seven"}
    assert "X-Cache" not in fresh.headers
    await _settle(guard)

    peer.failing = grpc.StatusCode.UNAVAILABLE
    stale = await client.get("/overview/7")
    assert stale.status_code == 200
    assert (await stale.get_json()) == {"title": "Seven"}
    assert stale.headers["X-Cache"] == "stale"
    assert stale.headers["Warning"].startswith("110")

    never_read = await client.get("/overview/8")  # another query: no copy, the error stands
    assert never_read.status_code == 503


async def test_no_stale_copy_for_a_read_auth_did_not_allow(guard: AnalyticsGuard) -> None:
    """With auth unavailable the gateway forwards a user's read for analytics to
    authorize; when analytics fails too, nobody has authorized it: no copy."""
    peer = Peer()
    await app_for(guard, peer).test_client().get("/overview/7")
    await _settle(guard)
    peer.failing = grpc.StatusCode.UNAVAILABLE
    unchecked = await app_for(guard, peer, checked=False).test_client().get("/overview/7")
    assert unchecked.status_code == 503
    assert "X-Cache" not in unchecked.headers


async def test_answers_that_are_not_outages_are_never_replaced_by_a_copy(
    guard: AnalyticsGuard,
) -> None:
    peer = Peer()
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=7)
    await guard.call("GetChannelOverview", request, Overview, peer.sender("Seven"))
    await _settle(guard)
    peer.failing = grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError):
        await guard.call("GetChannelOverview", request, Overview, peer.sender("Seven"))
    assert not guard.breaker.is_open


async def test_the_breaker_stops_calling_a_failing_peer(guard: AnalyticsGuard) -> None:
    peer = Peer()
    peer.failing = grpc.StatusCode.UNAVAILABLE
    request = alerts_pb2.ListAlertsRequest(channel_id=7)  # not a cached read
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await guard.call("ListAlerts", request, Overview, peer.sender(""))
    assert guard.breaker.is_open
    with pytest.raises(APIError) as refused:
        await guard.call("ListAlerts", request, Overview, peer.sender(""))
    assert refused.value.status == 503
    assert peer.calls == 3


def test_the_breaker_half_opens_after_its_window_and_a_success_closes_it() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, open_seconds=5, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    now[0] = 5.1
    assert breaker.allow()  # half-open: a trial goes through
    breaker.failure()
    assert not breaker.allow()  # and its failure re-opens at once
    now[0] = 10.2
    breaker.success()
    assert breaker.allow()
    assert not breaker.is_open


async def test_redis_down_costs_only_the_fallback() -> None:
    dead = AnalyticsGuard(
        create_redis("redis://127.0.0.1:9/0", connect_timeout=0.25, command_timeout=0.25)
    )
    try:
        peer = Peer()
        request = analytics_pb2.GetChannelOverviewRequest(channel_id=7)
        answer = await dead.call("GetChannelOverview", request, Overview, peer.sender("Five"))
        assert answer.title == "Five"
        assert await dead.redis_status() == "UNAVAILABLE"
        peer.failing = grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.aio.AioRpcError):
            await dead.call("GetChannelOverview", request, Overview, peer.sender("Five"))
    finally:
        await dead.close()
