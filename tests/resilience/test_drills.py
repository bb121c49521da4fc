"""Drills on the running product: kill the analytics service under load, take Redis and
PostgreSQL away and bring them back. Each prints what it measured (``-s`` shows it).

The crash drill of the collector (SIGKILL during a backfill; rows equal a clean run) is
``tests/integration/collector/test_collector_crash.py`` and the bot's (SIGKILL during a
notification burst) ``tests/integration/bot/test_bot_crash.py``; ``make
test-resilience`` runs them beside these. The restarts of auth, the collector and the
gateway under load are in ``test_crash_restarts.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import redis

from services.collector.scheduler import LEASE_SECONDS
from tests.resilience.conftest import DrillPlan, DrillStack, OwnPostgres, OwnRedis
from tests.resilience.observe import (
    SERVICES,
    Load,
    health,
    refused_cleanly,
    server_errors,
    service_pid,
    statuses,
    summary,
    wait_for,
    warm,
)

STREAMS = ("ab:events:ingest", "ab:alerts")


def test_analytics_killed_under_load_serves_cached_reads_without_5xx(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    warm(drill_stack)
    port = drill_stack.ports["grpc"]["analytics"]
    pid = service_pid(drill_stack, "analytics")
    assert pid is not None, "no analytics process"
    load = Load(drill_stack, plan.outage_seconds + 8, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: health(port, SERVICES["analytics"]) != "SERVING", 5, "analytics down")
    recovered = wait_for(
        lambda: health(port, SERVICES["analytics"]) == "SERVING", 60, "analytics back"
    )
    recovery = time.monotonic() - killed
    records = load.records()
    stale_at = [float(r["t"]) for r in records if r["cache"] == "stale"]
    result = summary(
        "analytics-sigkill",
        records,
        recovery_s=round(recovery, 2),
        stale_window_s=round(stale_at[-1] - stale_at[0], 2) if stale_at else 0.0,
    )
    assert recovered > 0
    assert not [r for r in records if r["status"] >= 500 or r["status"] == 0], server_errors(
        drill_stack, records
    )
    assert result["stale"] > 0, "no read fell in the restart window"


def end_outage(
    drill_stack: DrillStack, store: OwnRedis | OwnPostgres, plan: DrillPlan, stopped: float
) -> float:
    """Keep ``store`` down for the plan's outage (counted from ``stopped``), start it
    again and wait until every service is SERVING; returns the seconds that took."""
    time.sleep(max(0.0, plan.outage_seconds - (time.monotonic() - stopped)))
    store.start()
    restarted = time.monotonic()
    wait_for(
        lambda: set(statuses(drill_stack, tuple(SERVICES)).values()) == {"SERVING"},
        30,
        "all SERVING again",
    )
    return time.monotonic() - restarted


def _stream_ids(drill_stack: DrillStack) -> dict[str, list[str]]:
    """Every entry id of the stack's streams, by documented stream name."""
    client = redis.Redis.from_url(drill_stack.redis.url, decode_responses=True)
    try:
        return {
            s: [str(entry) for entry, _ in client.xrange(drill_stack.stack.redis_name(s)) or []]
            for s in STREAMS
        }
    finally:
        client.close()


def test_redis_outage_reports_not_serving_and_recovers_with_no_stream_entry_lost(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    warm(drill_stack)
    before = _stream_ids(drill_stack)
    load = Load(drill_stack, plan.outage_seconds + 10, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    drill_stack.redis.stop()
    stopped = time.monotonic()
    detected = wait_for(
        lambda: set(statuses(drill_stack, ("analytics", "collector")).values()) == {"NOT_SERVING"},
        10,
        "analytics and collector NOT_SERVING",
    )
    assert statuses(drill_stack, ("auth",)) == {"auth": "SERVING"}  # auth needs no Redis
    recovery = end_outage(drill_stack, drill_stack.redis, plan, stopped)
    records = load.records()
    after = _stream_ids(drill_stack)
    lost = sum(len(set(before[s]) - set(after[s])) for s in STREAMS)
    duplicated = sum(len(after[s]) - len(set(after[s])) for s in STREAMS)
    tail = [r for r in records if r["t"] > records[-1]["t"] - 2]
    summary(
        "redis-outage",
        records,
        outage_s=plan.outage_seconds,
        detected_s=round(detected, 2),
        recovery_s=round(recovery, 2),
        stream_entries=sum(len(before[s]) for s in STREAMS),
        lost=lost,
        duplicated=duplicated,
    )
    assert lost == 0
    assert duplicated == 0
    # While Redis is down a read is refused clearly (503), never hangs or 500s.
    assert refused_cleanly(records), server_errors(drill_stack, records)
    assert all(r["status"] == 200 for r in tail), "reads did not recover"


async def _row_counts(url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(url)
    try:
        posts = await conn.fetchval("SELECT count(*) FROM posts")
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM posts GROUP BY channel_id, message_id"
            " HAVING count(*) > 1) AS twice"
        )
        snapshots = await conn.fetchval("SELECT count(*) FROM post_snapshots")
        return int(posts), int(duplicates), int(snapshots)
    finally:
        await conn.close()


async def _stuck_leases(url: str) -> int:
    """Channels still leased by a run that started more than 5 s ago: runs the outage
    broke, whose leases nobody released (they block the channel until they expire)."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                """SELECT count(*) FROM collection_state
                   WHERE lease_until > now() AND lease_until < now() + make_interval(secs => $1)""",
                LEASE_SECONDS - 5,
            )
        )
    finally:
        await conn.close()


def test_postgres_outage_reports_not_serving_and_recovers_with_no_row_lost(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    warm(drill_stack)
    posts_before, _, snapshots_before = asyncio.run(_row_counts(drill_stack.postgres.url))
    load = Load(drill_stack, plan.outage_seconds + 12, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    drill_stack.postgres.stop()
    stopped = time.monotonic()
    detected = wait_for(
        lambda: set(statuses(drill_stack, tuple(SERVICES)).values()) == {"NOT_SERVING"},
        10,
        "every service NOT_SERVING",
    )
    recovery = end_outage(drill_stack, drill_stack.postgres, plan, stopped)
    stuck = asyncio.run(_stuck_leases(drill_stack.postgres.url))
    records = load.records()
    posts_after, duplicates, snapshots_after = asyncio.run(_row_counts(drill_stack.postgres.url))
    tail = [r for r in records if r["t"] > records[-1]["t"] - 2]
    summary(
        "postgres-outage",
        records,
        outage_s=plan.outage_seconds,
        detected_s=round(detected, 2),
        recovery_s=round(recovery, 2),
        posts_before=posts_before,
        posts_after=posts_after,
        duplicated=duplicates,
        stuck_leases=stuck,
    )
    assert duplicates == 0
    assert posts_after >= posts_before
    assert snapshots_after >= snapshots_before
    assert refused_cleanly(records), server_errors(drill_stack, records)
    assert all(r["status"] == 200 for r in tail), "reads did not recover"
