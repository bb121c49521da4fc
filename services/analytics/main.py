"""Composition root of the analytics service: settings, pool, Redis, key set, event hub,
ingest worker, server; serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import asyncpg
import redis.asyncio as redis

from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.dependencies import watch_dependencies
from analyticbot.runtime.grant_cache import GrantCache, grant_cache
from analyticbot.runtime.grpc_server import GrpcServer, build_server, run_until_signal
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.stream_metrics import watch_streams
from analyticbot.runtime.telemetry import configure_tracing, insecure_channel
from services.analytics.alerts import AlertEngine
from services.analytics.auth import Authorizer, KeyRing, grpc_jwks_fetcher
from services.analytics.cache import ResponseCache
from services.analytics.config import AnalyticsSettings
from services.analytics.events import EventHub, IngestWorker
from services.analytics.grpc_api import SERVICE_NAME, AnalyticsServicer, Clock, register, utc_now

log = logging.getLogger(__name__)


def build(
    pool: asyncpg.Pool,
    authorizer: Authorizer,
    *,
    port: int = 0,
    clock: Clock = utc_now,
    hub: EventHub | None = None,
    cache: ResponseCache | None = None,
    grants: GrantCache | None = None,
) -> GrpcServer:
    """The analytics gRPC server over ``pool``, bound to ``port`` (0 picks a free one),
    not yet started. Serves health and reflection beside AnalyticsService."""
    servicer = AnalyticsServicer(pool, authorizer, hub=hub, cache=cache, grants=grants, clock=clock)
    return build_server([(register(servicer), SERVICE_NAME)], port=port)


def build_worker(
    pool: asyncpg.Pool, client: redis.Redis, settings: AnalyticsSettings, cache: ResponseCache
) -> IngestWorker:
    """The ingest stream consumer of this replica."""
    return IngestWorker(
        client,
        stream=settings.redis_name(settings.ingest_stream),
        group=settings.consumer_group,
        consumer=f"{socket.gethostname()}-{os.getpid()}",
        cache=cache,
        alerts=AlertEngine(pool, client, stream=settings.redis_name(settings.alerts_stream)),
        stall_check_seconds=settings.stall_check_seconds,
    )


CLOSE_SECONDS = 5.0


async def main() -> None:
    """Run the analytics service until SIGTERM or SIGINT, then drain and close."""
    settings = load_settings(AnalyticsSettings)
    configure_logging(
        "analytics",
        settings.log_level,
        secrets=(settings.database_url.get_secret_value(), settings.redis_url.get_secret_value()),
    )
    configure_tracing("analytics", settings.otlp_endpoint)
    metrics_port = serve_metrics(settings.metrics_port)
    log.info("serving /metrics on port %d", metrics_port)
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    client = create_redis(settings.redis_url.get_secret_value())
    auth_channel = insecure_channel(settings.auth_addr)
    keys = KeyRing(grpc_jwks_fetcher(auth_channel))
    authorizer = Authorizer(
        keys, superadmins=settings.superadmins, trusted_services=settings.trusted_services
    )
    cache = ResponseCache(
        client,
        prefix=settings.redis_name(settings.cache_prefix),
        ttl_seconds=settings.cache_ttl_seconds,
        topic=settings.redis_name(settings.answers_topic),
    )
    hub = EventHub(client, topic_prefix=settings.redis_name(settings.channel_topic_prefix))
    grants = grant_cache(
        pool, settings.database_url.get_secret_value(), settings.grant_cache_seconds
    )
    worker = build_worker(pool, client, settings, cache)
    tasks = [
        asyncio.create_task(keys.load_until_ready()),
        asyncio.create_task(hub.run()),
        asyncio.create_task(worker.run()),
        asyncio.create_task(worker.announce()),
        asyncio.create_task(
            watch_streams(
                client,
                (
                    settings.redis_name(settings.ingest_stream),
                    settings.redis_name(settings.alerts_stream),
                ),
            )
        ),
    ]
    if grants.listens:
        tasks.append(asyncio.create_task(grants.run()))
    try:
        server = build(
            pool, authorizer, port=settings.grpc_port, hub=hub, cache=cache, grants=grants
        )
        tasks.append(watch_dependencies(server, pool, client, keys_loaded=lambda: keys.loaded))
        await run_until_signal(server, grace=settings.shutdown_grace_seconds)
    finally:
        # Bounded: a process that drained its RPCs must exit. A full test run saw it
        # idle here for over 30 s after "stopped" (tests/integration/test_serve_processes).
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
        await auth_channel.close()
        await client.aclose()
        try:
            await asyncio.wait_for(pool.close(), CLOSE_SECONDS)
        except TimeoutError:
            log.warning("database pool not closed in %.0f s; terminating it", CLOSE_SECONDS)
            pool.terminate()


if __name__ == "__main__":
    asyncio.run(main())
