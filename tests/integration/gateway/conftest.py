"""Fixtures of the gateway's integration tests: fake peers on port 0 and a started app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from analyticbot.analytics.v1 import analytics_pb2_grpc
from analyticbot.auth.v1 import auth_pb2_grpc
from analyticbot.runtime.grpc_server import build_server
from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.integration.gateway.gateway_fakes import (
    ANALYTICS_SERVICE,
    AUTH_SERVICE,
    BOT_TOKEN,
    USER_ID,
    FakeAnalytics,
    FakeAuth,
    PeerLog,
    Peers,
)


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    log = PeerLog()
    auth = FakeAuth(log)
    analytics = FakeAnalytics(log, auth)
    auth_server = build_server(
        [(lambda s: auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, s), AUTH_SERVICE)],
        host="127.0.0.1",
    )
    analytics_server = build_server(
        [
            (
                lambda s: analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(analytics, s),
                ANALYTICS_SERVICE,
            )
        ],
        host="127.0.0.1",
    )
    await auth_server.start()
    await analytics_server.start()
    yield Peers(auth, analytics, log, auth_server, analytics_server)
    await auth_server.stop(0)
    await analytics_server.stop(0)


@pytest.fixture
def miniapp_dir(tmp_path: Any) -> Any:
    """A built Mini App as Vite lays it out."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><script type="module" src="/assets/index-3f2a1b.js"></script>'
    )
    (tmp_path / "assets" / "index-3f2a1b.js").write_text("console.log('app')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


SettingsFactory = Callable[..., GatewaySettings]


@pytest.fixture
def make_settings(
    peers: Peers, miniapp_dir: Any, database_url: str, redis_url: str
) -> SettingsFactory:
    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "env": "development",
            "database_url": database_url,
            "redis_url": redis_url,
            "auth_addr": f"127.0.0.1:{peers.auth_server.port}",
            "analytics_addr": f"127.0.0.1:{peers.analytics_server.port}",
            "miniapp_dir": miniapp_dir,
            "dev_login": True,
            "dev_bot_token": BOT_TOKEN,
            "dev_user_id": USER_ID,
            "rpc_deadline_seconds": 2.0,
        }
        values.update(overrides)
        return GatewaySettings(**values)

    return make


@pytest.fixture
async def app(make_settings: SettingsFactory) -> AsyncIterator[Quart]:
    """The gateway in development, started (startup hooks run) against the fakes."""
    gateway = create_app(make_settings())
    async with gateway.test_app():
        yield gateway


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()
