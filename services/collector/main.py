"""Composition root of the collector: settings, stores, source, clock, server, scheduler.

``main()`` runs the process until SIGTERM. ``build()`` wires an app from parts so tests
start a real server on port 0 with a manual clock. With ``source=telegram`` the source
is the Telethon adapter over the MTProto accounts this replica leases.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import asyncpg
import redis.asyncio as redis

from analyticbot.collector.v1 import collector_pb2_grpc
from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.dependencies import watch_dependencies
from analyticbot.runtime.grpc_server import GrpcServer, build_server, run_until_signal
from analyticbot.runtime.jwks import JwksKeyRing, grpc_jwks_fetcher
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from analyticbot.runtime.telemetry import configure_tracing, insecure_channel
from services.collector import accounts_repository as accounts
from services.collector import jobs
from services.collector.account_leases import AccountLeases
from services.collector.account_pool import AccountPool
from services.collector.auth import CollectorAuth
from services.collector.clock import Clock, SimClock, SystemClock, utc_now
from services.collector.config import CollectorSettings, load_collector_settings
from services.collector.events import CHANNEL_TOPIC_PREFIX, INGEST_STREAM, EventPublisher
from services.collector.grpc_api import SERVICE_NAME, CollectorServicer
from services.collector.metrics import watch_queue
from services.collector.mtproto import MtprotoClient, connect_telethon, disconnect_telethon
from services.collector.scheduler import Scheduler, default_owner
from services.collector.service import Collector
from services.collector.sessions import SessionBox, telethon_proxy
from services.collector.simulator import (
    SIM_ID_BASE,
    SIM_ID_SPAN,
    SimulatedSource,
    username_of,
)
from services.collector.source import TelegramSource
from services.collector.telethon_source import TelethonSource

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
    auth: CollectorAuth,
    *,
    owner: str | None = None,
) -> CollectorApp:
    """Wire the collector from its parts; the server is bound but not started."""
    events = EventPublisher(
        redis_client,
        stream=settings.redis_name(INGEST_STREAM),
        topic_prefix=settings.redis_name(CHANNEL_TOPIC_PREFIX),
    )
    collector = Collector(source, clock, events)
    servicer = CollectorServicer(pool, collector, auth)
    server = build_server(
        [
            (
                partial(collector_pb2_grpc.add_CollectorServiceServicer_to_server, servicer),
                SERVICE_NAME,
            )
        ],
        port=settings.grpc_port,
    )
    scheduler = Scheduler(pool, collector, owner=owner, concurrency=settings.concurrency)
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


def telegram_source(
    settings: CollectorSettings, pool: asyncpg.Pool, owner: str
) -> tuple[TelethonSource, AccountLeases]:
    """The Telethon adapter over an account pool, and the leases that fill the pool."""
    assert settings.telegram_api_id is not None
    assert settings.telegram_api_hash is not None
    assert settings.session_key is not None
    api_id, api_hash = settings.telegram_api_id, settings.telegram_api_hash.get_secret_value()
    box = SessionBox.from_text(settings.session_key.get_secret_value())

    async def on_rest(account_id: int, until: datetime, reason: str) -> None:
        async with pool.acquire() as conn:
            await accounts.record_rest(conn, account_id, until, reason)

    async def on_broken(account_id: int, reason: str) -> None:
        async with pool.acquire() as conn:
            await accounts.disable_account(conn, account_id, reason)

    async def connect(
        account_id: int, label: str, session: str, proxy: str | None
    ) -> MtprotoClient:
        return await connect_telethon(
            account_id,
            label,
            session,
            api_id=api_id,
            api_hash=api_hash,
            proxy=telethon_proxy(proxy) if proxy else None,
        )

    runner = AccountPool(
        per_account_rate=settings.account_rate,
        global_rate=settings.global_rate,
        default_deadline=settings.call_deadline_seconds,
        on_rest=on_rest,
        on_broken=on_broken,
    )
    leases = AccountLeases(
        pool,
        runner,
        box,
        connect,
        disconnect_telethon,
        owner=owner,
        max_accounts=settings.max_accounts,
        lease_seconds=settings.account_lease_seconds,
    )
    return TelethonSource(runner, accounts.DbPeerStore(pool)), leases


async def main() -> None:
    """Run the collector until SIGTERM."""
    settings = load_collector_settings()
    secrets = [settings.database_url.get_secret_value(), settings.redis_url.get_secret_value()]
    for secret in (settings.telegram_api_hash, settings.session_key):
        if secret is not None:
            secrets.append(secret.get_secret_value())
    configure_logging("collector", settings.log_level, secrets=secrets)
    configure_tracing("collector", settings.otlp_endpoint)
    serve_metrics(settings.metrics_port)
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    redis_client = create_redis(settings.redis_url.get_secret_value())
    auth_channel = insecure_channel(settings.auth_addr)
    keys = JwksKeyRing(grpc_jwks_fetcher(auth_channel))
    auth = CollectorAuth(
        keys, superadmins=settings.superadmins, trusted_services=settings.trusted_services
    )
    owner = default_owner()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(keys.load_until_ready())]
    try:
        source: TelegramSource
        clock: Clock
        if settings.source == "simulator":
            clock, simulator = await simulated_source(settings, pool)
            source = simulator
        else:
            clock = SystemClock()
            source, leases = telegram_source(settings, pool, owner)
            await leases.refresh()
            tasks.append(asyncio.create_task(leases.run_forever(stop)))
        app = await build(settings, pool, redis_client, source, clock, auth, owner=owner)
        if isinstance(source, SimulatedSource):
            tracked = await app.track_simulated(settings.simulator_channels, source)
            log.info("tracking %d simulated channels from %s", len(tracked), clock.now())
        tasks.append(asyncio.create_task(app.scheduler.run_forever(stop)))
        queue_metrics = asyncio.create_task(watch_queue(pool, clock))
        watcher = watch_dependencies(
            app.server, pool, redis_client, keys_loaded=lambda: keys.loaded
        )

        async def on_stop() -> None:
            queue_metrics.cancel()
            watcher.cancel()
            stop.set()
            await asyncio.gather(*tasks[1:])
            tasks[0].cancel()

        await run_until_signal(app.server, on_stop=on_stop)
    finally:
        for task in tasks:
            task.cancel()
        await auth_channel.close()
        await redis_client.aclose()
        await pool.close()


def run() -> None:
    """Console entry: ``python -m services.collector.main``."""
    asyncio.run(main())


if __name__ == "__main__":
    run()
