"""Telegram's send limits: about 30 messages per second in total, one per second per chat.

Not a token bucket (aiolimiter and friends): a bucket of 30 that refills at 30/s lets 60
messages through in the second after an idle spell, which is exactly the burst that
earns a 429. Both limits here hold for *any* window as Telegram sees it:

- per chat, the next request starts ``interval`` after the previous one *finished*
  (its answer arrived), so it reaches Telegram at least ``interval`` after the previous
  one did, whatever the network did in between;
- in total, a request starts only while fewer than ``limit`` requests are in flight or
  finished within the last ``period``: since each arrives before it finishes, no window
  of ``period`` at Telegram can hold more than ``limit`` arrivals.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

Clock = Callable[[], float]
_PURGE_ABOVE = 1024


class WindowLimiter:
    """At most ``limit`` requests in flight or finished within the last ``period`` s."""

    def __init__(self, limit: int, period: float = 1.0, *, clock: Clock = time.monotonic):
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self._limit = limit
        self._period = period
        self._clock = clock
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._changed:
            while True:
                now = self._clock()
                while self._finished and self._finished[0] <= now - self._period:
                    self._finished.popleft()
                if self._in_flight + len(self._finished) < self._limit:
                    break
                if self._finished:
                    wait = self._finished[0] + self._period - now
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=max(wait, 0.001))
                else:
                    await self._changed.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._finished.append(self._clock())
                self._changed.notify_all()


@dataclass
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ready_at: float = 0.0
    users: int = 0


class SendLimits:
    """One request at a time per chat, ``interval`` apart, within the global window."""

    def __init__(
        self,
        *,
        global_limit: int = 30,
        period: float = 1.0,
        chat_interval: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.global_window = WindowLimiter(global_limit, period, clock=clock)
        self._interval = chat_interval
        self._clock = clock
        self._chats: dict[int, _Chat] = {}

    @asynccontextmanager
    async def chat(self, chat_id: int) -> AsyncIterator[ChatTurn]:
        """Hold ``chat_id``'s turn: requests to it made through the turn are spaced."""
        chat = self._chats.get(chat_id)
        if chat is None:
            self._purge()
            chat = self._chats[chat_id] = _Chat()
        chat.users += 1
        try:
            async with chat.lock:
                yield ChatTurn(self, chat)
        finally:
            chat.users -= 1

    def _purge(self) -> None:
        if len(self._chats) < _PURGE_ABOVE:
            return
        now = self._clock()
        for chat_id, chat in list(self._chats.items()):
            if chat.users == 0 and chat.ready_at <= now:
                del self._chats[chat_id]


@dataclass
class ChatTurn:
    """The right to make requests to one chat, one after another."""

    limits: SendLimits
    state: _Chat

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Wait for the chat's spacing and a global slot, then make one request."""
        delay = self.state.ready_at - self.limits._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            async with self.limits.global_window.slot():
                yield
        finally:
            self.state.ready_at = self.limits._clock() + self.limits._interval

    def hold_off(self, seconds: float) -> None:
        """Telegram said retry_after: the next request waits exactly that long."""
        self.state.ready_at = max(self.state.ready_at, self.limits._clock() + seconds)
