"""The live WebSocket: auth by first message, updates bridged from WatchChannel,
heartbeats, close codes; against the fake peers at the gRPC seam."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client

from analyticbot.analytics.v1 import analytics_pb2
from gateway.app import create_app
from gateway.metrics import WEBSOCKET_CLIENTS
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    CHANNEL_ID,
    GRANTS,
    OTHER_USER_ID,
    USER_ID,
    Peers,
)

LIVE = f"/api/v1/channels/{CHANNEL_ID}/live"


async def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive(), 5))
    return message


async def closed_with(ws: Any) -> int:
    """The close code, once the server closes (messages before it are skipped)."""
    for _ in range(50):
        try:
            await asyncio.wait_for(ws.receive(), 5)
        except WebsocketDisconnectError as closed:
            code: int = closed.args[0]
            return code
    raise AssertionError("the socket was never closed")


async def test_live_sends_ready_initial_then_an_update(client: Client, peers: Peers) -> None:
    before = WEBSOCKET_CLIENTS._value.get()
    async with client.websocket(LIVE) as ws:
        await ws.send(json.dumps({"type": "auth", "token": peers.token()}))
        ready = await receive(ws)
        assert ready["type"] == "ready"
        assert ready["channel_id"] == CHANNEL_ID
        initial = await receive(ws)
        assert (initial["type"], initial["kind"], initial["event_at"]) == (
            "overview",
            "initial",
            None,
        )
        assert initial["overview"]["current"]["posts"] == 14
        assert WEBSOCKET_CLIENTS._value.get() == before + 1
        [watcher] = peers.analytics.watchers
        watcher.put_nowait(analytics_pb2.INGEST_KIND_REFRESH)
        update = await receive(ws)
        assert update["kind"] == "refresh"
        assert update["event_at"] == "2025-03-08T00:00:00Z"
        assert update["overview"]["current"]["posts"] == 15
        assert update["overview"]["current"]["err"]["value"] == 73.86
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
    for _ in range(100):  # the upstream stream is cancelled with the socket
        if not peers.analytics.watchers and WEBSOCKET_CLIENTS._value.get() == before:
            break
        await asyncio.sleep(0.02)
    assert peers.analytics.watchers == []
    assert WEBSOCKET_CLIENTS._value.get() == before


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ({"type": "auth", "token": "not.a.token"}, 4401),
        ({"type": "auth"}, 4401),
        ({"type": "ping"}, 4400),
        ("garbage", 4400),
    ],
)
async def test_unauthorized_socket_is_refused(client: Client, first: Any, code: int) -> None:
    async with client.websocket(LIVE) as ws:
        await ws.send(first if isinstance(first, str) else json.dumps(first))
        assert await closed_with(ws) == code


async def test_no_access_closes_4404_and_never_watches(client: Client, peers: Peers) -> None:
    async with client.websocket(LIVE) as ws:
        await ws.send(json.dumps({"type": "auth", "token": peers.token(OTHER_USER_ID)}))
        assert await closed_with(ws) == 4404
    assert "WatchChannel" not in peers.log.tokens


async def _app(make_settings: SettingsFactory, **overrides: Any) -> Quart:
    return create_app(make_settings(**overrides))


async def test_silent_socket_closes_4401_after_the_auth_timeout(
    make_settings: SettingsFactory,
) -> None:
    app = await _app(make_settings, websocket_auth_timeout_seconds=0.2)
    async with app.test_app(), app.test_client().websocket(LIVE) as ws:
        assert await closed_with(ws) == 4401


async def test_heartbeat_then_4404_when_access_is_lost(
    make_settings: SettingsFactory, peers: Peers, monkeypatch: Any
) -> None:
    app = await _app(
        make_settings, websocket_heartbeat_seconds=0.1, websocket_access_recheck_seconds=0.1
    )
    async with app.test_app(), app.test_client().websocket(LIVE) as ws:
        await ws.send(json.dumps({"type": "auth", "token": peers.token()}))
        assert (await receive(ws))["type"] == "ready"
        assert (await receive(ws))["kind"] == "initial"
        assert (await receive(ws))["type"] == "heartbeat"
        monkeypatch.setitem(GRANTS, USER_ID, {})
        assert await closed_with(ws) == 4404


async def test_expired_token_closes_4401_unless_renewed(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = await _app(make_settings, websocket_heartbeat_seconds=0.2)
    async with app.test_app(), app.test_client().websocket(LIVE) as ws:
        await ws.send(json.dumps({"type": "auth", "token": peers.token(ttl_seconds=2)}))
        first = await receive(ws)
        await ws.send(json.dumps({"type": "auth", "token": peers.token(ttl_seconds=900)}))
        while (renewed := await receive(ws))["type"] != "ready":
            pass
        assert renewed["expires_at"] > first["expires_at"]
    async with app.test_app(), app.test_client().websocket(LIVE) as ws:
        await ws.send(json.dumps({"type": "auth", "token": peers.token(ttl_seconds=1)}))
        assert await closed_with(ws) == 4401


async def test_csp_allows_same_origin_websockets(make_settings: SettingsFactory) -> None:
    app = await _app(make_settings, public_url="https://analytics.example.com")
    async with app.test_app():
        response = await app.test_client().get("/healthz")
    policy = response.headers["Content-Security-Policy"]
    assert "connect-src 'self' wss://analytics.example.com" in policy
