"""Composition root of the analytics service: settings, pool, server; serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from analyticbot.runtime.db import create_pool
from analyticbot.runtime.grpc_server import GrpcServer, build_server, run_until_signal
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from analyticbot.runtime.settings import load_settings
from services.analytics.config import AnalyticsSettings
from services.analytics.grpc_api import SERVICE_NAME, AnalyticsServicer, Clock, register, utc_now

log = logging.getLogger(__name__)


def build(pool: asyncpg.Pool, *, port: int = 0, clock: Clock = utc_now) -> GrpcServer:
    """The analytics gRPC server over ``pool``, bound to ``port`` (0 picks a free one),
    not yet started. Serves health and reflection beside AnalyticsService."""
    servicer = AnalyticsServicer(pool, clock=clock)
    return build_server([(register(servicer), SERVICE_NAME)], port=port)


async def main() -> None:
    """Run the analytics service until SIGTERM or SIGINT, then drain and close the pool."""
    settings = load_settings(AnalyticsSettings)
    configure_logging(
        "analytics",
        settings.log_level,
        secrets=(settings.database_url.get_secret_value(), settings.redis_url.get_secret_value()),
    )
    metrics_port = serve_metrics(settings.metrics_port)
    log.info("serving /metrics on port %d", metrics_port)
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    try:
        server = build(pool, port=settings.grpc_port)
        await run_until_signal(server, grace=settings.shutdown_grace_seconds)
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
