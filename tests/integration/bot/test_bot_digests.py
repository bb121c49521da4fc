# ruff: noqa: RUF001 - the captions are checked in Russian, Cyrillic letters and all
"""Digests through the real aiogram Bot against the fake Bot API, with the real auth
(the user's channels) and analytics (overview, subscriber series) services over rows
inserted with plain SQL: due at the user's hour in their time zone, one chart per
channel with the analytics numbers in the user's language, exactly once per period."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiogram import Bot
from PIL import Image

from services.bot import repository as repo
from services.bot.chart import HEIGHT, WIDTH
from services.bot.digests import DigestScheduler
from services.bot.i18n import Language
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.peers import Admin, Peers
from services.bot.repository import DigestFrequency
from tests.integration.bot.fake_telegram import Call, FakeTelegram, forbidden, server_error
from tests.integration.bot.peer_servers import peer_servers

TASHKENT = "Asia/Tashkent"  # UTC+5 all year round
BERLIN = "Europe/Berlin"  # UTC+1 in March 2025 until the 30th
CHART_LINE = (42, 129, 230)
IDS_PER_TEST = 100


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2025, UTC. Monday is the 10th."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Post:
    message_id: int
    published_at: datetime
    sampled_at: datetime
    views: int


@dataclass(frozen=True)
class Digests:
    scheduler: DigestScheduler
    peers: Peers


@pytest.fixture
async def digests(
    pool: asyncpg.Pool, bot: Bot, links: MiniAppLinks, unique_id: int
) -> AsyncIterator[Digests]:
    async with peer_servers(pool) as servers:
        scheduler = DigestScheduler(
            pool=pool,
            peers=servers.peers,
            bot=bot,
            limits=SendLimits(chat_interval=0.05),
            links=links,
            consumer="digest-test",
        )
        yield Digests(scheduler, servers.peers)
    # Users and channels of this test live in [unique_id, unique_id + IDS_PER_TEST):
    # forget them, so no later tick of another test finds this test's users due.
    last = unique_id + IDS_PER_TEST
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM bot_deliveries WHERE user_id >= $1 AND user_id < $2", unique_id, last
        )
        await conn.execute(
            "DELETE FROM bot_users WHERE user_id >= $1 AND user_id < $2", unique_id, last
        )
        await conn.execute("DELETE FROM channels WHERE id >= $1 AND id < $2", unique_id, last)
        await conn.execute("DELETE FROM users WHERE id >= $1 AND id < $2", unique_id, last)


async def digest_user(
    pool: asyncpg.Pool,
    user_id: int,
    *,
    language: Language,
    frequency: DigestFrequency,
    hour: int,
    zone: str,
) -> None:
    async with pool.acquire() as conn:
        await repo.ensure_user(conn, user_id, language)
        await repo.update_user(
            conn, user_id, digest_frequency=frequency, digest_hour=hour, time_zone=zone
        )


async def owned_channel(
    pool: asyncpg.Pool,
    peers: Peers,
    owner: int,
    channel_id: int,
    title: str,
    *,
    subscribers: Sequence[tuple[datetime, int]],
    posts: Sequence[Post] = (),
) -> None:
    """A channel with its rows, and ``owner`` granted owner by the auth service as the
    bot's administrator sync does."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, $2)", channel_id, title)
        await conn.executemany(
            "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
            "VALUES ($1, $2, $3)",
            [(channel_id, at, count) for at, count in subscribers],
        )
        for post in posts:
            post_id = await conn.fetchval(
                "INSERT INTO posts (channel_id, message_id, published_at) "
                "VALUES ($1, $2, $3) RETURNING id",
                channel_id,
                post.message_id,
                post.published_at,
            )
            await conn.execute(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies, "
                "reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
                post_id,
                post.sampled_at,
                post.views,
            )
    await peers.sync_admins(channel_id, [Admin(owner, "Ann", "", "", is_creator=True)])


def photos_to(telegram: FakeTelegram, user_id: int) -> list[Call]:
    return [c for c in telegram.calls if c.method == "sendPhoto" and c.chat_id == user_id]


def channel_of(call: Call) -> int:
    """The channel a digest is about: its button opens that channel's dashboard."""
    url = str(call.params["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"])
    return int(url.rsplit("startapp=channel_", 1)[1])


async def ledger(pool: asyncpg.Pool, user_id: int) -> dict[str, tuple[str, int | None, int]]:
    rows = await pool.fetch(
        "SELECT delivery_key, state, message_id, attempts FROM bot_deliveries "
        "WHERE user_id = $1 AND kind = 'digest'",
        user_id,
    )
    return {r["delivery_key"]: (r["state"], r["message_id"], r["attempts"]) for r in rows}


