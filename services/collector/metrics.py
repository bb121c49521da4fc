"""The collector's Prometheus metrics: MTProto requests, FloodWait, queue depth and
ingestion lag, declared here so that every collector process exposes them (a simulator
run too, with no samples until the first event).

The MTProto counters are incremented by ``account_pool``. The queue gauges come from
``collection_state`` (one row per channel), sampled by ``watch_queue`` in collector time,
so a simulated clock reads consistently. Every replica reports the same queue numbers;
dashboards and alerts take ``max``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Gauge

from services.collector.clock import Clock
from services.collector.repository import Conn

log = logging.getLogger(__name__)

FLOOD_WAITS = Counter(
    "collector_flood_waits_total", "FloodWait errors Telegram returned, by account.", ["account"]
)
FLOOD_WAIT_SECONDS = Counter(
    "collector_flood_wait_seconds_total", "Seconds of FloodWait imposed, by account.", ["account"]
)
MTPROTO_REQUESTS = Counter(
    "collector_mtproto_requests_total",
    "MTProto requests sent, by account and method.",
    ["account", "method"],
)
DUE_CHANNELS = Gauge(
    "collector_due_channels",
    "Unpaused channels whose next run is due (the collector's work queue depth).",
)
INGESTION_LAG = Gauge(
    "collector_ingestion_lag_seconds",
    "How late the most overdue channel run is (0 while the collector keeps up).",
)
SUBSCRIBERS_AGE = Gauge(
    "collector_subscribers_sample_age_seconds",
    "Age of the oldest latest subscriber sample among unpaused channels.",
)
FAILING_CHANNELS = Gauge(
    "collector_failing_channels",
    "Unpaused channels whose last run failed (collection_state.last_error is set).",
)
TRACKED_CHANNELS = Gauge(
    "collector_tracked_channels", "Channels the collector tracks, by state.", ["state"]
)


async def sample_queue(conn: Conn, now: datetime) -> None:
    """Read the work queue's numbers at collector time ``now`` into the gauges."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE NOT c.paused AND s.next_run_at <= $1) AS due,
                  coalesce(extract(epoch FROM $1 - min(s.next_run_at) FILTER (
                      WHERE NOT c.paused AND s.next_run_at <= $1)), 0) AS lag,
                  coalesce(extract(epoch FROM $1 - min(s.last_subscribers_at) FILTER (
                      WHERE NOT c.paused)), 0) AS subscribers_age,
                  count(*) FILTER (WHERE NOT c.paused AND s.last_error IS NOT NULL) AS failing,
                  count(*) FILTER (WHERE NOT c.paused) AS active,
                  count(*) FILTER (WHERE c.paused) AS paused
           FROM collection_state s JOIN channels c ON c.id = s.channel_id""",
        now,
    )
    assert row is not None
    DUE_CHANNELS.set(int(row["due"]))
    INGESTION_LAG.set(max(0.0, float(row["lag"])))
    SUBSCRIBERS_AGE.set(max(0.0, float(row["subscribers_age"])))
    FAILING_CHANNELS.set(int(row["failing"]))
    TRACKED_CHANNELS.labels("active").set(int(row["active"]))
    TRACKED_CHANNELS.labels("paused").set(int(row["paused"]))


async def watch_queue(pool: asyncpg.Pool, clock: Clock, *, interval: float = 15.0) -> None:
    """Sample the queue every ``interval`` seconds until cancelled; a database outage is
    logged and the gauges keep their last values until it ends."""
    while True:
        try:
            async with pool.acquire() as conn:
                await sample_queue(conn, clock.now())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("sampling the collector queue failed: %s", exc)
        await asyncio.sleep(interval)
