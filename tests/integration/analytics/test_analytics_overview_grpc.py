"""GetChannelOverview over a real grpc.aio server, on rows inserted with plain SQL.

Every expected number is worked out by hand in the comments beside the dataset.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

import asyncpg
import grpc
import pytest
import redis.asyncio as redis
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from analyticbot.analytics.v1 import analytics_pb2, analytics_pb2_grpc, metric_pb2
from services.analytics.cache import ResponseCache
from services.analytics.events import EventHub
from tests.integration.analytics.ingest_events import publish_and_hear


class AnalyticsClient(Protocol):
    """The AnalyticsService stub as it behaves on a ``grpc.aio`` channel.

    The generated stub has no annotations and grpc-stubs types its calls as blocking;
    on an aio channel each call returns an awaitable.
    """

    def GetChannelOverview(
        self, request: analytics_pb2.GetChannelOverviewRequest
    ) -> Awaitable[analytics_pb2.GetChannelOverviewResponse]:
        """The unary GetChannelOverview call."""
        ...


@pytest.fixture
def analytics(grpc_channel: grpc.aio.Channel) -> AnalyticsClient:
    """The AnalyticsService stub on the test server."""
    make: Callable[[grpc.aio.Channel], object] = analytics_pb2_grpc.AnalyticsServiceStub
    return cast(AnalyticsClient, make(grpc_channel))


@dataclass(frozen=True)
class Snapshot:
    """One post_snapshots row of a seeded post."""

    at: datetime
    views: int
    forwards: int
    replies: int
    reactions: int


@dataclass(frozen=True)
class SeedPost:
    """A post to insert, with its snapshots."""

    message_id: int
    published_at: datetime
    snapshots: list[Snapshot] = field(default_factory=list)
    deleted_at: datetime | None = None


async def seed_channel(
    pool: asyncpg.Pool,
    channel_id: int,
    *,
    title: str = "Seeded channel",
    subscribers: Sequence[tuple[datetime, int]] = (),
    posts: Sequence[SeedPost] = (),
    last_refresh_at: datetime | None = None,
) -> None:
    """Insert a channel and its rows with plain SQL, committed (the server reads them)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, $2)", channel_id, title)
        await conn.executemany(
            "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
            "VALUES ($1, $2, $3)",
            [(channel_id, at, count) for at, count in subscribers],
        )
        for post in posts:
            post_id = await conn.fetchval(
                "INSERT INTO posts (channel_id, message_id, published_at, deleted_at) "
                "VALUES ($1, $2, $3, $4) RETURNING id",
                channel_id,
                post.message_id,
                post.published_at,
                post.deleted_at,
            )
            await conn.executemany(
                "INSERT INTO post_snapshots "
                "(post_id, sampled_at, views, forwards, replies, reactions_total) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    (post_id, s.at, s.views, s.forwards, s.replies, s.reactions)
                    for s in post.snapshots
                ],
            )
        if last_refresh_at is not None:
            await conn.execute(
                "INSERT INTO collection_state (channel_id, last_refresh_at) VALUES ($1, $2)",
                channel_id,
                last_refresh_at,
            )


