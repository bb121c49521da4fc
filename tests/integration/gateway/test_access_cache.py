"""The gateway remembers auth's CheckAccess answers for users only while it hears auth's
relay of grant changes (services/auth/grant_relay.py), forgets a user's answers when a
change of theirs is relayed, and everything when the relay goes quiet or deaf. Here the
test publishes what the relay would, on the app's own topic, through the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from quart import Quart

from analyticbot.auth.v1 import auth_pb2
from gateway.access_cache import AccessCache
from gateway.app import create_app
from gateway.state import gateway_state
from tests.integration.gateway.announce import publish, until
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import CHANNEL_ID, USER_ID, Peers

OVERVIEW = f"/api/v1/channels/{CHANNEL_ID}/overview"


def checks(peers: Peers) -> int:
    return len(peers.log.tokens.get("CheckAccess", []))


@pytest.fixture
async def relayed(make_settings: SettingsFactory) -> AsyncIterator[Quart]:
    app = create_app(make_settings(access_cache_stale_seconds=1.0))
    async with app.test_app():
        yield app


async def _publish(app: Quart, redis_url: str, message: str) -> None:
    async with app.app_context():
        topic = gateway_state().settings.grants_topic
    await publish(redis_url, topic, message)


async def _cache(app: Quart) -> AccessCache:
    async with app.app_context():
        cache = gateway_state().access_cache
    assert cache is not None
    return cache


async def _trusted(app: Quart, redis_url: str) -> AccessCache:
    """The app's cache, once it has heard the relay's ``alive``."""
    cache = await _cache(app)
    await _publish(app, redis_url, "alive")
    await until(lambda: cache.trusted)
    return cache


async def _read(app: Quart, peers: Peers) -> int:
    response = await app.test_client().get(
        OVERVIEW, headers={"Authorization": f"Bearer {peers.token()}"}
    )
    return response.status_code


async def test_answers_are_remembered_while_the_relay_is_alive(
    relayed: Quart, peers: Peers, redis_url: str
) -> None:
    await _trusted(relayed, redis_url)
    assert await _read(relayed, peers) == 200
    asked = checks(peers)
    assert await _read(relayed, peers) == 200
    assert await _read(relayed, peers) == 200
    assert checks(peers) == asked  # answered from memory


async def test_a_relayed_change_is_asked_again_and_applies(
    relayed: Quart, peers: Peers, redis_url: str
) -> None:
    cache = await _trusted(relayed, redis_url)
    assert await _read(relayed, peers) == 200
    peers.auth.removed.add((USER_ID, CHANNEL_ID))  # the grant is gone in auth
    generation = cache.generation
    await _publish(relayed, redis_url, f"u:{USER_ID}")
    await until(lambda: cache.generation > generation)
    await _publish(relayed, redis_url, "alive")
    await until(lambda: cache.trusted)
    assert cache.get(USER_ID, CHANNEL_ID, "view_analytics") is None
    asked = checks(peers)
    assert await _read(relayed, peers) == 404
    assert checks(peers) == asked + 1


async def test_without_a_recent_alive_auth_is_asked_every_time(
    relayed: Quart, peers: Peers, redis_url: str
) -> None:
    cache = await _trusted(relayed, redis_url)
    assert await _read(relayed, peers) == 200
    await until(lambda: not cache.trusted)  # 1 s without an alive
    asked = checks(peers)
    peers.auth.removed.add((USER_ID, CHANNEL_ID))
    assert await _read(relayed, peers) == 404
    assert checks(peers) == asked + 1


async def test_deaf_drops_everything_at_once(relayed: Quart, peers: Peers, redis_url: str) -> None:
    cache = await _trusted(relayed, redis_url)
    assert await _read(relayed, peers) == 200
    await _publish(relayed, redis_url, "deaf")
    await until(lambda: not cache.trusted)
    asked = checks(peers)
    assert await _read(relayed, peers) == 200
    assert checks(peers) == asked + 1


async def test_an_answer_overtaken_by_a_change_is_not_remembered(
    relayed: Quart, redis_url: str
) -> None:
    cache = await _trusted(relayed, redis_url)
    generation = cache.generation  # taken before asking auth
    cache.forget(USER_ID)  # a change heard while auth was asked
    answer = auth_pb2.CheckAccessResponse(allowed=True, role=auth_pb2.ROLE_OWNER)
    cache.put(USER_ID, CHANNEL_ID, "view_analytics", answer, generation)
    assert cache.get(USER_ID, CHANNEL_ID, "view_analytics") is None
    cache.put(USER_ID, CHANNEL_ID, "view_analytics", answer, cache.generation)
    assert cache.get(USER_ID, CHANNEL_ID, "view_analytics") == answer


async def test_share_tokens_are_always_asked(relayed: Quart, peers: Peers, redis_url: str) -> None:
    await _trusted(relayed, redis_url)
    shared = peers.share_token(peers.share_link())
    headers = {"Authorization": f"Bearer {shared}"}
    client = relayed.test_client()
    asked = checks(peers)
    for _ in range(2):
        assert (await client.get(OVERVIEW, headers=headers)).status_code == 200
    assert checks(peers) == asked + 2


async def test_an_answer_expires_after_its_ttl(redis_url: str) -> None:
    now = [1000.0]
    topic = f"test:grants:{uuid.uuid4().hex}"
    cache = AccessCache(
        redis.Redis.from_url(redis_url),
        topic,
        stale_seconds=100,
        ttl_seconds=10,
        clock=lambda: now[0],
    )
    task = asyncio.create_task(cache.run())
    try:
        await publish(redis_url, topic, "alive")
        await until(lambda: cache.trusted)
        answer = auth_pb2.CheckAccessResponse(allowed=True, role=auth_pb2.ROLE_VIEWER)
        cache.put(USER_ID, CHANNEL_ID, "view_analytics", answer, cache.generation)
        now[0] += 9.9
        assert cache.get(USER_ID, CHANNEL_ID, "view_analytics") == answer
        now[0] += 0.2
        assert cache.get(USER_ID, CHANNEL_ID, "view_analytics") is None
    finally:
        task.cancel()
        await asyncio.wait([task])
        await cache.close()
