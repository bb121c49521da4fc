"""HTTP request metrics by route template and status, served on ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from quart import Quart, Response, g, request

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests completed by the gateway, by route, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter(
    "gateway_rate_limited_total",
    "Requests refused with 429, by limit scope (ip, user, auth).",
    ["scope"],
)
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "gateway_rate_limit_storage_errors_total",
    "Rate limit checks that Redis could not answer (reads passed, logins refused).",
)
ACCESS_DECISIONS = Counter(
    "gateway_access_decisions_total",
    "Channel access decisions for users, by source: remembered (an answer of auth's that "
    "no announced grant change has voided) or auth (asked now).",
    ["source"],
)
ANALYTICS_READS = Counter(
    "gateway_analytics_reads_total",
    "Dashboard reads of closed periods by source: memo (analytics' cached answer, kept "
    "until analytics announced it dropped it) or analytics (asked now).",
    ["source"],
)
WEBSOCKET_CLIENTS = Gauge(
    "gateway_websocket_clients",
    "WebSocket clients connected to this gateway process (live channel updates).",
)
UNMATCHED = "<unmatched>"


def route_template() -> str:
    # The rule template ("/api/v1/channels/<channel_id>/overview"), never the raw path, so
    # scanners cannot blow up the label set.
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


async def _start_timer() -> None:
    g.request_started = time.perf_counter()


async def _observe(response: Response) -> Response:
    started = g.get("request_started")
    route, method = route_template(), request.method
    HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
    if started is not None:
        HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
    return response


def install_metrics(app: Quart) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)
