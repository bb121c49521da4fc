"""The median curve's baseline, kept between post details of one channel.

A post's detail sets its view curve beside the channel's median curve over the posts of
the 30 days before it (``curves``): on a channel with 100,000 posts that is ~2,700 posts'
``views(q, a)`` at nine ages, about 200 ms of decoding and arithmetic per call, and the
next post's window overlaps it by all but a day. ``CurveBaselines`` keeps those values by
UTC day of publication, computed once with ``reach.views_at_ages`` (the one
implementation), so a detail reads the 31 days it spans and computes only the days it
lacks.

A day's values are used only while its posts' rows are the rows they were computed from:
every detail first reads, in its own transaction, a digest per day of the ids and row
versions (``xmin``) of the window's live posts (``posts_repository.CURVE_DAYS_SQL``, an
index range scan of ~2,700 rows, ~3 ms on the server). Every change that can move a value
(a snapshot through the rollup triggers, a check time, a deletion, a new post) writes a
new row version, so a kept day is never stale, whatever events were heard or lost, and an
ingest event recomputes only the days it touched. Details that lack the same day at the
same moment (a burst after a restart) wait for one read of it. The memory is bounded by
the number of posts kept, least recently used days first.

Values are kept in typed arrays, not as Python objects: each exact ratio as two 64-bit
integers beside its float and publication moment, ~370 bytes a post instead of ~1.4 KB
(measured with tracemalloc on the bench's 100,000-post channel). A ratio too big for 64
bits (a views counter times a gap of months in microseconds can be) is kept as an object
beside its day, and marked by a zero denominator.
"""

from __future__ import annotations

import asyncio
import itertools
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

from services.analytics import posts_repository
from services.analytics.curves import CURVE_AGES, Known
from services.analytics.domain import PostViews
from services.analytics.reach import Ratio, views_at_ages
from services.analytics.repository import Connection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = range(-(2**63), 2**63)

# ~370 bytes a post: ~37 MB at the bound, a 100,000-post channel's whole history.
MAX_POSTS = 100_000


def _retrieved(future: asyncio.Future[_Day]) -> None:
    """Mark a failed read as seen: the details waiting for it read the day themselves."""
    if not future.cancelled():
        future.exception()


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _day(moment: datetime) -> int:
    return (moment - _EPOCH) // _DAY


class Ratios(Sequence[Ratio]):
    """Exact ratios as two arrays of 64-bit integers; a zero denominator marks one kept
    in ``overflow`` under the id in its numerator."""

    __slots__ = ("denominators", "numerators", "overflow")

    def __init__(self, overflow: dict[int, Ratio]) -> None:
        self.numerators = array("q")
        self.denominators = array("q")
        self.overflow = overflow

    def __len__(self) -> int:
        return len(self.numerators)

    @overload
    def __getitem__(self, index: int) -> Ratio: ...

    @overload
    def __getitem__(self, index: slice) -> list[Ratio]: ...

    def __getitem__(self, index: int | slice) -> Ratio | list[Ratio]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        denominator = self.denominators[index]
        if denominator == 0:
            return self.overflow[self.numerators[index]]
        return self.numerators[index], denominator

    def __iter__(self) -> Iterator[Ratio]:
        return (self[i] for i in range(len(self)))


@dataclass(slots=True)
class _Column:
    """One age's known values of a day's posts in publication order: each one's
    publication moment (microseconds since the epoch), float and exact ratio."""

    published: array[int] = field(default_factory=lambda: array("q"))
    floats: array[float] = field(default_factory=lambda: array("d"))
    numerators: array[int] = field(default_factory=lambda: array("q"))
    denominators: array[int] = field(default_factory=lambda: array("q"))

    def add_to(self, values: Ratios, floats: array[float], low: int, high: int) -> None:
        """Append the values ``low:high``."""
        values.numerators.extend(self.numerators[low:high])
        values.denominators.extend(self.denominators[low:high])
        floats.extend(self.floats[low:high])

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """The values published in ``[start, end)`` (microseconds since the epoch)."""
        return bisect_left(self.published, start), bisect_left(self.published, end)


@dataclass(slots=True)
class _Day:
    digest: str | None
    posts: int
    columns: list[_Column]
    overflow: dict[int, Ratio] = field(default_factory=dict)


