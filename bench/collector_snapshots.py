"""Snapshot rows per post over 30 simulated days, and the Reach@24h error they give
beside dense (1-minute) sampling.

Run: ``.venv/bin/python -m bench.collector_snapshots [--channels C]``. Uses a scratch
database next to ``DATABASE_URL``.

The real collector follows ``C`` simulated channels from their first post for 32
simulated days in 5-minute ticks (its new-post poll interval). For posts of the first
two days (at least 30 days old at the end) it reports stored ``post_snapshots`` rows per post, the
rows 1-minute sampling with the same changed-only rule would store, and Reach@24h
(views at age 24 h, linear interpolation between stored samples, 0 at age 0, as in
METRICS.md) against the dense value.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
from datetime import UTC, datetime, timedelta

from bench.collector_calls import NoEvents
from bench.collector_scratch import scratch_pool
from services.collector.clock import ManualClock
from services.collector.domain import ChannelRef
from services.collector.scheduler import Scheduler
from services.collector.service import Collector
from services.collector.simulator import SimulatedSource, number_of, post_at, username_of

START = datetime(2026, 3, 1, tzinfo=UTC)
TICK = timedelta(minutes=5)
FIRST_DAYS = 2  # posts published in these first days are measured
DAYS = 30 + FIRST_DAYS
SEED = 5


def interpolate(samples: list[tuple[timedelta, int]], age: timedelta) -> float | None:
    """views(age) by linear interpolation between samples (0 at age 0)."""
    points = [(timedelta(0), 0), *samples]
    for (a0, v0), (a1, v1) in itertools.pairwise(points):
        if a0 <= age <= a1:
            span = (a1 - a0).total_seconds()
            return float(v1) if span == 0 else v0 + (v1 - v0) * (age - a0).total_seconds() / span
    return None


def dense_rows(number: int, message_id: int, published: datetime) -> int:
    """Rows 1-minute sampling would store over 30 days, writing only changes."""
    rows, last = 0, None
    for minute in range(1, 30 * 24 * 60 + 1, 1):
        post = post_at(SEED, number, message_id, published + timedelta(minutes=minute))
        if post is None:
            break
        value = (post.views, post.forwards, post.replies, tuple(sorted(post.reactions.items())))
        if value != last:
            rows, last = rows + 1, value
    return rows


async def run(channels: int) -> dict[str, float]:
    """Collect for ``DAYS`` simulated days; measure the first days' posts."""
    clock = ManualClock(START)
    source = SimulatedSource(SEED, clock, START)
    collector = Collector(source, clock, NoEvents())
    async with scratch_pool() as pool:
        async with pool.acquire() as conn:
            for n in range(channels):
                await collector.track_channel(conn, f"@{username_of(n)}")
        scheduler = Scheduler(pool, collector, concurrency=8)
        for _ in range(int(timedelta(days=DAYS) / TICK)):
            clock.advance(TICK)
            await scheduler.run_until()
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT p.channel_id, p.message_id, p.published_at,
                          array_agg(s.sampled_at ORDER BY s.sampled_at) AS at,
                          array_agg(s.views ORDER BY s.sampled_at) AS views
                   FROM posts p JOIN post_snapshots s ON s.post_id = p.id
                   WHERE p.published_at < $1 AND p.deleted_at IS NULL
                   GROUP BY p.id""",
                START + timedelta(days=FIRST_DAYS),
            )
    per_post, dense, errors = [], [], []
    for row in rows:
        number = number_of(ChannelRef(channel_id=row["channel_id"]))
        assert number is not None
        published = row["published_at"]
        samples = [(at - published, v) for at, v in zip(row["at"], row["views"], strict=True)]
        per_post.append(len(samples))
        dense.append(dense_rows(number, row["message_id"], published))
        truth = post_at(SEED, number, row["message_id"], published + timedelta(hours=24))
        estimate = interpolate(samples, timedelta(hours=24))
        if truth is not None and truth.views > 0 and estimate is not None:
            errors.append(abs(estimate - truth.views) / truth.views * 100)
    return {
        "posts": float(len(per_post)),
        "rows_mean": statistics.mean(per_post),
        "rows_max": float(max(per_post)),
        "dense_mean": statistics.mean(dense),
        "err_mean": statistics.mean(errors),
        "err_max": max(errors),
    }


def main() -> None:
    """Parse arguments, run, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=3)
    r = asyncio.run(run(parser.parse_args().channels))
    print(f"{r['posts']:.0f} posts followed for 30 simulated days\n")
    print("| sampling | rows/post (mean) | rows/post (max) | Reach@24h error mean | max |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| age cadence (collector) | {r['rows_mean']:.1f} | {r['rows_max']:.0f} | "
        f"{r['err_mean']:.3f} % | {r['err_max']:.3f} % |"
    )
    print(f"| dense, every minute | {r['dense_mean']:.0f} | - | 0 (reference) | - |")


if __name__ == "__main__":
    main()
