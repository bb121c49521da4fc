"""A collector worker process for the crash tests: the real scheduler, ingestion and
leases over a simulated source whose clock stands still, so every run stores exactly
the same rows.

    python -m tests.integration.collector.crash_worker DB REDIS OWNER LEASE SEED N [N...]

Tracks simulated channels ``N`` and works until each has finished its backfill.
Prints ``ready`` once tracking is stored. Each ``run_channel`` is recorded in Redis
(``<OWNER prefix>``) so a test can see two processes never ran a channel at once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime

import redis.asyncio as redis

from analyticbot.runtime.db import create_pool
from services.collector.clock import ManualClock
from services.collector.events import EventPublisher
from services.collector.repository import Conn
from services.collector.scheduler import Scheduler
from services.collector.service import Collector
from services.collector.simulator import SimulatedSource, username_of
from tests.integration.collector.conftest import HISTORY, START

CRASH_HISTORY = HISTORY * 6


class ProbedCollector(Collector):
    """Records in Redis who runs which channel, and whether two runs overlapped."""

    def __init__(self, probe: redis.Redis, prefix: str, owner: str, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self._probe = probe
        self._prefix = prefix
        self._owner = owner

    async def run_channel(self, conn: Conn, channel_id: int) -> datetime:
        active = f"{self._prefix}:active:{channel_id}"
        if await self._probe.incr(active) > 1:
            await self._probe.incr(f"{self._prefix}:overlaps")
        await self._probe.hsetnx(
            f"{self._prefix}:first:{self._owner}", str(channel_id), time.time()
        )
        await self._probe.incr(f"{self._prefix}:runs:{self._owner}")
        try:
            await asyncio.sleep(0.01)  # widen the window an overlap would need
            return await super().run_channel(conn, channel_id)
        finally:
            await self._probe.decr(active)


async def main(argv: list[str]) -> None:
    database_url, redis_url, owner, lease, seed, *numbers = argv
    prefix = f"crashprobe:{seed}"
    pool = await create_pool(database_url, min_size=1, max_size=4)  # JSON codecs, as in main
    probe = redis.Redis.from_url(redis_url)
    clock = ManualClock(START)
    source = SimulatedSource(int(seed), clock, START - CRASH_HISTORY)
    collector = ProbedCollector(probe, prefix, owner, source, clock, EventPublisher(probe))
    async with pool.acquire() as conn:
        ids = [
            (await collector.track_channel(conn, f"@{username_of(int(n))}"))[0].channel_id
            for n in numbers
        ]
    print("ready", flush=True)
    scheduler = Scheduler(
        pool, collector, owner=owner, concurrency=2, lease_seconds=float(lease), max_idle=0.05
    )
    while True:
        await scheduler.run_until()
        async with pool.acquire() as conn:
            pending = await conn.fetchval(
                """SELECT count(*) FROM collection_state
                   WHERE channel_id = ANY($1::bigint[]) AND backfill_state <> 'done'""",
                ids,
            )
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    await probe.aclose()
    await pool.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
