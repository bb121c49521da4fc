"""Live updates and alerts, driven the way the collector drives them: commit rows, then
publish the event (``services/collector/events.py``'s shapes, on this test's names)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
import redis.asyncio as redis

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2
from services.analytics.alerts import AlertEngine
from services.analytics.cache import ResponseCache
from services.analytics.events import EventHub, IngestWorker
from tests.integration.analytics.dataset import X, seed, t
from tests.integration.analytics.ingest_events import publish, publish_and_hear

if TYPE_CHECKING:
    from analyticbot.analytics.v1.analytics_pb2_grpc import (
        AnalyticsServiceAsyncStub as AsyncStub,
    )


async def commit_x_at_1000_views(pool: asyncpg.Pool, channel_id: int) -> None:
    """A refresh of post X (800 -> 1000 views) on Mar 14, 12:00, committed."""
    async with pool.acquire() as conn:
        post_id = await conn.fetchval(
            "SELECT id FROM posts WHERE channel_id = $1 AND message_id = $2", channel_id, X
        )
        await conn.execute(
            "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies, "
            "reactions_total) VALUES ($1, $2, 1000, 8, 2, 30)",
            post_id,
            t(14, 12),
        )


async def test_watch_channel_delivers_fresh_numbers_after_a_commit(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    await seed(pool, channel_id)
    stream = stub.WatchChannel(analytics_pb2.WatchChannelRequest(channel_id=channel_id))
    first = await asyncio.wait_for(stream.read(), 5)
    assert isinstance(first, analytics_pb2.WatchChannelResponse)
    assert first.kind == analytics_pb2.INGEST_KIND_INITIAL
    # [Mar 8, Mar 15): X at 800 and Y at 50 -> 425 views per post.
    assert first.overview.current.views_per_post.value == 425
    await commit_x_at_1000_views(pool, channel_id)
    await publish(redis_client, prefix, channel_id, t(14, 12))
    update = await asyncio.wait_for(stream.read(), 5)
    assert isinstance(update, analytics_pb2.WatchChannelResponse)
    assert update.kind == analytics_pb2.INGEST_KIND_REFRESH
    assert update.event_at.ToDatetime().isoformat() == "2025-03-14T12:00:00"
    # (1000 + 50) / 2 = 525
    assert update.overview.current.views_per_post.value == 525
    stream.cancel()


async def test_every_stream_of_a_channel_gets_the_new_numbers(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    """Streams share one computation per event (services/analytics/live.py); each of
    them still receives the numbers committed before the event."""
    await seed(pool, channel_id)
    streams = [
        stub.WatchChannel(analytics_pb2.WatchChannelRequest(channel_id=channel_id))
        for _ in range(20)
    ]

    async def views_per_post() -> list[float]:
        replies = await asyncio.wait_for(asyncio.gather(*(s.read() for s in streams)), 10)
        return [
            r.overview.current.views_per_post.value
            if isinstance(r, analytics_pb2.WatchChannelResponse)
            else -1
            for r in replies
        ]

    assert await views_per_post() == [425] * 20
    await commit_x_at_1000_views(pool, channel_id)
    await publish(redis_client, prefix, channel_id, t(14, 12))
    assert await views_per_post() == [525] * 20
    for stream in streams:
        stream.cancel()


async def test_until_now_overview_is_shared_but_never_older_than_the_last_event(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
    hub: EventHub,
) -> None:
    """Concurrent "until now" overviews share one computation; an ingest event makes
    the very next call recompute, so a commit is never hidden by the sharing."""
    await seed(pool, channel_id)
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    replies = await asyncio.gather(*(stub.GetChannelOverview(request) for _ in range(10)))
    assert [r.current.views_per_post.value for r in replies] == [425] * 10
    await commit_x_at_1000_views(pool, channel_id)
    await publish_and_hear(redis_client, prefix, hub, channel_id, t(14, 12))
    after = await stub.GetChannelOverview(request)
    assert after.current.views_per_post.value == 525


@pytest.fixture
async def worker(
    pool: asyncpg.Pool, redis_client: redis.Redis, prefix: str, cache: ResponseCache
) -> AsyncIterator[IngestWorker]:
    """A running ingest worker on this test's stream, group and alerts stream."""
    worker = IngestWorker(
        redis_client,
        stream=f"{prefix}ingest",
        group="analytics",
        consumer="test",
        cache=cache,
        alerts=AlertEngine(pool, redis_client, stream=f"{prefix}alerts"),
        stall_check_seconds=3600,
    )
    await worker.ensure_group()
    task = asyncio.create_task(worker.run())
    yield worker
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await redis_client.delete(f"{prefix}ingest", f"{prefix}alerts")


