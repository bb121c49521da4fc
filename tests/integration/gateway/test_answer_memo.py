"""The gateway keeps analytics' answers of closed periods only while it hears analytics'
announcements (services/analytics/cache.py, events.py), drops a channel's answers when
their invalidation is announced, and everything when analytics goes quiet or deaf. Here
the test publishes what analytics would, on the app's own topic, through the real Redis;
the last test has the real ``ResponseCache`` announce its invalidation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from quart import Quart

from analyticbot.analytics.v1 import analytics_pb2, posts_pb2
from gateway.answer_memo import AnswerMemo, memoizable
from gateway.app import create_app
from gateway.state import gateway_state
from services.analytics.cache import ResponseCache
from tests.integration.gateway.announce import publish, until
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.fake_data import VIRAL_POST_ID
from tests.integration.gateway.gateway_fakes import CHANNEL_ID, Peers

CLOSED = (
    f"/api/v1/channels/{CHANNEL_ID}/overview?start=2025-03-01T00:00:00Z&end=2025-03-08T00:00:00Z"
)
UNTIL_NOW = f"/api/v1/channels/{CHANNEL_ID}/overview"
BEST_TIME = f"/api/v1/channels/{CHANNEL_ID}/best-time?end=2025-03-08T00:00:00Z"


def asked(peers: Peers, method: str = "GetChannelOverview") -> int:
    return len(peers.log.tokens.get(method, []))


@pytest.fixture
async def app(make_settings: SettingsFactory) -> AsyncIterator[Quart]:
    app = create_app(make_settings(answer_memo_seconds=30.0))
    async with app.test_app():
        yield app


async def _topic(app: Quart) -> str:
    async with app.app_context():
        return gateway_state().settings.answers_topic


async def _memo(app: Quart) -> AnswerMemo:
    async with app.app_context():
        memo = gateway_state().answer_memo
    assert memo is not None
    return memo


async def _heard(app: Quart, redis_url: str) -> AnswerMemo:
    """The app's memo, once it has heard analytics' ``alive``."""
    memo = await _memo(app)
    await publish(redis_url, await _topic(app), "alive")
    await until(lambda: memo.trusted)
    return memo


async def _title(app: Quart, peers: Peers, path: str = CLOSED) -> str:
    response = await app.test_client().get(
        path, headers={"Authorization": f"Bearer {peers.token()}"}
    )
    assert response.status_code == 200
    body = await response.get_json()
    return str(body["title"])


async def _read(app: Quart, peers: Peers, path: str, times: int) -> None:
    """GET ``path`` ``times`` times as the test user, each answered 200."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {peers.token()}"}
    for _ in range(times):
        assert (await client.get(path, headers=headers)).status_code == 200


