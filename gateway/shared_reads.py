"""Identical dashboard reads in flight at the same time share one call to analytics.

A read joins the call for the same question (method and request) that has not been sent
yet. A call already on its way was sent before the read arrived, so its answer might
predate a change the reader expects to see (a post it just made, a number the live view
just showed): the read waits for that call to end and goes with the next one, which it
sends itself unless an earlier waiter does. Every answer thus comes from a call sent
after its request arrived, as without sharing; nothing is kept once a call has ended.

Only the answer is shared. A call that fails fails for its sender alone: the readers
that joined it send their own (their errors, stale fallbacks and breaker counts are
their own), and so does every reader when the sender is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class _Flight:
    """One call for one question: its answer, once known (None when it failed)."""

    answer: asyncio.Future[bytes | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    sent: bool = False


class SharedReads:
    """At most one call in flight and one waiting per question."""

    def __init__(self) -> None:
        self._flights: dict[str, _Flight] = {}

    async def read(self, key: str, send: Callable[[], Awaitable[bytes]]) -> bytes:
        """The answer of a ``send()`` sent after this read began, by this read or by
        another of the same ``key``. Raises what this read's own ``send`` raises."""
        ahead = self._flights.get(key)
        if ahead is not None and not ahead.sent:
            answer = await asyncio.shield(ahead.answer)
            return answer if answer is not None else await send()
        own = _Flight()
        self._flights[key] = own
        try:
            if ahead is not None:
                await asyncio.wait([ahead.answer])
            own.sent = True
            answer = await send()
            own.answer.set_result(answer)
            return answer
        finally:
            if not own.answer.done():
                own.answer.set_result(None)
            if self._flights.get(key) is own:
                del self._flights[key]

    @property
    def in_flight(self) -> int:
        """Questions with a call in flight or waiting (for tests and metrics)."""
        return len(self._flights)