class CurveBaselines:
    """Per channel and UTC day of publication: each live post's known ``views(q, a)``
    at ``CURVE_AGES``, in publication order."""

    def __init__(self, *, max_posts: int = MAX_POSTS) -> None:
        self._max_posts = max_posts
        self._days: OrderedDict[tuple[int, int], _Day] = OrderedDict()
        self._reading: dict[tuple[int, int], asyncio.Future[_Day]] = {}
        self._overflow_ids = itertools.count()
        self._posts = 0
        self.days_read = 0

    @property
    def posts(self) -> int:
        """How many posts' values are kept."""
        return self._posts

    async def columns(
        self, conn: Connection, channel_id: int, start: datetime, end: datetime
    ) -> list[Known]:
        """``curves.curve_views`` of the posts published in ``[start, end)``: for each
        of ``CURVE_AGES`` the known values, in publication order. ``conn`` should be in a
        repeatable-read transaction (a change between the digests and the read is still
        never served: the day is kept under the older digest and read again next time)."""
        # The call's own overflow entries: its days may be dropped while it still reads.
        overflow: dict[int, Ratio] = {}
        values = [Ratios(overflow) for _ in CURVE_AGES]
        floats = [array("d") for _ in CURVE_AGES]
        if end <= start:
            return [Known(*column) for column in zip(values, floats, strict=True)]
        first, last = _day(start), _day(end - _MICROSECOND)
        digests = await posts_repository.post_days(
            conn, channel_id, _EPOCH + first * _DAY, _EPOCH + (last + 1) * _DAY
        )
        days: dict[int, _Day] = {}
        missing: list[int] = []
        elsewhere: dict[int, asyncio.Future[_Day]] = {}
        for day in range(first, last + 1):
            key = (channel_id, day)
            kept = self._days.get(key)
            if kept is not None and kept.digest == digests.get(day):
                self._days.move_to_end(key)
                days[day] = kept
            elif key in self._reading:
                elsewhere[day] = self._reading[key]
            else:
                missing.append(day)
        if missing:
            days.update(await self._read(conn, channel_id, missing[0], missing[-1], digests))
        # Days another detail is reading: its values serve if read from the same rows.
        again = []
        for day, reading in elsewhere.items():
            try:
                read = await asyncio.shield(reading)
            except Exception:  # noqa: BLE001 - its reader failed: read the day here
                again.append(day)
                continue
            if read.digest == digests.get(day):
                days[day] = read
            else:
                again.append(day)
        if again:
            days.update(await self._read(conn, channel_id, again[0], again[-1], digests))
        start_micros, end_micros = _micros(start), _micros(end)
        for day in range(first, last + 1):
            overflow.update(days[day].overflow)
            for age_values, age_floats, column in zip(
                values, floats, days[day].columns, strict=True
            ):
                if day in (first, last):
                    low, high = column.bounds(start_micros, end_micros)
                else:
                    low, high = 0, len(column.floats)
                column.add_to(age_values, age_floats, low, high)
        return [Known(*column) for column in zip(values, floats, strict=True)]

    async def _read(
        self,
        conn: Connection,
        channel_id: int,
        first: int,
        last: int,
        digests: Mapping[int, str],
    ) -> dict[int, _Day]:
        """Days ``first..last`` read in one query and kept; concurrent details that
        lack one of them wait for this read instead of making their own."""
        announced: dict[int, asyncio.Future[_Day]] = {}
        for day in range(first, last + 1):
            if (channel_id, day) not in self._reading:
                announced[day] = asyncio.get_running_loop().create_future()
                announced[day].add_done_callback(_retrieved)
                self._reading[(channel_id, day)] = announced[day]
        try:
            posts = await posts_repository.post_curves(
                conn, channel_id, _EPOCH + first * _DAY, _EPOCH + (last + 1) * _DAY
            )
            read = self._keep(channel_id, first, last, posts, digests)
        except BaseException as failure:
            for future in announced.values():
                future.set_exception(RuntimeError(f"reading the day failed: {failure!r}"))
            raise
        finally:
            for day, future in announced.items():
                if self._reading.get((channel_id, day)) is future:
                    del self._reading[(channel_id, day)]
        for day, future in announced.items():
            future.set_result(read[day])
        return read

    def _keep(
        self,
        channel_id: int,
        first: int,
        last: int,
        posts: list[PostViews],
        digests: Mapping[int, str],
    ) -> dict[int, _Day]:
        """Days ``first..last`` computed from their posts, and kept."""
        read = {
            day: _Day(digests.get(day), 0, [_Column() for _ in CURVE_AGES])
            for day in range(first, last + 1)
        }
        for post in posts:
            kept = read[_day(post.published_at)]
            kept.posts += 1
            published = _micros(post.published_at)
            for column, value in zip(kept.columns, views_at_ages(post, CURVE_AGES), strict=True):
                if value is None:
                    continue
                numerator, denominator = value
                if numerator not in _INT64 or denominator not in _INT64:
                    numerator, denominator = next(self._overflow_ids), 0
                    kept.overflow[numerator] = value
                column.published.append(published)
                column.floats.append(value[0] / value[1])
                column.numerators.append(numerator)
                column.denominators.append(denominator)
        self.days_read += len(read)
        for day, kept in read.items():
            self._drop((channel_id, day))
            self._days[(channel_id, day)] = kept
            self._posts += kept.posts
        while self._posts > self._max_posts and len(self._days) > 1:
            self._drop(next(iter(self._days)))
        return read

    def _drop(self, key: tuple[int, int]) -> None:
        dropped = self._days.pop(key, None)
        if dropped is not None:
            self._posts -= dropped.posts
