"""What the posts' rollup triggers cost the collector per page of snapshots.

Run: ``.venv/bin/python -m bench.rollup_triggers [--posts N] [--rounds R]``. Uses a scratch
database next to ``DATABASE_URL`` (created, migrated, dropped).

One channel with ``N`` young posts (published in the last 6 days, inside every age of the
median curve) and ``N`` older ones (8-30 days), each with ~28 samples as the collector
stores them. Each round writes one page of 100 snapshots to young posts and one to old
posts through the collector's own ``insert_changed_snapshots``, one transaction per page,
under three trigger bodies swapped in turn on the same database: none (the floor), the
counters of migrations/0010 alone, and 0010 with the median curve's samples of 0012 (what
ships). Variants alternate within every round, so the machine's noise falls on all three.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.collector_scratch import scratch_pool
from services.collector.domain import PostData
from services.collector.repository import insert_changed_snapshots

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CHANNEL = 1_700_000_001
PAGE = 100

VARIANTS = {
    "no rollup": "",
    "0010 counters": "PERFORM post_counters_refresh("
    "ARRAY(SELECT DISTINCT post_id FROM changed_rows));",
}
SHIPPED = "0010 + 0012 curve samples (shipped)"


def body(statements: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION post_stats_after_insert() RETURNS trigger"
        f" LANGUAGE plpgsql AS $$ BEGIN {statements} RETURN NULL; END; $$"
    )


async def populate(
    pool: asyncpg.Pool, per_kind: int, draw: random.Random
) -> dict[str, list[asyncpg.Record]]:
    """Young and old posts with the collector's cadence of samples (denser when young)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO channels (id, title) VALUES ($1, 'Rollup triggers')", CHANNEL
        )
        published = [NOW - timedelta(hours=draw.uniform(1, 144)) for _ in range(per_kind)]
        published += [NOW - timedelta(days=draw.uniform(8, 30)) for _ in range(per_kind)]
        ids = await conn.fetch(
            "INSERT INTO posts (channel_id, message_id, published_at)"
            " SELECT $1, m, p FROM unnest($2::bigint[], $3::timestamptz[]) AS s (m, p)"
            " RETURNING id, message_id, published_at",
            CHANNEL,
            list(range(1, len(published) + 1)),
            published,
        )
        rows = []
        for row in ids:
            age = NOW - row["published_at"]
            # 28 samples at ages growing geometrically from 5 minutes to the post's age.
            for k in range(28):
                at = row["published_at"] + timedelta(minutes=5) * (
                    (age / timedelta(minutes=5)) ** (k / 27)
                )
                rows.append((row["id"], min(at, NOW - timedelta(seconds=1)), 10 * k + 1))
        await conn.execute(
            "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
            " reactions_total) SELECT p, a, v, 0, 0, 0"
            " FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) AS s (p, a, v)"
            " ON CONFLICT DO NOTHING",
            *map(list, zip(*rows, strict=True)),
        )
    young = [r for r in ids if NOW - r["published_at"] < timedelta(days=7)]
    old = [r for r in ids if NOW - r["published_at"] >= timedelta(days=7)]
    return {"young posts": young, "old posts": old}


async def page(
    pool: asyncpg.Pool, posts: list[asyncpg.Record], at: datetime, views: int, draw: random.Random
) -> float:
    chosen = draw.sample(posts, PAGE)
    data = [
        PostData(
            message_id=r["message_id"],
            published_at=r["published_at"],
            edited_at=None,
            media_type="text",
            text_preview="",
            grouped_id=None,
            views=views,
            forwards=0,
            replies=0,
        )
        for r in chosen
    ]
    ids = {r["message_id"]: r["id"] for r in chosen}
    async with pool.acquire() as conn:
        started = time.perf_counter()
        async with conn.transaction():
            written = await insert_changed_snapshots(conn, ids, data, at)
        elapsed = time.perf_counter() - started
    assert written == PAGE, written
    return elapsed


async def run(per_kind: int, rounds: int) -> None:
    draw = random.Random(20261126)
    async with scratch_pool() as pool:
        async with pool.acquire() as conn:
            shipped = await conn.fetchval(
                "SELECT pg_get_functiondef('post_stats_after_insert'::regproc)"
            )
        kinds = await populate(pool, per_kind, draw)
        async with pool.acquire() as conn:
            await conn.execute("VACUUM ANALYZE")
        variants = {**{k: body(v) for k, v in VARIANTS.items()}, SHIPPED: shipped}
        times: dict[tuple[str, str], list[float]] = {}
        names = list(variants)
        step = 0
        for n in range(rounds):
            order = names[n % len(names) :] + names[: n % len(names)]
            for name in order:
                async with pool.acquire() as conn:
                    await conn.execute(variants[name])
                for kind, posts in kinds.items():
                    step += 1
                    at = NOW + timedelta(seconds=step)
                    elapsed = await page(pool, posts, at, 10_000 + step, draw)
                    times.setdefault((kind, name), []).append(elapsed)
        print(f"{per_kind} young and {per_kind} old posts, 28 samples each; {rounds} rounds")
        print()
        print("| page of 100 snapshots | triggers | median ms | p90 ms | ÷ no rollup |")
        print("|---|---|---:|---:|---:|")
        for kind in kinds:
            floor = statistics.median(times[(kind, "no rollup")])
            for name in names:
                values = times[(kind, name)]
                median = statistics.median(values)
                p90 = statistics.quantiles(values, n=10)[-1]
                print(
                    f"| {kind} | {name} | {median * 1e3:.2f} | {p90 * 1e3:.2f} |"
                    f" {median / floor:.2f}x |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000, help="young posts (and old)")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(run(args.posts, args.rounds))


if __name__ == "__main__":
    main()