async def read_alerts(client: redis.Redis, stream: str, count: int) -> list[dict[str, str]]:
    """Wait until ``stream`` holds ``count`` entries; their fields."""
    for _ in range(100):
        entries: Any = await client.xrange(stream)
        if len(entries) >= count:
            return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream} never held {count} entries")


async def test_rules_raise_each_alert_once_into_the_stream_and_over_grpc(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
    worker: IngestWorker,
    token: Callable[..., str],
    unique_id: int,
) -> None:
    await seed(pool, channel_id)
    user = unique_id % 1_000_000_000 + 1
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user)
        await conn.execute(
            "INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, 'analyst')",
            user,
            channel_id,
        )
    as_user = (("authorization", f"Bearer {token('access', str(user))}"),)
    for kind in (alerts_pb2.ALERT_KIND_POST_VIRAL, alerts_pb2.ALERT_KIND_SUBSCRIBER_MILESTONE):
        await stub.CreateAlertRule(
            alerts_pb2.CreateAlertRuleRequest(channel_id=channel_id, kind=kind), metadata=as_user
        )
    rules = await stub.ListAlertRules(
        alerts_pb2.ListAlertRulesRequest(channel_id=channel_id), metadata=as_user
    )
    assert [(r.kind, r.threshold) for r in rules.rules] == [
        (alerts_pb2.ALERT_KIND_POST_VIRAL, 2.0),
        (alerts_pb2.ALERT_KIND_SUBSCRIBER_MILESTONE, 1000.0),
    ]

    # At Mar 14 12:00: X (index 61/30 > 2) is viral; subscribers went 1000 -> 2000 within
    # 24 h, reaching the 2000 milestone.
    await publish(redis_client, prefix, channel_id, t(14, 12))
    entries = [
        e
        for e in await read_alerts(redis_client, f"{prefix}alerts", 2)
        if e["channel_id"] == str(channel_id)
    ]
    by_rule = {entry["rule"]: entry for entry in entries}
    viral = by_rule["post_viral"]
    assert viral["message_id"] == str(X)
    assert viral["deep_link"] == f"channel_{channel_id}_post_{X}"
    assert viral["user_id"] == str(user)
    assert json.loads(viral["data"])["performance_index"] == 61 / 30
    assert json.loads(by_rule["subscriber_milestone"]["data"])["milestone"] == 2000

    # The same state evaluated again raises nothing new.
    await publish(redis_client, prefix, channel_id, t(14, 13))
    await publish(redis_client, prefix, channel_id, t(14, 14))
    for _ in range(50):
        pending: Any = await redis_client.xpending(f"{prefix}ingest", "analytics")
        if pending["pending"] == 0 and await redis_client.xlen(f"{prefix}ingest") == 3:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    again = await read_alerts(redis_client, f"{prefix}alerts", 2)
    assert len([e for e in again if e["channel_id"] == str(channel_id)]) == 2

    listed = await stub.ListAlerts(
        alerts_pb2.ListAlertsRequest(channel_id=channel_id), metadata=as_user
    )
    assert sorted(a.alert_id for a in listed.alerts) == sorted(e["alert_id"] for e in entries)
    assert {a.kind for a in listed.alerts} == {
        alerts_pb2.ALERT_KIND_POST_VIRAL,
        alerts_pb2.ALERT_KIND_SUBSCRIBER_MILESTONE,
    }