def t(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    """A moment in 2025, UTC."""
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def stamp(moment: datetime) -> Timestamp:
    """A Timestamp message for ``moment``."""
    message = Timestamp()
    message.FromDatetime(moment)
    return message


# Current period [Mar 8, Mar 15); previous period [Mar 1, Mar 8).
#
# Subscriber samples (a step function, read at or before each moment):
#   Feb 27 12:00 1000 | Mar 5 09:00 1100 | Mar 8 00:00 1200 | Mar 14 23:00 1150
#   Mar 15 00:00 1300 | Mar 16 00:00 9999 (after both periods)
# subscribers(Mar 1) = 1000, subscribers(Mar 8) = 1200 (sample exactly at Mar 8),
# subscribers(Mar 15) = 1300 (sample exactly at Mar 15).
#   previous: growth 1200 - 1000 = 200, 200 / 1000 * 100 = 20 %
#   current:  growth 1300 - 1200 = 100, 100 / 1200 * 100 = 25/3 % = 8.333...
SUBSCRIBERS = [
    (datetime(2025, 2, 27, 12, tzinfo=UTC), 1000),
    (t(5, 9), 1100),
    (t(8), 1200),
    (t(14, 23), 1150),
    (t(15), 1300),
    (t(16), 9999),
]

# Snapshot columns: views, forwards, replies, reactions.
POSTS = [
    # Previous period; latest at Mar 8 is the Mar 7 10:00 sample: 400/4/2/10.
    SeedPost(
        1,
        t(2, 10),
        [
            Snapshot(t(2, 12), 100, 1, 0, 5),
            Snapshot(t(7, 10), 400, 4, 2, 10),
            Snapshot(t(9), 500, 5, 3, 12),
        ],
    ),
    # Previous period; latest at Mar 8 is 200/2/1/4.
    SeedPost(2, t(7, 20), [Snapshot(t(7, 22), 200, 2, 1, 4), Snapshot(t(10), 300, 3, 1, 6)]),
    # Deleted: excluded everywhere despite its big numbers.
    SeedPost(3, t(5), [Snapshot(t(5, 1), 10_000, 100, 100, 100)], deleted_at=t(6)),
    # Previous period, but first sampled after Mar 8: counted in posts, not in the means.
    SeedPost(4, t(7, 23, 30), [Snapshot(t(8, 1), 50, 0, 0, 1)]),
    # Current period (published exactly at its start); latest at Mar 15 is the sample
    # taken exactly at Mar 15: 700/7/3/20.
    SeedPost(5, t(8), [Snapshot(t(8, 6), 50, 0, 0, 2), Snapshot(t(15), 700, 7, 3, 20)]),
    # Current period; the Mar 15 06:00 sample is after its end: 250/1/0/6.
    SeedPost(6, t(14, 12), [Snapshot(t(14, 18), 250, 1, 0, 6), Snapshot(t(15, 6), 900, 9, 9, 9)]),
    # Published exactly at the current period's end: in neither period.
    SeedPost(7, t(15), [Snapshot(t(15, 1), 80, 0, 0, 0)]),
    # Deleted, current period.
    SeedPost(8, t(10), [Snapshot(t(10, 1), 5000, 50, 50, 50)], deleted_at=t(11)),
    # Current period: 101/0/1/3.
    SeedPost(9, t(12), [Snapshot(t(13), 101, 0, 1, 3)]),
]
# previous: posts 1, 2, 4 -> 3 posts, 2 with samples (1, 2)
#   views (400 + 200) / 2 = 300, forwards (4 + 2) / 2 = 3,
#   replies (2 + 1) / 2 = 1.5, reactions (10 + 4) / 2 = 7
# current: posts 5, 6, 9 -> 3 posts, all sampled
#   views (700 + 250 + 101) / 3 = 1051/3, forwards (7 + 1 + 0) / 3 = 8/3,
#   replies (3 + 0 + 1) / 3 = 4/3, reactions (20 + 6 + 3) / 3 = 29/3
# data_as_of: the newest subscriber sample, Mar 16.


def assert_value(metric: metric_pb2.Metric, expected: float) -> None:
    """``metric`` has exactly ``expected`` (the double nearest the exact quotient)."""
    assert metric.HasField("value"), metric
    assert metric.value == expected
    assert metric.unavailable_reason == metric_pb2.UNAVAILABLE_REASON_UNSPECIFIED


def assert_unavailable(metric: metric_pb2.Metric, reason: metric_pb2.UnavailableReason) -> None:
    """``metric`` has no value, for ``reason``."""
    assert not metric.HasField("value"), metric
    assert metric.unavailable_reason == reason


def assert_hand_computed_overview(response: analytics_pb2.GetChannelOverviewResponse) -> None:
    """The overview of the dataset above for [Mar 8, Mar 15), to the last digit."""
    assert response.title == "Hand-computed"
    current, previous = response.current, response.previous
    assert current.start.ToDatetime(tzinfo=UTC) == t(8)
    assert current.end.ToDatetime(tzinfo=UTC) == t(15)
    assert previous.start.ToDatetime(tzinfo=UTC) == t(1)
    assert previous.end.ToDatetime(tzinfo=UTC) == t(8)

    assert_value(current.subscribers_start, 1200)
    assert_value(current.subscribers_end, 1300)
    assert_value(current.subscriber_growth, 100)
    assert_value(current.subscriber_growth_percent, 25 / 3)
    assert (current.posts, current.posts_with_samples) == (3, 3)
    assert_value(current.views_per_post, 1051 / 3)
    assert_value(current.forwards_per_post, 8 / 3)
    assert_value(current.replies_per_post, 4 / 3)
    assert_value(current.reactions_per_post, 29 / 3)

    assert_value(previous.subscribers_start, 1000)
    assert_value(previous.subscribers_end, 1200)
    assert_value(previous.subscriber_growth, 200)
    assert_value(previous.subscriber_growth_percent, 20)
    assert (previous.posts, previous.posts_with_samples) == (3, 2)
    assert_value(previous.views_per_post, 300)
    assert_value(previous.forwards_per_post, 3)
    assert_value(previous.replies_per_post, 1.5)
    assert_value(previous.reactions_per_post, 7)

    assert response.data_as_of.ToDatetime(tzinfo=UTC) == t(16)


async def test_overview_equals_the_hand_computed_numbers(
    analytics: AnalyticsClient, pool: asyncpg.Pool, channel_id: int
) -> None:
    await seed_channel(
        pool, channel_id, title="Hand-computed", subscribers=SUBSCRIBERS, posts=POSTS
    )
    response = await analytics.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(
            channel_id=channel_id, period_start=stamp(t(8)), period_end=stamp(t(15))
        )
    )
    assert response.channel_id == channel_id
    assert_hand_computed_overview(response)


