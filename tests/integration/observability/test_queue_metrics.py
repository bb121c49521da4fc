"""Queue depth and lag gauges read from the real stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as redis
from prometheus_client import REGISTRY

from analyticbot.runtime.stream_metrics import sample_stream
from services.collector.metrics import sample_queue

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_stream_gauges_show_length_pending_and_how_far_behind(
    redis_client: redis.Redis,
) -> None:
    stream = f"test:stream:{uuid.uuid4().hex}"
    try:
        await redis_client.xgroup_create(stream, "workers", id="0", mkstream=True)
        for millis in (1000, 5000, 9000):
            await redis_client.xadd(stream, {"n": millis}, id=f"{millis}-0")
        await redis_client.xreadgroup("workers", "w1", {stream: ">"}, count=1)

        await sample_stream(redis_client, stream)

        assert _value("redis_stream_length", stream=stream) == 3
        assert _value("redis_stream_group_pending", stream=stream, group="workers") == 1
        # The newest entry is 8 s younger than the last one the group was given.
        assert _value("redis_stream_group_lag_seconds", stream=stream, group="workers") == 8.0
    finally:
        await redis_client.delete(stream)


async def test_a_missing_stream_has_length_zero(redis_client: redis.Redis) -> None:
    stream = f"test:stream:{uuid.uuid4().hex}"
    await sample_stream(redis_client, stream)
    assert _value("redis_stream_length", stream=stream) == 0


async def test_collector_queue_gauges(conn: asyncpg.Connection, unique_id: int) -> None:
    """Inside the test's rolled-back transaction, the queue holds exactly three channels:
    one due for 10 minutes and failing, one not due yet, one paused and long overdue."""
    await conn.execute("DELETE FROM collection_state")
    channels = [
        (unique_id, False, NOW - timedelta(minutes=10), "boom"),
        (unique_id + 1, False, NOW + timedelta(minutes=5), None),
        (unique_id + 2, True, NOW - timedelta(days=1), None),
    ]
    for channel_id, paused, next_run, error in channels:
        await conn.execute(
            "INSERT INTO channels (id, title, paused) VALUES ($1, 'Queued', $2)", channel_id, paused
        )
        await conn.execute(
            """INSERT INTO collection_state (channel_id, next_run_at, last_error,
                   last_subscribers_at) VALUES ($1, $2, $3, $4)""",
            channel_id,
            next_run,
            error,
            NOW - timedelta(hours=2),
        )

    await sample_queue(conn, NOW)

    assert _value("collector_due_channels") == 1
    assert _value("collector_ingestion_lag_seconds") == 600
    assert _value("collector_subscribers_sample_age_seconds") == 7200
    assert _value("collector_failing_channels") == 1
    assert _value("collector_tracked_channels", state="active") == 2
    assert _value("collector_tracked_channels", state="paused") == 1
