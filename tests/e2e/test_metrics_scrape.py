"""Every process of a running stack exposes the series operators watch.

``analyticbot run`` writes where each process listens to ``<data dir>/ports.json``; the
gateway serves ``/metrics`` on its HTTP port, each gRPC service on its metrics port.
A few user requests first, so request and RPC counters have samples to show.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Stack

CHANNEL = 9_000_000_000
SCRAPE_TIMEOUT = 60.0

# Families declared by a process whether or not anything happened yet (a FloodWait
# needs Telegram): the HELP/TYPE lines are there, samples come with the first event.
DECLARED = {
    "gateway": {
        "http_requests",
        "http_request_duration_seconds",
        "gateway_websocket_clients",
        "gateway_rate_limited",
    },
    "auth": {"grpc_server_handled", "grpc_server_handling_seconds"},
    "analytics": {
        "grpc_server_handled",
        "grpc_server_handling_seconds",
        "redis_stream_length",
        "redis_stream_group_pending",
        "redis_stream_group_lag_seconds",
    },
    "collector": {
        "grpc_server_handled",
        "grpc_server_handling_seconds",
        "collector_flood_wait_seconds",
        "collector_flood_waits",
        "collector_mtproto_requests",
        "collector_due_channels",
        "collector_ingestion_lag_seconds",
        "collector_subscribers_sample_age_seconds",
        "collector_failing_channels",
        "collector_tracked_channels",
    },
}
# Sample names that must carry a value once the requests below have been made.
SAMPLED: dict[str, list[tuple[str, dict[str, str]]]] = {
    "gateway": [
        (
            "http_requests_total",
            {"route": "/api/v1/channels/<channel_id>/overview", "method": "GET", "status": "200"},
        ),
        ("http_request_duration_seconds_bucket", {"route": "/api/v1/channels"}),
        ("gateway_websocket_clients", {}),
    ],
    "auth": [
        ("grpc_server_handled_total", {"grpc_method": "ExchangeInitData", "grpc_code": "OK"}),
        ("grpc_server_handling_seconds_bucket", {"grpc_method": "CheckAccess"}),
    ],
    "analytics": [
        ("grpc_server_handled_total", {"grpc_method": "GetChannelOverview", "grpc_code": "OK"}),
        ("grpc_server_handling_seconds_bucket", {"grpc_method": "GetChannelOverview"}),
        ("redis_stream_length", {"stream": "ab:events:ingest"}),
        ("redis_stream_group_pending", {"stream": "ab:events:ingest"}),
        ("redis_stream_group_lag_seconds", {"stream": "ab:events:ingest"}),
    ],
    "collector": [
        ("collector_due_channels", {}),
        ("collector_ingestion_lag_seconds", {}),
        ("collector_tracked_channels", {"state": "active"}),
    ],
}


def _metrics_urls(stack: Stack) -> dict[str, str]:
    ports = json.loads((stack.data_dir / "ports.json").read_text())
    urls = {"gateway": f"{stack.url}/metrics"}
    for service, port in ports["metrics"].items():
        urls[service] = f"http://127.0.0.1:{port}/metrics"
    return urls


def _scrape(url: str) -> tuple[set[str], list[tuple[str, dict[str, str]]]]:
    text = httpx.get(url, timeout=5).raise_for_status().text
    families = list(text_string_to_metric_families(text))
    samples = [(s.name, dict(s.labels)) for f in families for s in f.samples]
    return {f.name for f in families}, samples


def _has(samples: Iterable[tuple[str, dict[str, str]]], name: str, labels: dict[str, str]) -> bool:
    return any(n == name and labels.items() <= got.items() for n, got in samples)


def _in_namespace(stack: Stack, labels: dict[str, str]) -> dict[str, str]:
    """The labels with a stream's documented name as this stack's Redis names it."""
    return {k: stack.redis_name(v) if k == "stream" else v for k, v in labels.items()}


def _use_the_app(stack: Stack) -> None:
    """What a Mini App launch does: sign in, list channels, open one channel (once the
    development user has been granted the simulated channels)."""
    token = stack.login()
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    with stack.api() as client:
        client.get("/api/v1/channels", headers=headers).raise_for_status()
        while (
            reply := client.get(f"/api/v1/channels/{CHANNEL}/overview", headers=headers)
        ).status_code == 404 and time.monotonic() < deadline:
            time.sleep(1)
        reply.raise_for_status()


def _eventually(check: Callable[[], list[str]]) -> None:
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    while missing := check():
        assert time.monotonic() < deadline, f"still missing after {SCRAPE_TIMEOUT}s: {missing}"
        time.sleep(1)


def test_every_process_exposes_the_named_series(stack: Stack) -> None:
    urls = _metrics_urls(stack)
    assert set(urls) == set(DECLARED), urls
    _use_the_app(stack)

    def missing() -> list[str]:
        problems = []
        for service, url in urls.items():
            families, samples = _scrape(url)
            problems += [f"{service}: no {name}" for name in DECLARED[service] - families]
            problems += [
                f"{service}: no sample {name}{labels}"
                for name, labels in SAMPLED[service]
                if not _has(samples, name, _in_namespace(stack, labels))
            ]
        return problems

    # The collector samples its queue and analytics its streams every few seconds.
    _eventually(missing)