async def test_without_a_period_the_overview_covers_the_last_seven_days(
    analytics: AnalyticsClient, pool: asyncpg.Pool, channel_id: int, server_now: datetime
) -> None:
    assert server_now == t(15)
    await seed_channel(
        pool, channel_id, title="Hand-computed", subscribers=SUBSCRIBERS, posts=POSTS
    )
    response = await analytics.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    )
    assert_hand_computed_overview(response)


async def test_only_an_end_means_the_seven_days_before_it(
    analytics: AnalyticsClient, pool: asyncpg.Pool, channel_id: int
) -> None:
    await seed_channel(
        pool, channel_id, title="Hand-computed", subscribers=SUBSCRIBERS, posts=POSTS
    )
    response = await analytics.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id, period_end=stamp(t(15)))
    )
    assert_hand_computed_overview(response)


async def test_a_channel_without_data_is_not_enough_data_never_zero(
    analytics: AnalyticsClient, pool: asyncpg.Pool, channel_id: int
) -> None:
    await seed_channel(pool, channel_id, title="Empty")
    response = await analytics.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    )
    no_samples, no_posts = (
        metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES,
        metric_pb2.UNAVAILABLE_REASON_NO_POSTS,
    )
    for stats in (response.current, response.previous):
        for metric in (
            stats.subscribers_start,
            stats.subscribers_end,
            stats.subscriber_growth,
            stats.subscriber_growth_percent,
        ):
            assert_unavailable(metric, no_samples)
        assert (stats.posts, stats.posts_with_samples) == (0, 0)
        for metric in (
            stats.views_per_post,
            stats.forwards_per_post,
            stats.replies_per_post,
            stats.reactions_per_post,
        ):
            assert_unavailable(metric, no_posts)
    assert not response.HasField("data_as_of")


