"""A deterministic simulated Telegram: channels that post, get read and grow.

Every value is a pure function of ``(seed, channel number, time)``: a restart, a second
replica or a test asking the same question at the same instant gets the same answer.

- Channel ``n`` has id ``9_000_000_000 + n`` and a username like ``sim_tech_news``
  (``sim_tech_news_<n>`` past the first catalogue round).
- Time is cut into 10-minute slots since 2024-01-01 UTC; slot ``s`` can hold one post
  whose message id is ``s + 1``, so ids grow with time and have gaps, as real ids do.
  A slot posts with a probability following human hours in the channel's time zone
  (few at night) and the channel's 1-6 posts a day, varied per day.
- Views follow ``final * (1 - exp(-age / tau))``: fast growth, then saturation. ``final`` is
  the channel's reach * subscribers * lognormal noise. Forwards, replies and reactions
  (by emoji) are fixed per-post fractions of the views, so every counter only grows.
- Subscribers drift with a per-channel growth rate, a daily wave (joins in the evening,
  leaves in the morning) and hourly noise; never negative.
- About 5 % of posts are edited and 1.5 % deleted some time after publication; a deleted
  id is reported as missing by ``get_posts`` from then on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.collector.clock import Clock
from services.collector.domain import (
    BroadcastStats,
    ChannelInfo,
    ChannelNotFound,
    ChannelRef,
    FullChannel,
    HistoryPage,
    PostBatch,
    PostData,
)
from services.collector.source import MAX_PAGE, TelegramSource

SIM_ID_BASE = 9_000_000_000
SIM_ID_SPAN = 1_000_000_000
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SLOT_SECONDS = 600
SLOTS_PER_DAY = 86_400 // SLOT_SECONDS

CATALOGUE: tuple[tuple[str, str], ...] = (
    ("tech_news", "Tech News Daily"),
    ("crypto_pulse", "Crypto Pulse"),
    ("city_life", "City Life | Evening Edition"),
    ("football_live", "Football Live"),
    ("home_cooking", "Home Cooking with Anna"),
    ("science_digest", "Science Digest"),
    ("travel_notes", "Travel Notes"),
    ("startup_talk", "Startup Talk"),
    ("movie_club", "Movie Club"),
    ("dev_jobs", "Dev Jobs Board"),
    ("finance_brief", "Finance Brief"),
    ("history_pics", "History in Pictures"),
)
TIME_ZONES = ("Europe/Moscow", "Asia/Dubai", "Asia/Tashkent", "Europe/Istanbul", "UTC")
EMOJI = ("👍", "❤", "🔥", "😂", "😢", "👏", "🤔", "🎉")
# Relative posting activity per local hour: quiet at night, peaks late morning and evening.
HOUR_WEIGHTS = (
    0.15, 0.08, 0.05, 0.03, 0.03, 0.08, 0.3, 0.7, 1.0, 1.3, 1.4, 1.3,
    1.2, 1.2, 1.1, 1.0, 1.0, 1.1, 1.3, 1.5, 1.4, 1.1, 0.7, 0.35,
)  # fmt: skip
_WEIGHT_SUM = sum(HOUR_WEIGHTS)
MEDIA = (("text", 0.35), ("photo", 0.4), ("video", 0.15), ("document", 0.05), ("poll", 0.05))
_OPENERS = (
    "Breaking:", "Today:", "Quick update:", "Thread:", "Worth reading:", "Our take:",
    "Weekend read:", "Numbers of the day:",
)  # fmt: skip
_SUBJECTS = (
    "what changed this week", "five things we learned", "the story behind the headline",
    "a short guide for beginners", "an interview you should not miss", "results are in",
    "the best of the month", "why this matters", "a look back", "what comes next",
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """The fixed character of one simulated channel."""

    number: int
    username: str
    title: str
    time_zone: str
    utc_offset_hours: int
    posts_per_day: float
    base_subscribers: float
    growth_per_day: float
    reach: float
    tau_hours: float
    forward_rate: float
    reply_rate: float
    reaction_rate: float
    emoji_weights: tuple[float, ...]
    can_view_stats: bool


@dataclass(frozen=True)
class Traits:
    """The fixed character of one simulated post."""

    message_id: int
    published_at: datetime
    final_views: float
    forward_frac: float
    reply_frac: float
    reaction_fracs: tuple[float, ...]
    media_type: str
    text: str
    grouped_id: int | None
    edited_at: datetime | None
    deleted_at: datetime | None


def channel_id_of(number: int) -> int:
    """The Telegram id of simulated channel ``number``."""
    return SIM_ID_BASE + number


def username_of(number: int) -> str:
    """The username of simulated channel ``number``."""
    topic = CATALOGUE[number % len(CATALOGUE)][0]
    return f"sim_{topic}" if number < len(CATALOGUE) else f"sim_{topic}_{number}"


def number_of(ref: ChannelRef) -> int | None:
    """The simulated channel number ``ref`` names, or None."""
    if ref.channel_id is not None:
        number = ref.channel_id - SIM_ID_BASE
        return number if 0 <= number < SIM_ID_SPAN else None
    name = (ref.username or "").lower()
    if not name.startswith("sim_"):
        return None
    for index, (topic, _) in enumerate(CATALOGUE):
        if name == f"sim_{topic}":
            return index
        prefix = f"sim_{topic}_"
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            number = int(name[len(prefix) :])
            if number % len(CATALOGUE) == index and len(CATALOGUE) <= number < SIM_ID_SPAN:
                return number
    return None


@lru_cache(maxsize=4096)
def profile(seed: int, number: int) -> Profile:
    """The profile of channel ``number`` under ``seed``."""
    rng = random.Random(f"profile:{seed}:{number}")
    topic_title = CATALOGUE[number % len(CATALOGUE)][1]
    title = topic_title if number < len(CATALOGUE) else f"{topic_title} #{number}"
    zone = TIME_ZONES[rng.randrange(len(TIME_ZONES))]
    offset = ZoneInfo(zone).utcoffset(EPOCH)
    raw = [rng.gammavariate(0.8, 1.0) for _ in EMOJI]
    total = sum(raw)
    return Profile(
        number=number,
        username=username_of(number),
        title=title,
        time_zone=zone,
        utc_offset_hours=int(offset.total_seconds() // 3600) if offset else 0,
        posts_per_day=rng.uniform(1.0, 6.0),
        base_subscribers=max(300.0, rng.lognormvariate(math.log(15_000), 0.9)),
        growth_per_day=rng.uniform(-0.0005, 0.003),
        reach=rng.uniform(0.15, 0.6),
        tau_hours=rng.uniform(4.0, 14.0),
        forward_rate=rng.uniform(0.002, 0.02),
        reply_rate=0.0 if rng.random() < 0.3 else rng.uniform(0.0005, 0.004),
        reaction_rate=rng.uniform(0.005, 0.04),
        emoji_weights=tuple(w / total for w in raw),
        can_view_stats=rng.random() < 0.5,
    )


def subscribers_at(seed: int, number: int, when: datetime) -> int:
    """Subscriber count of channel ``number`` at ``when``: trend, daily wave, hourly noise."""
    prof = profile(seed, number)
    hours = (when - EPOCH).total_seconds() / 3600
    trend = prof.base_subscribers * math.exp(prof.growth_per_day * (hours / 24 - 730))
    local_hour = (hours + prof.utc_offset_hours) % 24
    wave = 0.003 * math.sin(2 * math.pi * (local_hour - 9) / 24)
    bucket = math.floor(hours)
    weight = hours - bucket
    noise = (1 - weight) * _unit(seed, number, bucket) + weight * _unit(seed, number, bucket + 1)
    return max(0, round(trend * (1 + wave + 0.002 * noise)))


def _unit(seed: int, number: int, bucket: int) -> float:
    return random.Random(f"noise:{seed}:{number}:{bucket}").uniform(-1.0, 1.0)


@lru_cache(maxsize=65_536)
def day_slots(seed: int, number: int, day: int) -> tuple[int, ...]:
    """Slots (within the day since EPOCH) in which channel ``number`` posts."""
    prof = profile(seed, number)
    rng = random.Random(f"day:{seed}:{number}:{day}")
    per_day = prof.posts_per_day * rng.lognormvariate(0.0, 0.35)
    slots = []
    for slot in range(SLOTS_PER_DAY):
        local_hour = (slot // 6 + prof.utc_offset_hours) % 24
        chance = per_day * HOUR_WEIGHTS[local_hour] / _WEIGHT_SUM / 6
        if rng.random() < chance:
            slots.append(slot)
    return tuple(slots)


def slot_start(message_id: int) -> datetime:
    """The start of the 10-minute slot of ``message_id``."""
    return EPOCH + timedelta(seconds=(message_id - 1) * SLOT_SECONDS)


def is_post(seed: int, number: int, message_id: int) -> bool:
    """True if channel ``number`` ever published ``message_id``."""
    if message_id < 1:
        return False
    day, slot = divmod(message_id - 1, SLOTS_PER_DAY)
    return slot in day_slots(seed, number, day)


@lru_cache(maxsize=131_072)
def traits(seed: int, number: int, message_id: int) -> Traits:
    """The fixed character of post ``message_id`` (which must exist)."""
    prof = profile(seed, number)
    rng = random.Random(f"post:{seed}:{number}:{message_id}")
    published = slot_start(message_id) + timedelta(seconds=rng.randrange(SLOT_SECONDS))
    audience = subscribers_at(seed, number, published) * prof.reach
    raw = [w * rng.gammavariate(2.0, 0.5) for w in prof.emoji_weights]
    total = sum(raw) or 1.0
    media = rng.choices([m for m, _ in MEDIA], weights=[w for _, w in MEDIA])[0]
    text = f"{rng.choice(_OPENERS)} {rng.choice(_SUBJECTS)} (#{message_id % 1000})"
    edited = deleted = None
    if rng.random() < 0.05:
        edited = published + timedelta(seconds=rng.uniform(300, 2 * 86_400))
    if rng.random() < 0.015:
        deleted = published + timedelta(seconds=rng.uniform(3_600, 5 * 86_400))
    return Traits(
        message_id=message_id,
        published_at=published,
        final_views=audience * rng.lognormvariate(0.0, 0.45),
        forward_frac=prof.forward_rate * rng.lognormvariate(0.0, 0.5),
        reply_frac=prof.reply_rate * rng.lognormvariate(0.0, 0.5),
        reaction_fracs=tuple(prof.reaction_rate * r / total for r in raw),
        media_type=media,
        text=text,
        grouped_id=message_id * 10 if media == "photo" and rng.random() < 0.1 else None,
        edited_at=edited,
        deleted_at=deleted,
    )


def _visible(t: Traits, now: datetime) -> bool:
    return t.published_at <= now and (t.deleted_at is None or t.deleted_at > now)


def post_at(seed: int, number: int, message_id: int, now: datetime) -> PostData | None:
    """Post ``message_id`` as seen at ``now``; None if unpublished yet, deleted or absent."""
    if not is_post(seed, number, message_id):
        return None
    t = traits(seed, number, message_id)
    if not _visible(t, now):
        return None
    tau = profile(seed, number).tau_hours * 3600
    age = (now - t.published_at).total_seconds()
    views = math.floor(t.final_views * (1 - math.exp(-age / tau)))
    edited = t.edited_at if t.edited_at is not None and t.edited_at <= now else None
    reactions = {e: math.floor(views * f) for e, f in zip(EMOJI, t.reaction_fracs, strict=True)}
    return PostData(
        message_id=message_id,
        published_at=t.published_at,
        edited_at=edited,
        media_type=t.media_type,
        text_preview=f"{t.text} [updated]" if edited else t.text,
        grouped_id=t.grouped_id,
        views=views,
        forwards=math.floor(views * t.forward_frac),
        replies=math.floor(views * t.reply_frac),
        reactions={e: n for e, n in reactions.items() if n > 0},
    )


class SimulatedSource(TelegramSource):
    """A ``TelegramSource`` over simulated channels, read at ``clock.now()``.

    ``history_start`` bounds how far back ``get_history`` walks (the channel's visible
    history); ``get_posts`` answers for any id, so moving it never "deletes" posts.
    """

    def __init__(self, seed: int, clock: Clock, history_start: datetime) -> None:
        self._seed = seed
        self._clock = clock
        self._first_id = max(1, int((history_start - EPOCH).total_seconds() // SLOT_SECONDS) + 1)

    def profile(self, number: int) -> Profile:
        """The profile of channel ``number`` under this source's seed."""
        return profile(self._seed, number)

    def _number(self, channel_id: int) -> int:
        number = number_of(ChannelRef(channel_id=channel_id))
        if number is None:
            raise ChannelNotFound(f"channel {channel_id} does not exist")
        return number

    async def resolve_channel(self, ref: ChannelRef) -> ChannelInfo:
        number = number_of(ref)
        if number is None:
            raise ChannelNotFound(f"channel {ref} does not exist")
        prof = profile(self._seed, number)
        return ChannelInfo(channel_id_of(number), prof.username, prof.title)

    async def get_full_channel(self, channel_id: int) -> FullChannel:
        number = self._number(channel_id)
        return FullChannel(
            channel_id=channel_id,
            participants_count=subscribers_at(self._seed, number, self._clock.now()),
            can_view_stats=profile(self._seed, number).can_view_stats,
            stats_dc=2 if profile(self._seed, number).can_view_stats else None,
        )

    def _ids_between(self, number: int, low: int, high: int, limit: int) -> list[int]:
        """Posting ids with ``low < id < high``, newest first, at most ``limit``."""
        found: list[int] = []
        if high <= low + 1:
            return found
        day = (high - 2) // SLOTS_PER_DAY
        while day >= 0 and len(found) < limit:
            for slot in reversed(day_slots(self._seed, number, day)):
                message_id = day * SLOTS_PER_DAY + slot + 1
                if low < message_id < high:
                    found.append(message_id)
                    if len(found) == limit:
                        break
            if day * SLOTS_PER_DAY + 1 <= low:
                break
            day -= 1
        return found

    async def get_history(
        self, channel_id: int, *, offset_id: int = 0, min_id: int = 0, limit: int = MAX_PAGE
    ) -> HistoryPage:
        number = self._number(channel_id)
        now = self._clock.now()
        newest = int((now - EPOCH).total_seconds() // SLOT_SECONDS) + 2
        high = min(offset_id, newest) if offset_id > 0 else newest
        low = max(min_id, self._first_id - 1)
        posts: list[PostData] = []
        cursor = high
        while len(posts) < min(limit, MAX_PAGE):
            ids = self._ids_between(number, low, cursor, MAX_PAGE)
            if not ids:
                break
            for message_id in ids:
                post = post_at(self._seed, number, message_id, now)
                if post is not None and len(posts) < min(limit, MAX_PAGE):
                    posts.append(post)
            cursor = ids[-1]
        return HistoryPage(posts=posts, total=self._count(number, now))

    def _count(self, number: int, now: datetime) -> int:
        newest = int((now - EPOCH).total_seconds() // SLOT_SECONDS) + 2
        ids = self._ids_between(number, self._first_id - 1, newest, 10**9)
        return sum(1 for i in ids if _visible(traits(self._seed, number, i), now))

    async def get_broadcast_stats(self, channel_id: int, stats_dc: int | None) -> BroadcastStats:
        from services.collector.simulated_stats import simulated_broadcast_stats

        return simulated_broadcast_stats(self._seed, self._number(channel_id), self._clock.now())

    async def get_posts(self, channel_id: int, message_ids: Sequence[int]) -> PostBatch:
        number = self._number(channel_id)
        now = self._clock.now()
        posts, missing = [], set()
        for message_id in dict.fromkeys(message_ids):
            post = post_at(self._seed, number, message_id, now)
            if post is None:
                missing.add(message_id)
            else:
                posts.append(post)
        return PostBatch(posts=posts, missing=frozenset(missing))
