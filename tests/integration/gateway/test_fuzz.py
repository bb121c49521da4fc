"""Fuzzing the gateway from its own OpenAPI document (schemathesis), in process.

Schemathesis drives the ASGI app from its own event loop thread, so the fake peers run
in a loop of their own on another thread; the gateway reaches them over real gRPC. Each
operation gets a bounded, derandomized set of examples, once with a valid token and
once without one; without a token every protected operation stops at its 401, so that
run takes fewer examples (the whole module stays near 30 seconds). Checks: no 5xx, and
status codes, content types, headers and bodies as the document declares them.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from quart import Quart
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.integration.gateway.gateway_fakes import BOT_TOKEN, USER_ID, Peers, start_peers

MAX_EXAMPLES = 30
MAX_EXAMPLES_WITHOUT_TOKEN = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
FUZZ_SETTINGS_WITHOUT_TOKEN = settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES_WITHOUT_TOKEN)


class PeerThread:
    """The fake peers served from an event loop on a thread of their own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.peers: Peers = self.run(start_peers())

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self) -> None:
        self.run(self.peers.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def peer_thread() -> Iterator[PeerThread]:
    peers = PeerThread()
    yield peers
    peers.close()


@pytest.fixture(scope="module")
def fuzz_app(peer_thread: PeerThread, redis_url: str, tmp_path_factory: Any) -> Iterator[Quart]:
    """The development gateway (dev login on) with limits no fuzz run reaches."""
    peers = peer_thread.peers
    app = create_app(
        GatewaySettings(
            env="development",
            redis_url=SecretStr(redis_url),
            rate_limit_key_prefix=f"test:fuzz:{uuid.uuid4().hex}",
            rate_limit_per_ip="100000/minute",
            rate_limit_per_user="100000/minute",
            rate_limit_auth_per_ip="100000/minute",
            rate_limit_per_share_link="100000/minute",
            rate_limit_share_exchange_per_ip="100000/minute",
            rate_limit_share_exchange_per_link="100000/minute",
            auth_addr=f"127.0.0.1:{peers.auth_server.port}",
            analytics_addr=f"127.0.0.1:{peers.analytics_server.port}",
            miniapp_dir=tmp_path_factory.mktemp("miniapp"),
            dev_login=True,
            dev_bot_token=SecretStr(BOT_TOKEN),
            dev_user_id=USER_ID,
        )
    )
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def gateway_schema(fuzz_app: Quart) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    # Ready (peers serving, key set loaded) before the first example.
    with asgi.get_client(cast(Any, fuzz_app)) as client:
        deadline = time.monotonic() + 10
        while client.get("/readyz").json()["status"] != "ok":
            assert time.monotonic() < deadline, "the gateway never became ready"
            time.sleep(0.05)
    return schema


@pytest.fixture(scope="module")
def token(peer_thread: PeerThread) -> str:
    return peer_thread.peers.token()


schema = schemathesis.pytest.from_fixture("gateway_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_a_valid_token(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS_WITHOUT_TOKEN
def test_fuzz_without_a_token(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