async def test_a_closed_period_is_asked_once_while_analytics_is_heard(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    await _heard(app, redis_url)
    peers.analytics.overview_title = "first"
    assert await _title(app, peers) == "first"
    before = asked(peers)
    peers.analytics.overview_title = "second"  # analytics would still serve its cached copy
    assert [await _title(app, peers) for _ in range(3)] == ["first"] * 3
    assert asked(peers) == before


async def test_an_announced_invalidation_is_asked_again(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    memo = await _heard(app, redis_url)
    peers.analytics.overview_title = "before the commit"
    assert await _title(app, peers) == "before the commit"
    peers.analytics.overview_title = "after the commit"
    generation = memo.generation
    await publish(redis_url, await _topic(app), f"c:{CHANNEL_ID + 1}")  # another channel
    await until(lambda: memo.generation > generation)
    assert await _title(app, peers) == "before the commit"
    await publish(redis_url, await _topic(app), f"c:{CHANNEL_ID}")
    await until(lambda: memo.generation > generation + 1)
    assert await _title(app, peers) == "after the commit"


async def test_until_now_is_always_asked(app: Quart, peers: Peers, redis_url: str) -> None:
    await _heard(app, redis_url)
    before = asked(peers)
    for _ in range(2):
        await _title(app, peers, UNTIL_NOW)
    assert asked(peers) == before + 2


async def test_a_best_time_of_a_closed_period_is_kept_too(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    await _heard(app, redis_url)
    await _read(app, peers, BEST_TIME, 3)
    assert asked(peers, "GetBestTime") == 1


async def test_a_post_detail_is_kept_once_no_reach_waits_for_the_post_to_age(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    await _heard(app, redis_url)
    path = f"/api/v1/channels/{CHANNEL_ID}/posts/{VIRAL_POST_ID}"
    peers.analytics.post_young = True  # analytics would not cache it either
    await _read(app, peers, path, 2)
    assert asked(peers, "GetPost") == 2
    peers.analytics.post_young = False
    await _read(app, peers, path, 3)
    assert asked(peers, "GetPost") == 3


async def test_without_a_recent_alive_analytics_is_asked_every_time(
    make_settings: SettingsFactory, peers: Peers, redis_url: str
) -> None:
    app = create_app(make_settings())
    async with app.test_app():
        memo = await _memo(app)
        memo.relay._stale = 0.5
        await _heard(app, redis_url)
        await _title(app, peers)
        await until(lambda: not memo.trusted)
        before = asked(peers)
        await _title(app, peers)
        await _title(app, peers)
        assert asked(peers) == before + 2


async def test_deaf_drops_everything_at_once(app: Quart, peers: Peers, redis_url: str) -> None:
    memo = await _heard(app, redis_url)
    await _title(app, peers)
    await publish(redis_url, await _topic(app), "deaf")
    await until(lambda: not memo.trusted)
    assert len(memo) == 0
    before = asked(peers)
    await _title(app, peers)
    assert asked(peers) == before + 1


async def test_an_answer_overtaken_by_its_invalidation_is_not_kept(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    memo = await _heard(app, redis_url)
    peers.analytics.overview_gate.clear()  # the call is in flight...
    read = asyncio.create_task(_title(app, peers))
    await until(lambda: asked(peers) == 1)
    generation = memo.generation
    await publish(redis_url, await _topic(app), f"c:{CHANNEL_ID}")  # ...when a commit lands
    await until(lambda: memo.generation > generation)
    peers.analytics.overview_gate.set()
    await read
    await _title(app, peers)
    assert asked(peers) == 2


async def test_a_share_tokens_link_is_checked_before_a_kept_answer(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    await _heard(app, redis_url)
    link = peers.share_link()
    headers = {"Authorization": f"Bearer {peers.share_token(link)}"}
    client = app.test_client()
    checks, reads = asked(peers, "CheckAccess"), asked(peers)
    for _ in range(2):
        assert (await client.get(CLOSED, headers=headers)).status_code == 200
    assert (asked(peers, "CheckAccess"), asked(peers)) == (checks + 2, reads + 1)
    link.link.revoked_at.GetCurrentTime()  # an admin revokes the link
    assert (await client.get(CLOSED, headers=headers)).status_code == 401


def test_only_what_analytics_caches_is_memoizable() -> None:
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=CHANNEL_ID)
    assert not memoizable("GetChannelOverview", request)
    request.period_end.GetCurrentTime()
    assert memoizable("GetChannelOverview", request)
    assert not memoizable("ListPosts", request)
    assert memoizable("GetPost", posts_pb2.GetPostRequest(channel_id=CHANNEL_ID, message_id=1))


async def test_the_response_caches_invalidation_is_heard(
    app: Quart, peers: Peers, redis_url: str
) -> None:
    memo = await _heard(app, redis_url)
    client = redis.Redis.from_url(redis_url)
    cache = ResponseCache(
        client, prefix=f"test:cache:{uuid.uuid4().hex}:", ttl_seconds=60, topic=await _topic(app)
    )
    try:
        peers.analytics.overview_title = "old"
        assert await _title(app, peers) == "old"
        peers.analytics.overview_title = "new"
        generation = memo.generation
        await cache.invalidate(CHANNEL_ID)
        await until(lambda: memo.generation > generation)
        assert await _title(app, peers) == "new"
    finally:
        await client.aclose()
