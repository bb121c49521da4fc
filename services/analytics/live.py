"""One overview per channel and ingest event, shared by every ``WatchChannel`` stream.

A thousand streams on one channel must not mean a thousand overview computations per
commit. ``EventHub`` numbers each channel's events (its *generation*); a stream that has
seen generation g asks ``SharedOverviews.get(channel, g)`` and either joins the
computation already started for g or later, or starts one. A computation started after
event g was delivered reads everything g committed, so sharing it loses nothing. An
answer older than ``max_age`` is not handed to a newly opened stream (the period "until
now" moves with the clock), and a failed computation is not shared with later callers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    generation: int
    started: float
    task: asyncio.Future[T]


class SharedOverviews(Generic[T]):
    """The newest computation per channel, keyed by the event generation it covers."""

    def __init__(
        self,
        compute: Callable[[int], Awaitable[T]],
        *,
        max_age_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._entries: dict[int, _Entry[T]] = {}
        self.computations = 0

    def _usable(self, entry: _Entry[T] | None, generation: int, now: float) -> bool:
        if entry is None or entry.generation < generation:
            return False
        if not entry.task.done():
            return True
        if entry.task.cancelled() or entry.task.exception() is not None:
            return False
        return now - entry.started <= self._max_age

    async def get(self, channel_id: int, generation: int) -> T:
        """The channel's answer computed after event ``generation`` was delivered."""
        now = self._monotonic()
        entry = self._entries.get(channel_id)
        if not self._usable(entry, generation, now):
            entry = _Entry(generation, now, asyncio.ensure_future(self._compute(channel_id)))
            self._entries[channel_id] = entry
            self.computations += 1
        assert entry is not None
        # One caller going away must not cancel the computation the others wait for.
        return await asyncio.shield(entry.task)

    def forget(self, channel_id: int) -> None:
        """Drop the channel's entry (its last stream closed)."""
        self._entries.pop(channel_id, None)