# A daily digest due at 09:00 Tashkent = 04:00 UTC, sent on Monday Mar 10 at 04:07 UTC:
# it covers [Mar 9 04:07, Mar 10 04:07).
#   Alpha: subscribers 1000 at the start (the Mar 9 00:00 sample), 1234 at the end
#   (Mar 10 03:00): +234, +23.4 %. Posts 1 and 2 in the period, 1500 and 2600 views:
#   2050 per post. Post 3 is older and its 99,999 views do not count.
#   Beta: one sample of 500 long before: 500, +0, +0.0 %; no posts: n/a.
ALPHA_SUBSCRIBERS = [(utc(9, 0), 1000), (utc(9, 12), 1100), (utc(10, 3), 1234), (utc(10, 5), 9)]
ALPHA_POSTS = [
    Post(1, utc(9, 10), utc(10, 1), 1500),
    Post(2, utc(9, 20), utc(10, 2), 2600),
    Post(3, utc(8, 12), utc(9, 0), 99_999),
]


async def test_a_daily_digest_is_one_chart_per_channel_at_the_local_hour_exactly_once(
    digests: Digests, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    user, alpha, beta = unique_id, unique_id + 1, unique_id + 2
    await digest_user(pool, user, language="ru", frequency="daily", hour=9, zone=TASHKENT)
    await owned_channel(
        pool,
        digests.peers,
        user,
        alpha,
        "Alpha",
        subscribers=ALPHA_SUBSCRIBERS,
        posts=ALPHA_POSTS,
    )
    await owned_channel(pool, digests.peers, user, beta, "Beta", subscribers=[(utc(1, 0), 500)])
    now = utc(10, 4, 7)

    assert await digests.scheduler.tick(now) == 2

    photos = {channel_of(c): c for c in photos_to(telegram, user)}
    assert set(photos) == {alpha, beta}
    assert all(c.status == 200 for c in photos.values())
    assert photos[alpha].params["caption"] == (
        "🗞 <b>Alpha</b>, последние 24 часа\n"
        "Подписчики: 1,234 (+234, +23.4%)\nПосты: 2\nПросмотров на пост: 2,050"
    )
    assert photos[beta].params["caption"] == (
        "🗞 <b>Beta</b>, последние 24 часа\n"
        "Подписчики: 500 (+0, +0.0%)\nПосты: 0\nПросмотров на пост: н/д"
    )
    # Those are the analytics service's numbers for the digest's day.
    overview = (await digests.peers.overview(alpha, now - timedelta(days=1), now)).current
    assert overview.subscribers_end.value == 1234
    assert overview.subscriber_growth.value == 234
    assert overview.subscriber_growth_percent.value == pytest.approx(23.4)
    assert overview.posts == 2
    assert overview.views_per_post.value == 2050
    button = photos[alpha].params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "📊 Открыть дашборд"
    for call in photos.values():
        (upload,) = call.files.values()
        chart = Image.open(io.BytesIO(upload))
        assert (chart.format, chart.size) == ("PNG", (WIDTH, HEIGHT))
        colors = chart.convert("RGB").getcolors(WIDTH * HEIGHT)
        assert colors is not None
        assert CHART_LINE in {color for _, color in colors}  # the line is drawn
    assert not [c for c in telegram.calls if c.method == "sendMessage" and c.chat_id == user]
    assert await ledger(pool, user) == {
        f"digest:{user}:{channel}:2025-03-10": ("sent", call.result["message_id"], 1)
        for channel, call in photos.items()
    }

    # Later in the same hour (another tick, another replica): nothing again.
    assert await digests.scheduler.tick(utc(10, 4, 59)) == 0
    assert len(photos_to(telegram, user)) == 2
    assert {state for state, _, _ in (await ledger(pool, user)).values()} == {"sent"}

    # The next day at 09:00 Tashkent: the next digest.
    assert await digests.scheduler.tick(utc(11, 4, 7)) == 2
    assert len(photos_to(telegram, user)) == 4
    assert {key.rsplit(":", 1)[1] for key in await ledger(pool, user)} == {
        "2025-03-10",
        "2025-03-11",
    }


async def test_no_digest_at_another_hour_nor_at_the_hour_in_utc(
    digests: Digests, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    user, channel = unique_id, unique_id + 1
    await digest_user(pool, user, language="en", frequency="daily", hour=9, zone=TASHKENT)
    await owned_channel(pool, digests.peers, user, channel, "Delta", subscribers=ALPHA_SUBSCRIBERS)
    # 08:59 and 10:00 in Tashkent; 09:07 UTC is 14:07 there.
    for moment in (utc(10, 3, 59), utc(10, 5, 0), utc(10, 9, 7)):
        assert await digests.scheduler.tick(moment) == 0
    assert photos_to(telegram, user) == []
    assert await ledger(pool, user) == {}


async def test_a_weekly_digest_covers_seven_days_and_comes_on_mondays_only(
    digests: Digests, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    user, channel = unique_id, unique_id + 1
    await digest_user(pool, user, language="en", frequency="weekly", hour=8, zone=BERLIN)
    # Over [Mar 3 07:10, Mar 10 07:10): 800 -> 1000 is +200, +25 %. A daily digest
    # would have started at 900 (the Mar 5 sample).
    await owned_channel(
        pool,
        digests.peers,
        user,
        channel,
        "Gamma",
        subscribers=[(utc(1, 0), 800), (utc(5, 0), 900), (utc(10, 6), 1000)],
    )
    # 08:10 in Berlin on Sunday the 9th, Tuesday the 11th and Wednesday the 12th.
    for moment in (utc(9, 7, 10), utc(11, 7, 10), utc(12, 7, 10)):
        assert await digests.scheduler.tick(moment) == 0
    assert photos_to(telegram, user) == []

    assert await digests.scheduler.tick(utc(10, 7, 10)) == 1
    (photo,) = photos_to(telegram, user)
    assert photo.params["caption"] == (
        "🗞 <b>Gamma</b>, the last 7 days\n"
        "Subscribers: 1,000 (+200, +25.0%)\nPosts: 0\nViews per post: n/a"
    )
    assert await ledger(pool, user) == {
        f"digest:{user}:{channel}:2025-W11": ("sent", photo.result["message_id"], 1)
    }
    assert await digests.scheduler.tick(utc(10, 7, 50)) == 0
    assert await digests.scheduler.tick(utc(17, 7, 10)) == 1
    assert set(await ledger(pool, user)) == {
        f"digest:{user}:{channel}:2025-W11",
        f"digest:{user}:{channel}:2025-W12",
    }


async def test_a_user_who_blocked_the_bot_is_marked_and_not_tried_again(
    digests: Digests, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    user = unique_id
    await digest_user(pool, user, language="en", frequency="daily", hour=9, zone=TASHKENT)
    for channel in (unique_id + 1, unique_id + 2):
        await owned_channel(
            pool, digests.peers, user, channel, f"C{channel}", subscribers=ALPHA_SUBSCRIBERS
        )
    telegram.rules.append(lambda call: forbidden() if call.chat_id == user else None)
    now = utc(10, 4, 7)

    assert await digests.scheduler.tick(now) == 0

    (attempt,) = photos_to(telegram, user)
    assert attempt.status == 403
    blocked_at = await pool.fetchval("SELECT blocked_at FROM bot_users WHERE user_id = $1", user)
    assert blocked_at == now
    (entry,) = await pool.fetch(
        "SELECT delivery_key, state, detail FROM bot_deliveries WHERE user_id = $1", user
    )
    assert entry["delivery_key"] == f"digest:{user}:{channel_of(attempt)}:2025-03-10"
    assert entry["state"] == "failed"
    assert "blocked" in entry["detail"]

    # Neither later this hour nor the next day.
    for moment in (utc(10, 4, 30), utc(11, 4, 7)):
        assert await digests.scheduler.tick(moment) == 0
    assert len(photos_to(telegram, user)) == 1

    # Writing to the bot again unblocks it: the next digest arrives.
    telegram.rules.clear()
    async with pool.acquire() as conn:
        assert not (await repo.ensure_user(conn, user, "en")).blocked
    assert await digests.scheduler.tick(utc(12, 4, 7)) == 2


async def test_a_telegram_server_error_leaves_the_digest_to_the_next_round(
    digests: Digests, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    """The scheduler's own loop, on the wall clock: Telegram answers the first send with
    a 500; the loop keeps running and the next round sends the digest, once."""
    now = datetime.now(UTC)
    left_in_hour = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left_in_hour < 3:  # both rounds must fall within the digest's hour
        await asyncio.sleep(left_in_hour + 0.01)
        now = datetime.now(UTC)
    user, channel = unique_id, unique_id + 1
    await digest_user(pool, user, language="en", frequency="daily", hour=now.hour, zone="UTC")
    await owned_channel(
        pool,
        digests.peers,
        user,
        channel,
        "Epsilon",
        subscribers=[(now - timedelta(days=2), 10), (now - timedelta(hours=1), 20)],
    )
    failures = iter([server_error()])
    telegram.rules.append(lambda call: next(failures, None) if call.chat_id == user else None)
    stop = asyncio.Event()
    loop = asyncio.create_task(digests.scheduler.run(stop, interval=0.05))
    try:
        await telegram.wait_for(
            lambda: loop.done() or any(c.status == 200 for c in photos_to(telegram, user)),
            within=5,
        )
        assert not loop.done(), "the digest loop ended on Telegram's 500"
    finally:
        stop.set()
        await loop
    assert [c.status for c in photos_to(telegram, user)] == [500, 200]
    ((state, message_id, attempts),) = (await ledger(pool, user)).values()
    assert (state, attempts) == ("sent", 2)
    assert message_id == photos_to(telegram, user)[1].result["message_id"]
