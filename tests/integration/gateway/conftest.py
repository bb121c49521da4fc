"""Fixtures of the gateway's integration tests: fake peers on port 0 and a started app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.integration.gateway.gateway_fakes import BOT_TOKEN, USER_ID, Peers, start_peers


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    started = await start_peers()
    yield started
    await started.stop()


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
def make_settings(peers: Peers, miniapp_dir: Any, redis_url: str) -> SettingsFactory:
    """Settings against the fakes; each test counts its rate limits under its own Redis
    key prefix, so concurrent runs sharing the Redis never meet."""
    prefix = f"test:gateway:{uuid.uuid4().hex}"

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "env": "development",
            "redis_url": redis_url,
            "rate_limit_key_prefix": prefix,
            "stale_key_prefix": f"{prefix}:stale",
            # Nothing relays grant changes here unless a test does (test_access_cache).
            "grants_topic": f"{prefix}:grants",
            # Nor announces dropped answers unless a test does (test_answer_memo).
            "answers_topic": f"{prefix}:answers",
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