async def test_posts_not_yet_sampled_are_not_enough_data(
    analytics: AnalyticsClient, pool: asyncpg.Pool, channel_id: int
) -> None:
    # One post on Mar 14 23:00 whose first sample comes after the period's end, and a
    # channel with zero subscribers at the start: growth 0 -> 40 is +40, percent undefined.
    await seed_channel(
        pool,
        channel_id,
        subscribers=[(t(1), 0), (t(10), 40)],
        posts=[SeedPost(1, t(14, 23), [Snapshot(t(15, 2), 10, 0, 0, 0)])],
    )
    response = await analytics.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(
            channel_id=channel_id, period_start=stamp(t(8)), period_end=stamp(t(15))
        )
    )
    current = response.current
    assert (current.posts, current.posts_with_samples) == (1, 0)
    assert_unavailable(current.views_per_post, metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES)
    assert_value(current.subscriber_growth, 40)
    assert_unavailable(
        current.subscriber_growth_percent, metric_pb2.UNAVAILABLE_REASON_ZERO_DENOMINATOR
    )


async def test_data_as_of_is_the_freshest_of_refresh_and_samples(
    analytics: AnalyticsClient,
    pool: asyncpg.Pool,
    channel_id: int,
    cache: ResponseCache,
    redis_client: redis.Redis,
    prefix: str,
    hub: EventHub,
) -> None:
    # No subscriber samples; a post sample at Mar 12 and a collector refresh at Mar 14 06:00.
    await seed_channel(
        pool,
        channel_id,
        posts=[SeedPost(1, t(11), [Snapshot(t(12), 10, 0, 0, 0)])],
        last_refresh_at=t(14, 6),
    )
    request = analytics_pb2.GetChannelOverviewRequest(
        channel_id=channel_id, period_start=stamp(t(8)), period_end=stamp(t(15))
    )
    response = await analytics.GetChannelOverview(request)
    assert response.data_as_of.ToDatetime(tzinfo=UTC) == t(14, 6)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE collection_state SET last_refresh_at = $2 WHERE channel_id = $1",
            channel_id,
            t(10),
        )
    # The collector's event after such a commit: the ingest worker drops the cached
    # answer, the event hub hears it (answers shared in process go with it).
    await cache.invalidate(channel_id)
    await publish_and_hear(redis_client, prefix, hub, channel_id, t(14))
    response = await analytics.GetChannelOverview(request)
    assert response.data_as_of.ToDatetime(tzinfo=UTC) == t(12)


async def test_unknown_channel_is_not_found(analytics: AnalyticsClient, channel_id: int) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await analytics.GetChannelOverview(
            analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == f"channel {channel_id} is not tracked"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (t(15), t(15), "must be before"),
        (t(15), t(8), "must be before"),
        (t(1, month=1) - timedelta(days=366), t(2, month=1), "at most 366 days"),
    ],
)
async def test_a_bad_period_is_invalid_argument(
    analytics: AnalyticsClient,
    pool: asyncpg.Pool,
    channel_id: int,
    start: datetime,
    end: datetime,
    message: str,
) -> None:
    await seed_channel(pool, channel_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await analytics.GetChannelOverview(
            analytics_pb2.GetChannelOverviewRequest(
                channel_id=channel_id, period_start=stamp(start), period_end=stamp(end)
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")


async def test_a_non_positive_channel_id_is_invalid_argument(analytics: AnalyticsClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await analytics.GetChannelOverview(analytics_pb2.GetChannelOverviewRequest(channel_id=0))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "channel_id must be a positive integer" in (caught.value.details() or "")


async def test_health_is_serving(grpc_channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(grpc_channel)
    for service in ("", "analyticbot.analytics.v1.AnalyticsService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(grpc_channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(grpc_channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names: set[str] = set()
    async for reply in reflection.ServerReflectionInfo(iter([request])):
        names.update(service.name for service in reply.list_services_response.service)
    assert "analyticbot.analytics.v1.AnalyticsService" in names
    assert "grpc.health.v1.Health" in names
