"""The live sockets of one channel share one analytics WatchChannel (gateway.live_fanout):
one call for every socket, the latest overview for a late socket, slow sockets skipping
to the newest, the call following a present socket's token, and failures closing the
channel's sockets; against the fake peers in real grpc.aio servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import timedelta
from typing import Any, cast

import grpc
import pytest
from quart import Quart
from quart.testing import connections
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client

from analyticbot.analytics.v1 import analytics_pb2
from gateway.api.live import FEEDS
from gateway.app import create_app
from gateway.live_fanout import LiveFeeds
from tests.integration.gateway import gateway_fakes
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    ANALYST_USER_ID,
    CHANNEL_ID,
    GRANTS,
    PERIOD_END,
    VIEWER_USER_ID,
    FakeAnalytics,
    Peers,
    start_peers,
)

LIVE = f"/api/v1/channels/{CHANNEL_ID}/live"
REFRESH = analytics_pb2.INGEST_KIND_REFRESH
SUBSCRIBERS = analytics_pb2.INGEST_KIND_SUBSCRIBERS
BACKFILL = analytics_pb2.INGEST_KIND_BACKFILL


class FailingAnalytics(FakeAnalytics):
    """The fake analytics, whose WatchChannel also holds its first message until
    ``opening`` is set, fails with ``fail_with`` instead of its next message, and stamps
    its overviews with ``data_as_of``."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.opening = asyncio.Event()
        self.opening.set()
        self.fail_with: grpc.StatusCode | None = None
        self.data_as_of = PERIOD_END - timedelta(minutes=5)

    async def WatchChannel(self, request: Any, context: Any) -> AsyncIterator[Any]:
        upstream = cast(AsyncGenerator[Any, None], super().WatchChannel(request, context))
        async with contextlib.aclosing(upstream) as stream:
            async for message in stream:
                await self.opening.wait()
                if self.fail_with is not None:
                    await context.abort(self.fail_with, "failed on purpose")
                message.overview.data_as_of.FromDatetime(self.data_as_of)
                yield message


@pytest.fixture
async def peers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Peers]:
    monkeypatch.setattr(gateway_fakes, "FakeAnalytics", FailingAnalytics)
    started = await start_peers()
    yield started
    await started.stop()


def fake(peers: Peers) -> FailingAnalytics:
    assert isinstance(peers.analytics, FailingAnalytics)
    return peers.analytics


def watch_calls(peers: Peers) -> list[str]:
    """The token of every WatchChannel call analytics got, in order."""
    return peers.log.tokens.get("WatchChannel", [])


def push(peers: Peers, kind: int) -> None:
    """One ingest event on the channel, to the one open WatchChannel stream."""
    [stream] = peers.analytics.watchers
    stream.put_nowait(kind)


async def eventually(check: Callable[[], bool], what: str) -> None:
    for _ in range(250):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive(), 5))
    return message


async def overview(ws: Any) -> dict[str, Any]:
    """The next overview message (heartbeats skipped)."""
    while (message := await receive(ws))["type"] != "overview":
        assert message["type"] == "heartbeat"
    return message


async def closed_with(ws: Any) -> int:
    for _ in range(50):
        try:
            await asyncio.wait_for(ws.receive(), 5)
        except WebsocketDisconnectError as closed:
            code: int = closed.args[0]
            return code
    raise AssertionError("the socket was never closed")