async def test_a_stalled_collection_raises_one_alert_per_stall(
    pool: asyncpg.Pool, channel_id: int, redis_client: redis.Redis, prefix: str, unique_id: int
) -> None:
    await seed(pool, channel_id)
    user = unique_id % 1_000_000_000 + 2
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user)
        await conn.execute(
            "INSERT INTO collection_state (channel_id, last_refresh_at) VALUES ($1, $2)",
            channel_id,
            t(14),
        )
        await conn.execute(
            "INSERT INTO alert_rules (user_id, channel_id, kind, threshold) "
            "VALUES ($1, $2, 'collection_stalled', 6)",
            user,
            channel_id,
        )
    engine = AlertEngine(pool, redis_client, stream=f"{prefix}alerts")
    try:
        # 5 h after the last refresh: not yet; 7 h after: once, however often checked.
        assert await engine.evaluate_stalled(t(14, 5)) == 0
        await engine.evaluate_stalled(t(14, 7))
        await engine.evaluate_stalled(t(14, 9))
        entries = await read_alerts(redis_client, f"{prefix}alerts", 1)
        ours = [e for e in entries if e["channel_id"] == str(channel_id)]
        assert len(ours) == 1
        assert ours[0]["rule"] == "collection_stalled"
        assert ours[0]["deep_link"] == f"channel_{channel_id}"
    finally:
        await redis_client.delete(f"{prefix}alerts")


async def test_cached_answers_last_until_the_channel_s_next_ingest_event(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
    worker: IngestWorker,
) -> None:
    await seed(pool, channel_id)
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    request.period_start.FromDatetime(t(8))
    request.period_end.FromDatetime(t(15))
    before = await stub.GetChannelOverview(request)
    assert before.current.subscribers_end.value == 2000
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
            "VALUES ($1, $2, 2500)",
            channel_id,
            t(14, 12),
        )
    # Committed but not announced: the cached answer stands.
    assert (await stub.GetChannelOverview(request)) == before
    await publish(redis_client, prefix, channel_id, t(14, 12))
    for _ in range(100):
        after = await stub.GetChannelOverview(request)
        if after.current.subscribers_end.value == 2500:
            break
        await asyncio.sleep(0.05)
    assert after.current.subscribers_end.value == 2500


async def test_an_answer_computed_across_an_invalidation_is_not_cached(
    cache: ResponseCache, channel_id: int
) -> None:
    """The race: lookup misses, an ingest event invalidates while the answer is being
    computed from the older data, then the answer would be stored — it must not be."""
    hit, epoch = await cache.get(channel_id, "overview", b"request")
    assert hit is None
    await cache.invalidate(channel_id)  # the event arrives mid-computation
    assert not await cache.put(channel_id, "overview", b"request", b"stale", epoch)
    hit, fresh_epoch = await cache.get(channel_id, "overview", b"request")
    assert hit is None
    assert await cache.put(channel_id, "overview", b"request", b"fresh", fresh_epoch)
    assert (await cache.get(channel_id, "overview", b"request"))[0] == b"fresh"
    await cache.invalidate(channel_id)
    assert (await cache.get(channel_id, "overview", b"request"))[0] is None


async def test_the_worker_announces_what_it_drops_and_whether_it_hears(
    redis_client: redis.Redis,
    prefix: str,
    channel_id: int,
    pool: asyncpg.Pool,
    worker: IngestWorker,
) -> None:
    """What the gateways' memo of answers listens to (gateway/answer_memo.py)."""
    await seed(pool, channel_id)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(f"{prefix}answers")
    heard: list[str] = []

    async def next_message(wanted: str) -> None:
        for _ in range(100):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                heard.append(message["data"].decode())
                if heard[-1] == wanted:
                    return
        raise AssertionError(f"{wanted!r} never heard; heard {heard}")

    announcing = asyncio.create_task(worker.announce(every_seconds=0.05))
    try:
        await next_message("alive")
        await publish(redis_client, prefix, channel_id, t(14, 12))
        await next_message(f"c:{channel_id}")
    finally:
        announcing.cancel()
        await asyncio.wait([announcing])
    await next_message("deaf")
    await pubsub.aclose()  # type: ignore[no-untyped-call]
