"""The answers the gateways keep in memory (gateway/answer_memo.py ``memoizable`` and
``keepable``) are exactly the ones analytics itself caches until an ingest event drops
them: a period with an end, never "until now"; a post's detail once no reach waits for
the post to age, never a young post's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import asyncpg
import pytest
import redis.asyncio as redis
from google.protobuf.message import Message

from analyticbot.analytics.v1 import analytics_pb2, posts_pb2, series_pb2
from analyticbot.runtime.kept_answers import KEPT_READS
from gateway.answer_memo import keepable, memoizable
from tests.integration.analytics.dataset import X, Y, seed, t

if TYPE_CHECKING:
    from analyticbot.analytics.v1.analytics_pb2_grpc import (
        AnalyticsServiceAsyncStub as AsyncStub,
    )


Stored = Callable[[], Awaitable[int]]


@pytest.fixture
def stored(redis_client: redis.Redis, prefix: str, channel_id: int) -> Stored:
    """How many answers analytics has cached for the test's channel."""
    return lambda: redis_client.hlen(f"{prefix}cache:{channel_id}")


def _requests(channel_id: int) -> dict[str, Message]:
    return {
        "GetChannelOverview": analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id),
        "GetBestTime": series_pb2.GetBestTimeRequest(channel_id=channel_id),
    }


async def test_analytics_caches_what_the_gateways_keep(
    stub: AsyncStub, pool: asyncpg.Pool, channel_id: int, stored: Stored
) -> None:
    await seed(pool, channel_id)
    requests = _requests(channel_id)
    assert set(requests) | {"GetPost"} == KEPT_READS
    for method, request in requests.items():
        call = getattr(stub, method)
        before = await stored()
        await call(request)  # until now: not memoizable, not cached
        assert not memoizable(method, request)
        assert await stored() == before
        closed = type(request)()
        closed.CopyFrom(request)
        getattr(closed, "period_start").FromDatetime(t(8))  # noqa: B009
        getattr(closed, "period_end").FromDatetime(t(15))  # noqa: B009
        await call(closed)
        assert memoizable(method, closed)
        assert await stored() == before + 1, method


async def test_analytics_caches_the_post_details_the_gateways_keep(
    stub: AsyncStub, pool: asyncpg.Pool, channel_id: int, stored: Stored
) -> None:
    """X is 5 days old at the server's clock: every reach is known, the detail is kept.
    Y is 4 hours old: its reach@12h waits for it to age, so it is asked again."""
    await seed(pool, channel_id)
    for message_id, kept in ((Y, False), (X, True)):
        request = posts_pb2.GetPostRequest(channel_id=channel_id, message_id=message_id)
        assert memoizable("GetPost", request)
        before = await stored()
        answer = await stub.GetPost(request)
        assert keepable("GetPost", answer) is kept
        assert await stored() == before + kept, message_id
        assert await stub.GetPost(request) == answer
