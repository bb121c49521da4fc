"""Composition root of the collector: settings, stores, source, clock, server, scheduler.

``main()`` runs the process until SIGTERM. ``build()`` wires an app from parts so tests
start a real server on port 0 with a manual clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import asyncpg
import redis.asyncio as redis

from analyticbot.collector.v1 import collector_pb2_grpc
from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.grpc_server import GrpcServer, build_server, run_until_signal
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from services.collector import jobs
from services.collector.clock import Clock, SimClock, SystemClock, utc_now
from services.collector.config import CollectorSettings, load_collector_settings
from services.collector.events import EventPublisher
from services.collector.grpc_api import SERVICE_NAME, CollectorServicer
from services.collector.scheduler import Scheduler
from services.collector.service import Collector
from services.collector.simulator import (
    SIM_ID_BASE,
    SIM_ID_SPAN,
    SimulatedSource,
    username_of,
)
from services.collector.source import TelegramSource

log = logging.getLogger(__name__)


@dataclass
class CollectorApp:
    """A wired collector: the gRPC server, the use cases and the worker loop."""

    server: GrpcServer
    collector: Collector
    scheduler: Scheduler
    pool: asyncpg.Pool

    async def track_simulated(self, count: int, source: SimulatedSource) -> list[int]:
        """Track simulated channels 0..count-1 (idempotent); returns their ids."""
        ids = []
        async with self.pool.acquire() as conn:
            for number in range(count):
                row, _ = await self.collector.track_channel(
                    conn, f"@{username_of(number)}", source.profile(number).time_zone
                )
                ids.append(row.channel_id)
        return ids


async def build(
    settings: CollectorSettings,
    pool: asyncpg.Pool,
    redis_client: redis.Redis,
    source: TelegramSource,
    clock: Clock,
) -> CollectorApp:
    """Wire the collector from its parts; the server is bound but not started."""
    collector = Collector(source, clock, EventPublisher(redis_client))
    servicer = CollectorServicer(pool, collector)
    server = build_server(
        [
            (
                partial(collector_pb2_grpc.add_CollectorServiceServicer_to_server, servicer),
                SERVICE_NAME,
            )
        ],
        port=settings.grpc_port,
    )
    scheduler = Scheduler(pool, collector, concurrency=settings.concurrency)
    return CollectorApp(server=server, collector=collector, scheduler=scheduler, pool=pool)


async def simulated_source(
    settings: CollectorSettings, pool: asyncpg.Pool
) -> tuple[SimClock | SystemClock, SimulatedSource]:
    """The simulator and its clock.

    Simulated time starts ``simulator_history_days`` in the past (or where a previous
    run stopped, so a restart never goes back in time) and runs ``simulator_speed``
    times faster until it meets the wall clock; the backfill sees as many days again
    before that start.
    """
    wall = utc_now()
    history = timedelta(days=settings.simulator_history_days)
    start = wall - history
    async with pool.acquire() as conn:
        resume = await jobs.simulated_resume_point(conn, SIM_ID_BASE, SIM_ID_BASE + SIM_ID_SPAN)
    if resume is not None and resume > start:
        start = min(resume, wall)
    clock: SimClock | SystemClock
    if settings.simulator_speed > 1 and start < wall:
        clock = SimClock(start, settings.simulator_speed)
    else:
        clock = SystemClock()
    source = SimulatedSource(settings.simulator_seed, clock, start - history)
    return clock, source


async def main() -> None:
    """Run the collector until SIGTERM."""
    settings = load_collector_settings()
    secrets = (settings.database_url.get_secret_value(), settings.redis_url.get_secret_value())
    configure_logging("collector", settings.log_level, secrets=secrets)
    if settings.source != "simulator":
        raise ConfigError(
            "ANALYTICBOT_COLLECTOR_SOURCE=telegram needs the Telethon adapter, "
            "which this build does not include yet"
        )
    serve_metrics(settings.metrics_port)
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    redis_client = create_redis(settings.redis_url.get_secret_value())
    try:
        clock, source = await simulated_source(settings, pool)
        app = await build(settings, pool, redis_client, source, clock)
        tracked = await app.track_simulated(settings.simulator_channels, source)
        log.info("tracking %d simulated channels from %s", len(tracked), clock.now().isoformat())
        stop = asyncio.Event()
        worker = asyncio.create_task(app.scheduler.run_forever(stop))

        async def on_stop() -> None:
            stop.set()
            await worker

        await run_until_signal(app.server, on_stop=on_stop)
    finally:
        await redis_client.aclose()
        await pool.close()


def run() -> None:
    """Console entry: ``python -m services.collector.main``."""
    asyncio.run(main())


if __name__ == "__main__":
    run()
