"""An export link's token is a credential in the URL path: no span may carry it, while
the request it names is still served (the app sees the real path)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.integration.gateway.gateway_fakes import CHANNEL_ID, Peers, start_peers

ROUTE = "/api/v1/exports/<token>"


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    started = await start_peers()
    yield started
    await started.stop()


async def test_no_span_carries_an_export_links_token(
    spans: InMemorySpanExporter, peers: Peers, redis_url: str, tmp_path: Any
) -> None:
    settings = GatewaySettings(
        env="development",
        redis_url=SecretStr(redis_url),
        rate_limit_key_prefix=f"test:url-secrets:{uuid.uuid4().hex}",
        auth_addr=f"127.0.0.1:{peers.auth_server.port}",
        analytics_addr=f"127.0.0.1:{peers.analytics_server.port}",
        miniapp_dir=tmp_path,
    )
    app = create_app(settings)
    token = peers.token()
    async with app.test_app():
        client = app.test_client()
        created = await client.post(
            f"/api/v1/channels/{CHANNEL_ID}/export-links",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        path = urlsplit((await created.get_json())["url"]).path
        downloaded = await client.get(path)
        assert downloaded.status_code == 200
        assert await downloaded.get_data(as_text=False)

    secret = path.rsplit("/", 1)[1].removeprefix("exl_")
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == SpanKind.SERVER and s.name == f"GET {ROUTE}"]
    assert len(server) == 1, [(s.name, s.kind) for s in finished]
    attributes = server[0].attributes or {}
    assert attributes["http.route"] == ROUTE
    assert attributes["http.target"] == "/api/v1/exports/exl_***"
    for span in finished:
        assert secret not in span.name
        for value in (span.attributes or {}).values():
            assert secret not in str(value), span.name
