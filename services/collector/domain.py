"""Collector domain: what a channel and a post look like, the refresh cadence, errors.

Everything here is pure (no I/O) so the Telethon adapter, the simulator and the
ingestion code share one vocabulary.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from analyticbot.runtime.errors import (
    AlreadyExists,
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)


class CollectorError(DomainError):
    """Base of every collector failure a caller can understand."""


class InvalidReference(CollectorError, InvalidArgument):
    """A channel reference that is neither a username, a t.me link nor a numeric id."""


class ChannelNotFound(CollectorError, NotFound):
    """Telegram (or the simulator) knows no such channel."""


class ChannelNotTracked(CollectorError, NotFound):
    """The channel exists but is not tracked by the collector."""


class ChannelConflict(CollectorError, AlreadyExists):
    """Another tracked channel already uses this username."""


class InvalidRequest(CollectorError, InvalidArgument):
    """A malformed request field (page size, page token, time zone)."""


class SourceUnavailable(CollectorError, Unavailable):
    """The Telegram source cannot answer now; the work is retried later."""


class StatsForbidden(CollectorError, PermissionDenied):
    """The account may not read the channel's native statistics (not an admin)."""


class AccountsResting(SourceUnavailable):
    """Every usable MTProto account rests (FloodWait) past the caller's deadline.

    ``retry_at`` is the earliest instant an account is usable again (None when no
    account is held at all).
    """

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass(frozen=True)
class ChannelRef:
    """What a user typed to name a channel: exactly one of username or channel_id."""

    username: str | None = None
    channel_id: int | None = None

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.channel_id)


_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([^/?#]+)/?(?:[?#].*)?$")


def parse_reference(reference: str) -> ChannelRef:
    """Parse ``@name``, ``name``, ``https://t.me/name`` or a numeric id (``-100`` prefix ok)."""
    text = reference.strip()
    if not text:
        raise InvalidReference("reference is empty: give @username, a t.me link or a channel id")
    if re.fullmatch(r"-?\d+", text):
        number = int(text)
        if number < 0:
            digits = str(-number)
            if not digits.startswith("100") or len(digits) < 4:
                raise InvalidReference(f"{text!r} is not a channel id")
            number = int(digits[3:])
        if number <= 0:
            raise InvalidReference(f"{text!r} is not a channel id")
        return ChannelRef(channel_id=number)
    link = _LINK.match(text)
    name = link.group(1) if link else text.removeprefix("@")
    if not _USERNAME.match(name):
        raise InvalidReference(f"{reference!r} is not a valid channel username or link")
    return ChannelRef(username=name)


@dataclass(frozen=True)
class ChannelInfo:
    """A resolved channel as Telegram describes it."""

    channel_id: int
    username: str | None
    title: str


@dataclass(frozen=True)
class FullChannel:
    """The full channel record: the subscriber count and what the account may read."""

    channel_id: int
    participants_count: int | None
    can_view_stats: bool
    stats_dc: int | None = None
    linked_chat_id: int | None = None


@dataclass(frozen=True)
class PostData:
    """One channel message as the source reports it at one instant, counters included."""

    message_id: int
    published_at: datetime
    edited_at: datetime | None
    media_type: str
    text_preview: str
    grouped_id: int | None
    views: int
    forwards: int
    replies: int
    reactions: dict[str, int] = field(default_factory=dict)

    @property
    def reactions_total(self) -> int:
        return sum(self.reactions.values())


@dataclass(frozen=True)
class HistoryPage:
    """Up to ``limit`` messages, newest first, and the history size Telegram reports.

    ``oldest_id`` is the lowest message id of the page including service messages
    (which are not posts); it is the cursor of the next page. None means "the lowest
    post id" (sources without service messages leave it unset).
    """

    posts: list[PostData]
    total: int
    oldest_id: int | None = None

    @property
    def cursor(self) -> int | None:
        """Where the next (older) page starts; None for an empty page."""
        if self.oldest_id is not None:
            return self.oldest_id
        return min((p.message_id for p in self.posts), default=None)


@dataclass(frozen=True)
class BroadcastStats:
    """One collection of Telegram's native channel statistics (``stats.broadcastStats``).

    ``period`` is the window Telegram reported (``<from>/<to>``, ISO 8601);
    ``payload`` the whole response as JSON-ready data, async graphs loaded.
    """

    period: str
    payload: dict[str, object]


@dataclass(frozen=True)
class PostBatch:
    """The current state of requested messages; ``missing`` ids no longer exist.

    A missing id is an explicit deletion observation (Telegram answers
    ``MessageEmpty``); it is the only way the collector learns a post was deleted.
    """

    posts: list[PostData]
    missing: frozenset[int]


def dedupe_posts(posts: list[PostData]) -> list[PostData]:
    """One entry per message id (the last one wins), ordered by message id."""
    return sorted({p.message_id: p for p in posts}.values(), key=lambda p: p.message_id)


# Ages at which a post is sampled. Dense while young, sparse when old, anchored on the
# publication time so that samples land exactly on 12 h, 24 h and 48 h (the Reach@
# metrics need no interpolation when the collector keeps up). 33 samples in 30 days.
_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
SAMPLE_AGES: tuple[timedelta, ...] = (
    *(10 * _MINUTE * i for i in range(1, 7)),  # every 10 min up to 1 h
    *(_HOUR + 30 * _MINUTE * i for i in range(1, 11)),  # every 30 min up to 6 h
    *(6 * _HOUR + 3 * _HOUR * i for i in range(1, 7)),  # every 3 h up to 24 h
    *(_DAY + 12 * _HOUR * i for i in range(1, 5)),  # every 12 h up to 3 days
    *(3 * _DAY + _DAY * i for i in range(1, 5)),  # daily up to 7 days
    *(7 * _DAY * i for i in range(2, 5)),  # weekly up to 28 days
)
OLD_POST_INTERVAL = 7 * _DAY  # weekly after the table ends


def next_sample_age(age: timedelta) -> timedelta:
    """The first scheduled sample age strictly after ``age``."""
    index = bisect.bisect_right(SAMPLE_AGES, age)
    if index < len(SAMPLE_AGES):
        return SAMPLE_AGES[index]
    last = SAMPLE_AGES[-1]
    steps = (age - last) // OLD_POST_INTERVAL + 1
    return last + steps * OLD_POST_INTERVAL


def next_refresh_at(published_at: datetime, now: datetime) -> datetime:
    """When a post published at ``published_at`` and sampled at ``now`` is next due."""
    return published_at + next_sample_age(max(now - published_at, timedelta(0)))


# A refresh call that is made anyway also takes posts due a little later: up to this
# fraction of their due age early (capped), so one call serves several due times.
# 0.08 stays below the smallest ratio between consecutive sample ages (5.5 h → 6 h),
# so an early sample never makes the schedule skip the next age.
EARLY_FRACTION = 0.08
MAX_EARLY = _DAY


def next_refresh_after_sample(published_at: datetime, now: datetime) -> datetime:
    """Like ``next_refresh_at`` for a sample that may have been taken early: the slot
    it stood for is consumed, so the next one is strictly after it."""
    age = max(now - published_at, timedelta(0))
    return published_at + next_sample_age(min(age / (1 - EARLY_FRACTION), age + MAX_EARLY))


SUBSCRIBER_INTERVAL = _HOUR
# Native statistics change daily at most; collected four times a day where allowed.
STATS_INTERVAL = 6 * _HOUR
NEW_POST_POLL_INTERVAL = 5 * _MINUTE