class Sockets:
    """The live sockets of a test; those still open are closed at its end."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.open: list[Any] = []

    async def connect(self, token: str, client: Client | None = None) -> Any:
        """A socket past ``ready`` (its first overview not read yet)."""
        ws = (client or self.client).websocket(LIVE)
        await ws.__aenter__()
        self.open.append(ws)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert (await receive(ws))["type"] == "ready"
        return ws

    async def close(self, ws: Any) -> None:
        self.open.remove(ws)
        await ws.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def live_sockets(client: Client) -> AsyncIterator[Sockets]:
    sockets = Sockets(client)
    try:
        yield sockets
    finally:
        for ws in list(sockets.open):
            await sockets.close(ws)


def feeds(app: Quart) -> LiveFeeds:
    registry = app.extensions[FEEDS]
    assert isinstance(registry, LiveFeeds)
    return registry


async def test_sockets_on_one_channel_share_one_watch_call(
    app: Quart, client: Client, peers: Peers
) -> None:
    tokens = [
        peers.token(),
        peers.token(),
        peers.token(VIEWER_USER_ID),
        peers.token(ANALYST_USER_ID),
        peers.share_token(),
    ]
    async with live_sockets(client) as sockets:
        sockets_ = [await sockets.connect(token) for token in tokens]
        for ws in sockets_:
            initial = await overview(ws)
            assert (initial["kind"], initial["event_at"]) == ("initial", None)
            assert initial["overview"]["current"]["posts"] == 14
        for kind, name in ((REFRESH, "refresh"), (SUBSCRIBERS, "subscribers")):
            push(peers, kind)
            for ws in sockets_:
                update = await overview(ws)
                assert (update["kind"], update["event_at"]) == (name, "2025-03-08T00:00:00Z")
                assert update["overview"]["current"]["posts"] == 15
        assert watch_calls(peers) == tokens[:1]
        assert len(peers.analytics.watchers) == 1
        assert len(feeds(app)) == 1


async def test_a_late_socket_gets_the_latest_overview_at_once(client: Client, peers: Peers) -> None:
    async with live_sockets(client) as sockets:
        first = await sockets.connect(peers.token())
        assert (await overview(first))["kind"] == "initial"
        push(peers, REFRESH)
        assert (await overview(first))["overview"]["current"]["posts"] == 15

        late = await sockets.connect(peers.token(VIEWER_USER_ID))
        initial = await overview(late)
        # The overview of the last event, as this socket's initial one.
        assert (initial["kind"], initial["event_at"]) == ("initial", None)
        assert initial["overview"]["current"]["posts"] == 15
        assert len(watch_calls(peers)) == 1

        push(peers, SUBSCRIBERS)
        for ws in (first, late):
            assert (await overview(ws))["kind"] == "subscribers"


class StalledConnection(connections.TestWebsocketConnection):
    """A client that stops reading: while ``reading`` is clear, the server's next send
    waits, as on a socket whose buffers are full."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reading = asyncio.Event()
        self.reading.set()

    async def _asgi_send(self, message: Any) -> None:
        if message["type"] == "websocket.send":
            await self.reading.wait()
        await super()._asgi_send(message)


async def test_a_slow_socket_skips_to_the_newest_and_holds_up_no_one(
    app: Quart, client: Client, peers: Peers
) -> None:
    stalled_client = app.test_client()
    stalled_client.websocket_connection_class = StalledConnection
    async with live_sockets(client) as sockets:
        fast = await sockets.connect(peers.token())
        slow = await sockets.connect(peers.token(), stalled_client)
        for ws in (fast, slow):
            assert (await overview(ws))["kind"] == "initial"
        slow.reading.clear()
        for kind, name in (
            (REFRESH, "refresh"),
            (SUBSCRIBERS, "subscribers"),
            (BACKFILL, "backfill"),
        ):
            push(peers, kind)
            assert (await overview(fast))["kind"] == name
        slow.reading.set()
        # The update it was sending when it stalled, then only the newest.
        assert (await overview(slow))["kind"] == "refresh"
        assert (await overview(slow))["kind"] == "backfill"
        await slow.send(json.dumps({"type": "ping"}))
        assert await receive(slow) == {"type": "pong"}


async def test_the_last_socket_leaving_cancels_the_watch_call(
    app: Quart, client: Client, peers: Peers
) -> None:
    async with live_sockets(client) as sockets:
        first = await sockets.connect(peers.token())
        second = await sockets.connect(peers.token(VIEWER_USER_ID))
        for ws in (first, second):
            await overview(ws)
        await sockets.close(second)
        await asyncio.sleep(0.1)
        assert len(peers.analytics.watchers) == 1
        push(peers, REFRESH)
        assert (await overview(first))["kind"] == "refresh"

        await sockets.close(first)
        await eventually(lambda: not peers.analytics.watchers, "the call is cancelled")
        assert len(feeds(app)) == 0

        again = await sockets.connect(peers.token())
        assert (await overview(again))["kind"] == "initial"
        assert len(watch_calls(peers)) == 2


async def _app(make_settings: SettingsFactory, **overrides: Any) -> Quart:
    return create_app(make_settings(**overrides))


