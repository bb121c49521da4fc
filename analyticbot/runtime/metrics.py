"""Prometheus metrics: one registry per process, served on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
GRPC_LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle an RPC on the server, by method.",
    ["grpc_service", "grpc_method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

GRANT_CACHE_LISTENING = Gauge(
    "grant_cache_listening",
    "1 while this process hears PostgreSQL's announcements of grant changes and serves "
    "roles from memory, 0 while it reads every role from the database.",
)
GRANT_CACHE_READS = Counter(
    "grant_cache_reads_total",
    "Roles looked up for an access decision, by source (memory or database).",
    ["source"],
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> int:  # noqa: S104 - scraped in-cluster
    """Serve /metrics from a background thread; returns the bound port (0 picks one)."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)
