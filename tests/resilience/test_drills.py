"""Drills on the running product: kill the analytics service under load, take Redis and
PostgreSQL away and bring them back. Each prints what it measured (``-s`` shows it).

The crash drill of the collector (SIGKILL during a backfill; rows equal a clean run) is
``tests/integration/collector/test_collector_crash.py`` and the bot's (SIGKILL during a
notification burst) ``tests/integration/bot/test_bot_crash.py``; ``make
test-resilience`` runs them beside these.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.resilience.conftest import DrillPlan, DrillStack
from tests.support import ROOT

SERVICES = {
    "analytics": "analyticbot.analytics.v1.AnalyticsService",
    "auth": "analyticbot.auth.v1.AuthService",
    "collector": "analyticbot.collector.v1.CollectorService",
}
STREAMS = ("ab:events:ingest", "ab:alerts")
# A refused read comes back within the gateway's RPC deadline (5 s) and a second: it may
# wait for one store connection attempt, never hang.
ANSWERED_WITHIN_MS = 6000


def health(port: int, service: str) -> str:
    """The service's status name, or the failure's code (UNAVAILABLE when down)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1
            )
        except grpc.RpcError as exc:
            return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


def statuses(drill: DrillStack, names: tuple[str, ...]) -> dict[str, str]:
    grpc_ports = drill.ports["grpc"]
    return {name: health(grpc_ports[name], SERVICES[name]) for name in names}


class Load:
    """``tests.resilience.load`` in a second process."""

    def __init__(self, drill: DrillStack, seconds: float, rate: float, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.resilience.load",
                drill.stack.url,
                drill.token,
                str(seconds),
                str(rate),
                str(out),
                *drill.read_paths(),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def records(self) -> list[dict[str, Any]]:
        assert self.process.wait(timeout=120) == 0
        return list(json.loads(self.out.read_text()))


def summary(name: str, records: list[dict[str, Any]], **figures: float | str) -> dict[str, Any]:
    codes = Counter(int(record["status"]) for record in records)
    latencies = sorted(float(record["ms"]) for record in records)
    result = {
        "drill": name,
        "requests": len(records),
        "statuses": dict(sorted(codes.items())),
        "stale": sum(1 for record in records if record["cache"] == "stale"),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        **figures,
    }
    print(f"\nDRILL {json.dumps(result)}", flush=True)
    return result


def server_errors(drill: DrillStack, records: list[dict[str, Any]]) -> str:
    """The 5xx/no-answer records and the stack's error log lines, for a failure."""
    bad = [r for r in records if r["status"] >= 500 or r["status"] == 0]
    lines = [
        line
        for line in drill.stack.log_path.read_text(errors="replace").splitlines()
        if '"ERROR"' in line or "Traceback" in line or "Error:" in line
    ]
    return f"{bad[:10]}\n" + "\n".join(lines[-40:])


def refused_cleanly(records: list[dict[str, Any]]) -> bool:
    """Every read that was not answered is a 503 that came back within the deadline."""
    failures = [r for r in records if r["status"] != 200]
    return all(r["status"] == 503 and r["ms"] < ANSWERED_WITHIN_MS for r in failures)


def warm(drill: DrillStack) -> None:
    """Read every path once, so each has a stale copy before the fault."""
    headers = {"Authorization": f"Bearer {drill.token}"}
    with httpx.Client(base_url=drill.stack.url, headers=headers, timeout=10) as client:
        for path in drill.read_paths():
            assert client.get(path).status_code == 200, path
    time.sleep(0.3)


def test_analytics_killed_under_load_serves_cached_reads_without_5xx(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    warm(drill_stack)
    port = drill_stack.ports["grpc"]["analytics"]
    pid = int(drill_stack.ports["pids"]["analytics"])
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


def _stream_ids(url: str) -> dict[str, list[str]]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {s: [str(entry) for entry, _ in client.xrange(s) or []] for s in STREAMS}
    finally:
        client.close()


def test_redis_outage_reports_not_serving_and_recovers_with_no_stream_entry_lost(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    warm(drill_stack)
    before = _stream_ids(drill_stack.redis.url)
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
    time.sleep(max(0.0, plan.outage_seconds - (time.monotonic() - stopped)))
    drill_stack.redis.start()
    restarted = time.monotonic()
    wait_for(
        lambda: set(statuses(drill_stack, tuple(SERVICES)).values()) == {"SERVING"},
        30,
        "all SERVING again",
    )
    recovery = time.monotonic() - restarted
    records = load.records()
    after = _stream_ids(drill_stack.redis.url)
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
    time.sleep(max(0.0, plan.outage_seconds - (time.monotonic() - stopped)))
    drill_stack.postgres.start()
    restarted = time.monotonic()
    wait_for(
        lambda: set(statuses(drill_stack, tuple(SERVICES)).values()) == {"SERVING"},
        30,
        "all SERVING again",
    )
    recovery = time.monotonic() - restarted
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
    )
    assert duplicates == 0
    assert posts_after >= posts_before
    assert snapshots_after >= snapshots_before
    assert refused_cleanly(records), server_errors(drill_stack, records)
    assert all(r["status"] == 200 for r in tail), "reads did not recover"
