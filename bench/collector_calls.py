"""Telegram calls needed to keep N simulated posts fresh for one simulated day.

Run: ``.venv/bin/python -m bench.collector_calls [--channels C] [--history-days D]``.
Uses a scratch database next to ``DATABASE_URL`` (bench/collector_scratch.py).

The real collector (scheduler, cadence, ingestion) tracks ``C`` simulated channels,
backfills ``D`` days of history, then lives through 24 simulated hours in 5-minute
ticks. Every counter refresh the cadence asks for is one "due" post sample; the
theoretical minimum of refresh calls is ``ceil(due / 100)`` (a call carries at most
100 ids). With the Telethon source each refresh call is two MTProto requests
(``messages.getMessagesViews`` and ``channels.getMessages``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.collector_scratch import scratch_pool
from services.collector.clock import ManualClock
from services.collector.domain import HistoryPage, PostBatch
from services.collector.events import EventKind, EventPublisher
from services.collector.scheduler import Scheduler
from services.collector.service import Collector
from services.collector.simulator import SimulatedSource, username_of
from services.collector.source import MAX_PAGE

START = datetime(2026, 3, 1, tzinfo=UTC)
TICK = timedelta(minutes=5)


class NoEvents(EventPublisher):
    """Events go nowhere: the benchmark counts Telegram calls only."""

    def __init__(self) -> None:
        pass

    async def publish(self, channel_id: int, kind: EventKind, at: datetime) -> None:
        return None


class CountingSource(SimulatedSource):
    """The simulator, counting the calls made of it."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.calls: dict[str, int] = {}
        self.samples = 0

    def _tally(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def reset(self) -> None:
        """Forget the calls counted so far."""
        self.calls, self.samples = {}, 0

    async def get_posts(self, channel_id: int, message_ids: Sequence[int]) -> PostBatch:
        self._tally("get_posts")
        self.samples += len(message_ids)
        return await super().get_posts(channel_id, message_ids)

    async def get_history(
        self, channel_id: int, *, offset_id: int = 0, min_id: int = 0, limit: int = MAX_PAGE
    ) -> HistoryPage:
        self._tally("get_history")
        return await super().get_history(
            channel_id, offset_id=offset_id, min_id=min_id, limit=limit
        )


async def run(channels: int, history_days: int) -> dict[str, float]:
    """Backfill, then one simulated day; returns the counts."""
    clock = ManualClock(START)
    source = CountingSource(11, clock, START - timedelta(days=history_days))
    collector = Collector(source, clock, NoEvents())
    async with scratch_pool() as pool:
        async with pool.acquire() as conn:
            for number in range(channels):
                await collector.track_channel(conn, f"@{username_of(number)}")
        scheduler = Scheduler(pool, collector, concurrency=8)
        await scheduler.run_until()
        async with pool.acquire() as conn:
            posts = await conn.fetchval("SELECT count(*) FROM posts")
        source.reset()
        refresh_runs = 0
        for _ in range(int(timedelta(days=1) / TICK)):
            clock.advance(TICK)
            refresh_runs += await scheduler.run_until()
    due = source.samples
    calls = source.calls.get("get_posts", 0)
    return {
        "posts": float(posts),
        "due": float(due),
        "calls": float(calls),
        "minimum": float(math.ceil(due / MAX_PAGE)),
        "history_calls": float(source.calls.get("get_history", 0)),
        "runs": float(refresh_runs),
    }


def main() -> None:
    """Parse arguments, run, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args()
    r = asyncio.run(run(args.channels, args.history_days))
    print(f"{args.channels} channels, {r['posts']:.0f} posts, 24 simulated hours, 5-min ticks\n")
    print("| due post samples | refresh calls | minimum ceil(due/100) | calls / minimum |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {r['due']:.0f} | {r['calls']:.0f} | {r['minimum']:.0f} | "
        f"{r['calls'] / max(r['minimum'], 1):.2f} |"
    )
    print(
        f"\nplus {r['history_calls']:.0f} new-post polls (getHistory) in {r['runs']:.0f} "
        f"channel runs; MTProto requests with Telethon: {2 * r['calls']:.0f} for refreshes."
    )


if __name__ == "__main__":
    main()
