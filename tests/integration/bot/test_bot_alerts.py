"""Alert delivery through the real aiogram Bot against the fake Bot API: within the
limits, 429 honoured, 403 final, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable

import asyncpg
import pytest
import redis.asyncio as redis
from aiogram import Bot

from services.bot.alerts import AlertConsumer
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from tests.integration.bot.fake_telegram import Call, FakeTelegram, forbidden, too_many_requests


async def publish(client: redis.Redis, stream: str, alerts: Iterable[tuple[str, int, int]]) -> None:
    """XADD alerts (id, user, channel) as the analytics service does."""
    pipe = client.pipeline(transaction=False)
    for alert_id, user_id, channel_id in alerts:
        pipe.xadd(
            stream,
            {
                "alert_id": alert_id,
                "user_id": user_id,
                "channel_id": channel_id,
                "rule": "post_viral",
                "message_id": 7,
                "text": f"alert {alert_id}",
                "target": f"channel_{channel_id}_post_7",
            },
        )
    await pipe.execute()


def alert_of(call: Call) -> str:
    return str(call.params["text"]).removeprefix("alert ")


def assert_within_limits(calls: list[Call], *, limit: int, period: float, interval: float) -> None:
    """Per chat at least ``interval`` apart; no window of ``period`` with > ``limit``."""
    by_chat: dict[int, list[float]] = defaultdict(list)
    for call in calls:
        by_chat[call.chat_id].append(call.at)
    for chat, times in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= interval for gap in gaps), (chat, min(gaps))
    times = sorted(call.at for call in calls)
    for first, last in zip(times, times[limit:], strict=False):
        assert last - first >= period, f"{limit + 1} requests within {last - first:.3f}s"


async def settled(pool: asyncpg.Pool, prefix: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM bot_deliveries WHERE delivery_key LIKE $1 AND state <> 'sending'",
        prefix + "%",
    )
    return count


@pytest.fixture
async def consume(
    redis_client: redis.Redis,
    pool: asyncpg.Pool,
    bot: Bot,
    links: MiniAppLinks,
    stream_name: str,
) -> AsyncIterator[object]:
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    def start(limits: SendLimits) -> AlertConsumer:
        consumer = AlertConsumer(
            redis_client=redis_client,
            pool=pool,
            bot=bot,
            limits=limits,
            links=links,
            stream=stream_name,
            group="bot",
            consumer="test-consumer",
            claim_idle_seconds=5.0,
        )
        tasks.append(asyncio.create_task(consumer.run(stop)))
        return consumer

    yield start
    stop.set()
    await asyncio.gather(*tasks)
    await redis_client.delete(stream_name)


async def test_a_burst_of_500_alerts_is_delivered_once_each_within_scaled_limits(
    consume: object,
    telegram: FakeTelegram,
    redis_client: redis.Redis,
    pool: asyncpg.Pool,
    stream_name: str,
    unique_id: int,
) -> None:
    users = [unique_id + i for i in range(50)]
    blocked = users[2]
    prefix = f"b{unique_id}-"
    alerts = [(f"{prefix}{n}", users[n % 50], unique_id) for n in range(500)]
    throttled: Counter[int] = Counter()

    def rule(call: Call) -> tuple[int, dict[str, object]] | None:
        if call.chat_id == blocked:
            return forbidden()
        if call.chat_id in users[5:10]:
            throttled[call.chat_id] += 1
            if throttled[call.chat_id] == 3:
                return too_many_requests(1)
        return None

    telegram.rules.append(rule)
    # The analytics service may publish an alert twice (outbox retry): still one message.
    await publish(redis_client, stream_name, alerts + alerts[:20])
    assert callable(consume)
    consume(SendLimits(global_limit=30, period=0.1, chat_interval=0.1))
    deadline = asyncio.get_running_loop().time() + 30
    while await settled(pool, prefix) < 500:
        assert asyncio.get_running_loop().time() < deadline, "alerts were not all settled"
        await asyncio.sleep(0.05)

    delivered = Counter(alert_of(c) for c in telegram.sent())
    expected = {a for a, user, _ in alerts if user != blocked}
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    sends = [c for c in telegram.calls if c.method == "sendMessage"]
    assert_within_limits(sends, limit=30, period=0.1, interval=0.1)
    for chat in users[5:10]:
        attempts = [c for c in sends if c.chat_id == chat]
        refused = next(i for i, c in enumerate(attempts) if c.status == 429)
        retried = attempts[refused + 1]
        assert retried.at - attempts[refused].at >= 1.0
        assert alert_of(retried) == alert_of(attempts[refused])
    assert len([c for c in sends if c.chat_id == blocked]) == 1
    marked = await pool.fetchval(
        "SELECT blocked_at IS NOT NULL FROM bot_users WHERE user_id = $1", blocked
    )
    assert marked is True
    # Each entry is acknowledged just after its delivery is settled in the ledger.
    while (await redis_client.xpending(stream_name, "bot"))["pending"]:
        assert asyncio.get_running_loop().time() < deadline, "settled alerts were not acked"
        await asyncio.sleep(0.05)
    markup = telegram.sent()[0].params["reply_markup"]
    button = markup["inline_keyboard"][0][0]
    assert "startapp=channel_" in button["web_app"]["url"]


async def test_real_limits_hold_for_a_small_burst(
    consume: object,
    telegram: FakeTelegram,
    redis_client: redis.Redis,
    pool: asyncpg.Pool,
    stream_name: str,
    unique_id: int,
) -> None:
    users = [unique_id + i for i in range(45)]
    prefix = f"r{unique_id}-"
    alerts = [(f"{prefix}{n}", users[n % 45], unique_id) for n in range(90)]
    await publish(redis_client, stream_name, alerts)
    assert callable(consume)
    consume(SendLimits())
    deadline = asyncio.get_running_loop().time() + 30
    while await settled(pool, prefix) < 90:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    sends = telegram.sent()
    assert sorted(alert_of(c) for c in sends) == sorted(a for a, _, _ in alerts)
    assert_within_limits(sends, limit=30, period=1.0, interval=1.0)
    # 90 messages at 30 per second cannot take less than two seconds.
    assert sends[-1].at - sends[0].at >= 2.0
