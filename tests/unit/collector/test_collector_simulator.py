"""The simulator is deterministic and its channels look like real ones."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.collector.clock import ManualClock
from services.collector.domain import ChannelNotFound, ChannelRef, PostData
from services.collector.simulator import (
    SimulatedSource,
    channel_id_of,
    is_post,
    number_of,
    post_at,
    profile,
    subscribers_at,
    traits,
    username_of,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def make(seed: int, now: datetime = NOW, days: int = 60) -> tuple[SimulatedSource, ManualClock]:
    clock = ManualClock(now)
    return SimulatedSource(seed, clock, now - timedelta(days=days)), clock


async def whole_history(source: SimulatedSource, channel_id: int) -> list[PostData]:
    posts: list[PostData] = []
    offset = 0
    while True:
        page = await source.get_history(channel_id, offset_id=offset)
        if not page.posts:
            return posts
        posts.extend(page.posts)
        offset = page.posts[-1].message_id


async def test_same_seed_same_answers_and_other_seed_differs() -> None:
    a, _ = make(11)
    b, _ = make(11)
    c, _ = make(12)
    channel = channel_id_of(3)
    first = await a.get_history(channel)
    assert first == await b.get_history(channel)
    assert first.posts != (await c.get_history(channel)).posts
    ids = [p.message_id for p in first.posts]
    assert await a.get_posts(channel, ids) == await b.get_posts(channel, ids)
    assert (await a.get_full_channel(channel)) == (await b.get_full_channel(channel))


async def test_history_pages_walk_back_without_gaps_or_repeats() -> None:
    source, _ = make(5)
    channel = channel_id_of(1)
    posts = await whole_history(source, channel)
    ids = [p.message_id for p in posts]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids)
    assert len(ids) == (await source.get_history(channel)).total
    assert len(ids) > 100  # more than one page
    assert all(p.published_at >= NOW - timedelta(days=60) for p in posts)
    newer = await source.get_history(channel, min_id=ids[5])
    assert [p.message_id for p in newer.posts] == ids[:5]


async def test_posting_follows_human_hours_and_a_daily_rate() -> None:
    night = total = 0
    rates = []
    for number in range(8):
        source, _ = make(21, days=120)
        channel = channel_id_of(number)
        posts = await whole_history(source, channel)
        zone = ZoneInfo(profile(21, number).time_zone)
        hours = [p.published_at.astimezone(zone).hour for p in posts]
        night += sum(1 for h in hours if 1 <= h <= 5)
        total += len(hours)
        rates.append(len(posts) / 120)
    assert night / total < 0.04  # 5 of 24 hours hold under 4 % of posts
    assert all(0.5 <= r <= 8 for r in rates)
    assert max(rates) / min(rates) > 1.5  # channels differ


def test_views_grow_fast_then_saturate_and_other_counters_follow() -> None:
    seed, number = 8, 2
    ratios = []
    for message_id in range(114_000, 116_000):
        if not is_post(seed, number, message_id):
            continue
        t = traits(seed, number, message_id)
        if t.deleted_at is not None:
            continue
        curve = [
            post_at(seed, number, message_id, t.published_at + timedelta(hours=h))
            for h in (0, 1, 6, 24, 72, 24 * 30)
        ]
        views = [p.views if p else -1 for p in curve]
        assert views == sorted(views), "views never go down"
        assert views[0] == 0
        assert views[3] >= 0.85 * views[5]  # most views in the first day
        assert views[4] >= 0.99 * views[5]  # saturated after three days
        last = curve[-1]
        assert last is not None
        if last.views > 2000:
            ratios.append((last.forwards + last.reactions_total) / last.views)
    assert ratios
    assert 0 < min(ratios) <= max(ratios) < 0.2


def test_subscribers_move_both_ways_and_stay_non_negative() -> None:
    counts = [subscribers_at(3, 4, NOW + timedelta(hours=h)) for h in range(24 * 14)]
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert all(c >= 0 for c in counts)
    assert any(s > 0 for s in steps)
    assert any(s < 0 for s in steps)
    assert statistics.pstdev(counts) < 0.1 * statistics.mean(counts)


async def test_some_posts_are_edited_and_deleted_and_deleted_ones_are_missing() -> None:
    seed, number = 13, 6
    source, _ = make(seed, days=200)
    channel = channel_id_of(number)
    posts = await whole_history(source, channel)
    assert any(p.edited_at is not None for p in posts)
    all_traits = [traits(seed, number, p.message_id) for p in posts]
    gone = [t for t in all_traits if t.deleted_at is not None]
    assert not gone  # deleted before NOW, so history no longer lists them
    # Deleted posts exist in the simulated past and are reported missing afterwards.
    earlier, _ = make(seed, now=NOW - timedelta(days=150), days=60)
    before = await whole_history(earlier, channel)
    deleted = [p for p in before if traits(seed, number, p.message_id).deleted_at is not None]
    assert deleted
    batch = await source.get_posts(channel, [p.message_id for p in before])
    assert {p.message_id for p in deleted} <= batch.missing


async def test_channels_resolve_by_username_and_id() -> None:
    source, _ = make(1)
    info = await source.resolve_channel(ChannelRef(username="SIM_TECH_NEWS"))
    assert (info.channel_id, info.username, info.title) == (
        channel_id_of(0),
        "sim_tech_news",
        "Tech News Daily",
    )
    far = await source.resolve_channel(ChannelRef(channel_id=channel_id_of(1234)))
    assert far.username == username_of(1234)
    assert number_of(ChannelRef(username=far.username)) == 1234
    with pytest.raises(ChannelNotFound):
        await source.resolve_channel(ChannelRef(username="durov"))
    with pytest.raises(ChannelNotFound):
        await source.resolve_channel(ChannelRef(channel_id=42))
    assert math.isfinite(profile(1, 0).posts_per_day)
