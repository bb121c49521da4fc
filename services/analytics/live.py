"""One computation per question, channel and ingest event, shared by everyone asking.

A thousand ``WatchChannel`` streams on one channel must not mean a thousand overview
computations per commit, nor a team opening one dashboard the same posts list computed
for each member. ``EventHub`` numbers each channel's events (its *generation*); a caller
that has seen generation g asks ``SharedAnswers.get(key, channel, g, compute)`` and
either joins the computation of that key already started at g or later, or starts one.
A computation started after event g was delivered reads everything g committed, so
sharing it loses nothing. An answer older than ``max_age`` is not handed to a later
caller (answers "until now" move with the clock), and a failed computation is not shared
with later callers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 10_000


@dataclass(slots=True)
class _Entry:
    generation: int
    started: float
    task: asyncio.Future[Any]


class SharedAnswers:
    """The newest computation per key, with the channel event generation it covers."""

    def __init__(
        self,
        *,
        max_age_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._entries: dict[Hashable, _Entry] = {}
        self.computations = 0

    def _usable(self, entry: _Entry | None, generation: int, now: float) -> bool:
        if entry is None or entry.generation < generation:
            return False
        if not entry.task.done():
            return True
        if entry.task.cancelled() or entry.task.exception() is not None:
            return False
        return now - entry.started <= self._max_age

    async def get(self, key: Hashable, generation: int, compute: Callable[[], Awaitable[T]]) -> T:
        """The answer to ``key`` computed after its channel's event ``generation`` was
        delivered: joined if one is running or fresh, else ``compute()`` started."""
        now = self._monotonic()
        entry = self._entries.get(key)
        if not self._usable(entry, generation, now):
            if entry is None and len(self._entries) >= MAX_ENTRIES:
                self._evict(now)
            entry = _Entry(generation, now, asyncio.ensure_future(compute()))
            self._entries[key] = entry
            self.computations += 1
        assert entry is not None
        # One caller going away must not cancel the computation the others wait for.
        answer: T = await asyncio.shield(entry.task)
        return answer

    def _evict(self, now: float) -> None:
        """Drop finished entries too old to be handed out (bounded memory)."""
        for key, entry in list(self._entries.items()):
            if entry.task.done() and now - entry.started > self._max_age:
                del self._entries[key]
