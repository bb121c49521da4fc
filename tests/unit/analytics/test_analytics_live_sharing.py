"""One overview computation per channel and event, shared by the streams watching it."""

from __future__ import annotations

import asyncio

import pytest

from services.analytics.live import SharedAnswers


class Source:
    """Counts computations; each waits for ``release`` so callers can pile up."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail = False

    async def compute(self, channel_id: int) -> tuple[int, int]:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database went away")
        return channel_id, call


async def test_concurrent_streams_of_one_generation_share_one_computation() -> None:
    source = Source()
    shared = SharedAnswers()
    waiting = [
        asyncio.ensure_future(shared.get(7, 3, lambda: source.compute(7))) for _ in range(100)
    ]
    await asyncio.sleep(0)
    source.release.set()
    assert set(await asyncio.gather(*waiting)) == {(7, 1)}
    assert source.calls == 1
    # Another channel is its own computation.
    assert await shared.get(8, 3, lambda: source.compute(8)) == (8, 2)


async def test_a_newer_event_starts_a_new_computation_an_older_one_does_not() -> None:
    source = Source()
    source.release.set()
    shared = SharedAnswers()
    assert await shared.get(7, 1, lambda: source.compute(7)) == (7, 1)
    assert await shared.get(7, 1, lambda: source.compute(7)) == (7, 1)
    assert await shared.get(7, 0, lambda: source.compute(7)) == (
        7,
        1,
    )  # a stream that saw fewer events
    assert await shared.get(7, 2, lambda: source.compute(7)) == (7, 2)


async def test_an_old_answer_is_not_handed_to_a_new_stream() -> None:
    now = [100.0]
    source = Source()
    source.release.set()
    shared = SharedAnswers(max_age_seconds=2, monotonic=lambda: now[0])
    assert await shared.get(7, 0, lambda: source.compute(7)) == (7, 1)
    now[0] += 1.9
    assert await shared.get(7, 0, lambda: source.compute(7)) == (7, 1)
    now[0] += 0.2
    assert await shared.get(7, 0, lambda: source.compute(7)) == (7, 2)


async def test_a_failure_is_not_shared_with_later_callers() -> None:
    source = Source()
    source.fail = True
    source.release.set()
    shared = SharedAnswers()
    with pytest.raises(RuntimeError):
        await shared.get(7, 0, lambda: source.compute(7))
    source.fail = False
    assert await shared.get(7, 0, lambda: source.compute(7)) == (7, 2)


async def test_one_caller_cancelled_does_not_cancel_the_others() -> None:
    source = Source()
    shared = SharedAnswers()
    leaving = asyncio.ensure_future(shared.get(7, 0, lambda: source.compute(7)))
    staying = asyncio.ensure_future(shared.get(7, 0, lambda: source.compute(7)))
    await asyncio.sleep(0)
    leaving.cancel()
    source.release.set()
    assert await staying == (7, 1)
    assert leaving.cancelled()
