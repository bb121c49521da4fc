"""SharedReads on its own: who sends, who joins, and what happens when a call fails or
its sender goes away."""

from __future__ import annotations

import asyncio

import pytest

from gateway.shared_reads import SharedReads


class Analytics:
    """Answers with the number of the call; each call waits for ``gate``."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.fail_next = False

    async def send(self) -> bytes:
        self.calls += 1
        number = self.calls
        fail, self.fail_next = self.fail_next, False
        await self.gate.wait()
        if fail:
            raise ConnectionError(f"call {number} failed")
        return f"call {number}".encode()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_reads_that_arrive_during_a_call_share_the_next_one() -> None:
    shared, analytics = SharedReads(), Analytics()
    first = asyncio.create_task(shared.read("q", analytics.send))
    await settle()
    later = [asyncio.create_task(shared.read("q", analytics.send)) for _ in range(4)]
    other = asyncio.create_task(shared.read("another question", analytics.send))
    await settle()
    assert analytics.calls == 2  # the first call and the other question's; four wait
    analytics.gate.set()
    assert await first == b"call 1"
    assert await other == b"call 2"
    assert set(await asyncio.gather(*later)) == {b"call 3"}
    assert analytics.calls == 3
    assert shared.in_flight == 0


async def test_a_failure_reaches_its_sender_only() -> None:
    shared, analytics = SharedReads(), Analytics()
    analytics.fail_next = True
    sender = asyncio.create_task(shared.read("q", analytics.send))
    await settle()
    # Joins nothing (the failing call is on its way), so leads the next one.
    analytics.gate.set()
    with pytest.raises(ConnectionError, match="call 1"):
        await sender
    assert await shared.read("q", analytics.send) == b"call 2"


async def test_joiners_of_a_failed_call_send_their_own() -> None:
    shared, analytics = SharedReads(), Analytics()
    busy = asyncio.create_task(shared.read("q", analytics.send))
    await settle()
    analytics.fail_next = True
    waiting = [asyncio.create_task(shared.read("q", analytics.send)) for _ in range(3)]
    await settle()
    analytics.gate.set()
    assert await busy == b"call 1"
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert sum(isinstance(o, ConnectionError) for o in outcomes) == 1  # the sender's
    assert sorted(o for o in outcomes if isinstance(o, bytes)) == [b"call 3", b"call 4"]
    assert shared.in_flight == 0


async def test_a_cancelled_sender_leaves_its_joiners_to_send_their_own() -> None:
    shared, analytics = SharedReads(), Analytics()
    busy = asyncio.create_task(shared.read("q", analytics.send))
    await settle()
    sender = asyncio.create_task(shared.read("q", analytics.send))  # waits to send
    await settle()
    joiners = [asyncio.create_task(shared.read("q", analytics.send)) for _ in range(2)]
    await settle()
    sender.cancel()
    await settle()
    assert analytics.calls == 3  # the busy call, then one of each joiner's own
    analytics.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert await busy == b"call 1"
    assert sorted(await asyncio.gather(*joiners)) == [b"call 2", b"call 3"]
    assert shared.in_flight == 0
