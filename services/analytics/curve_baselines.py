"""The median curve's baseline, kept between post details of one channel.

A post's detail sets its view curve beside the channel's median curve over the posts of
the 30 days before it (``curves``): on a channel with 100,000 posts that is ~2,700 posts'
``views(q, a)`` at nine ages, about 200 ms of decoding and arithmetic per call, and the
next post's window overlaps it by all but a day. ``CurveBaselines`` keeps those values by
UTC day of publication, computed once with ``reach.views_at_ages`` (the one
implementation), so a detail reads the 31 days it spans and computes only the days it
lacks.

A day's values are used only under the version they were read at: the hub's connection
epoch and the channel's event generation, both taken before the read. Any committed
ingest event for the channel (or a lost subscription) makes them stale; so does age
(``max_age_seconds``), the bound on staleness should an event ever be lost on its way.
The memory is bounded by the number of posts kept, least recently used days first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.analytics import posts_repository
from services.analytics.curves import CURVE_AGES
from services.analytics.reach import Ratio, views_at_ages
from services.analytics.repository import Connection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)

# ~1.2 KB a post (nine exact ratios): ~60 MB at the bound.
MAX_POSTS = 50_000
MAX_AGE_SECONDS = 300.0

Row = tuple[datetime, tuple[Ratio | None, ...]]


def _day(moment: datetime) -> int:
    return (moment - _EPOCH) // _DAY


@dataclass(slots=True)
class _Day:
    version: Hashable
    made: float
    rows: list[Row]


class CurveBaselines:
    """Per channel and UTC day of publication: each live post's ``views(q, a)`` at
    ``CURVE_AGES``, in publication order."""

    def __init__(
        self,
        *,
        max_posts: int = MAX_POSTS,
        max_age_seconds: float = MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_posts = max_posts
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._days: OrderedDict[tuple[int, int], _Day] = OrderedDict()
        self._posts = 0
        self.days_read = 0

    @property
    def posts(self) -> int:
        """How many posts' values are kept."""
        return self._posts

    async def columns(
        self,
        conn: Connection,
        channel_id: int,
        start: datetime,
        end: datetime,
        version: Hashable,
    ) -> list[list[Ratio]]:
        """``curves.curve_views`` of the posts published in ``[start, end)``: for each
        of ``CURVE_AGES`` the known values, in publication order. ``version`` is the
        channel's event version taken before ``conn``'s transaction began."""
        if end <= start:
            return [[] for _ in CURVE_AGES]
        first, last = _day(start), _day(end - _MICROSECOND)
        now = self._monotonic()
        days: dict[int, list[Row]] = {}
        missing: list[int] = []
        for day in range(first, last + 1):
            key = (channel_id, day)
            kept = self._days.get(key)
            if kept is not None and kept.version == version and now - kept.made < self._max_age:
                self._days.move_to_end(key)
                days[day] = kept.rows
            else:
                missing.append(day)
        if missing:
            days.update(await self._read(conn, channel_id, missing[0], missing[-1], version, now))
        columns: list[list[Ratio]] = [[] for _ in CURVE_AGES]
        for day in range(first, last + 1):
            rows = days[day]
            if day in (first, last):
                rows = [row for row in rows if start <= row[0] < end]
            for _, values in rows:
                for column, value in zip(columns, values, strict=True):
                    if value is not None:
                        column.append(value)
        return columns

    async def _read(
        self,
        conn: Connection,
        channel_id: int,
        first: int,
        last: int,
        version: Hashable,
        now: float,
    ) -> dict[int, list[Row]]:
        """Days ``first..last`` read in one query and kept."""
        posts = await posts_repository.post_curves(
            conn, channel_id, _EPOCH + first * _DAY, _EPOCH + (last + 1) * _DAY
        )
        read: dict[int, list[Row]] = {day: [] for day in range(first, last + 1)}
        for post in posts:
            read[_day(post.published_at)].append(
                (post.published_at, tuple(views_at_ages(post, CURVE_AGES)))
            )
        self.days_read += len(read)
        for day, rows in read.items():
            key = (channel_id, day)
            old = self._days.pop(key, None)
            if old is not None:
                self._posts -= len(old.rows)
            self._days[key] = _Day(version, now, rows)
            self._posts += len(rows)
        while self._posts > self._max_posts and len(self._days) > 1:
            _, dropped = self._days.popitem(last=False)
            self._posts -= len(dropped.rows)
        return read
