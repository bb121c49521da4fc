"""The send limits, measured on the clock: per chat spacing, global window, retry_after."""

from __future__ import annotations

import asyncio
import itertools
import time

from services.bot.limits import SendLimits, WindowLimiter


async def test_window_never_admits_more_than_the_limit_in_any_period() -> None:
    limiter = WindowLimiter(5, 0.2)
    starts: list[float] = []

    async def one() -> None:
        async with limiter.slot():
            starts.append(time.monotonic())
            await asyncio.sleep(0.01)

    await asyncio.gather(*(one() for _ in range(15)))
    starts.sort()
    assert all(b - a >= 0.2 for a, b in zip(starts, starts[5:], strict=False))
    assert starts[-1] - starts[0] >= 0.4


async def test_one_chat_is_spaced_and_hold_off_waits_exactly_that_long() -> None:
    limits = SendLimits(global_limit=30, period=1.0, chat_interval=0.1)
    times: list[float] = []
    async with limits.chat(1) as turn:
        for _ in range(3):
            async with turn.request():
                times.append(time.monotonic())
        turn.hold_off(0.3)
        async with turn.request():
            times.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps[:2]) >= 0.1
    assert gaps[2] >= 0.3


async def test_other_chats_are_not_delayed_by_one_busy_chat() -> None:
    limits = SendLimits(global_limit=30, period=1.0, chat_interval=0.5)
    async with limits.chat(1) as turn, turn.request():
        pass
    started = time.monotonic()
    async with limits.chat(2) as turn, turn.request():
        pass
    assert time.monotonic() - started < 0.1