async def test_losing_access_closes_only_that_socket_and_the_call_moves_to_a_present_token(
    make_settings: SettingsFactory, peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await _app(
        make_settings, websocket_heartbeat_seconds=0.1, websocket_access_recheck_seconds=0.1
    )
    viewer, owner = peers.token(VIEWER_USER_ID), peers.token()
    async with app.test_app(), live_sockets(app.test_client()) as sockets:
        leaving = await sockets.connect(viewer)
        staying = await sockets.connect(owner)
        for ws in (leaving, staying):
            assert (await overview(ws))["kind"] == "initial"
        assert watch_calls(peers) == [viewer]

        monkeypatch.setitem(GRANTS, VIEWER_USER_ID, {})
        assert await closed_with(leaving) == 4404
        await eventually(lambda: watch_calls(peers) == [viewer, owner], "reopened as the owner")
        await eventually(lambda: len(peers.analytics.watchers) == 1, "the old call cancelled")
        push(peers, REFRESH)
        # Nothing was committed meanwhile, so the switch itself sent nothing.
        assert (await overview(staying))["kind"] == "refresh"


async def test_a_token_analytics_refuses_closes_that_socket_alone(
    client: Client, peers: Peers
) -> None:
    owner, viewer, analyst = (
        peers.token(),
        peers.token(VIEWER_USER_ID),
        peers.token(ANALYST_USER_ID),
    )
    async with live_sockets(client) as sockets:
        first = await sockets.connect(owner)
        refused = await sockets.connect(viewer)
        last = await sockets.connect(analyst)
        for ws in (first, refused, last):
            await overview(ws)
        peers.analytics.denied_subjects.add(str(VIEWER_USER_ID))
        await sockets.close(first)
        assert await closed_with(refused) == 4403
        await eventually(lambda: watch_calls(peers) == [owner, viewer, analyst], "third token")
        await eventually(lambda: len(peers.analytics.watchers) == 1, "the old call cancelled")
        push(peers, REFRESH)
        assert (await overview(last))["kind"] == "refresh"


async def test_a_change_committed_while_the_call_moves_still_reaches_the_sockets(
    client: Client, peers: Peers
) -> None:
    async with live_sockets(client) as sockets:
        first = await sockets.connect(peers.token())
        staying = await sockets.connect(peers.token(VIEWER_USER_ID))
        for ws in (first, staying):
            await overview(ws)
        # Data the old call never announced; the new call's initial overview has it.
        fake(peers).data_as_of = PERIOD_END
        await sockets.close(first)
        update = await overview(staying)
        assert (update["kind"], update["event_at"]) == ("unknown", None)
        assert update["overview"]["data_as_of"] == "2025-03-08T00:00:00Z"


@pytest.mark.parametrize(
    ("code", "close"),
    [(grpc.StatusCode.UNAVAILABLE, 1013), (grpc.StatusCode.INTERNAL, 1011)],
)
async def test_a_failed_watch_call_closes_every_socket_of_the_channel(
    app: Quart, client: Client, peers: Peers, code: grpc.StatusCode, close: int
) -> None:
    async with live_sockets(client) as sockets:
        watching = [
            await sockets.connect(token) for token in (peers.token(), peers.token(VIEWER_USER_ID))
        ]
        for ws in watching:
            await overview(ws)
        fake(peers).fail_with = code
        push(peers, REFRESH)
        for ws in watching:
            assert await closed_with(ws) == close
        assert len(feeds(app)) == 0

        fake(peers).fail_with = None
        again = await sockets.connect(peers.token())
        assert (await overview(again))["kind"] == "initial"
        assert len(watch_calls(peers)) == 2


async def test_sockets_before_the_first_overview_wait_for_the_calls_initial(
    client: Client, peers: Peers
) -> None:
    fake(peers).opening.clear()
    async with live_sockets(client) as sockets:
        watching = [await sockets.connect(peers.token()) for _ in range(3)]
        await eventually(lambda: len(peers.analytics.watchers) == 1, "the call is open")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(watching[0].receive(), 0.2)
        fake(peers).opening.set()
        for ws in watching:
            initial = await overview(ws)
            assert (initial["kind"], initial["overview"]["current"]["posts"]) == ("initial", 14)
        assert len(watch_calls(peers)) == 1
