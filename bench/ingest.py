"""Ingestion benchmark: simulator → PostgreSQL rows/s beside raw COPY of the same rows.

Run: ``.venv/bin/python -m bench.ingest [--channels N] [--days D]``. Uses ``DATABASE_URL``
(else ``postgresql://postgres@127.0.0.1:5432/postgres``) to create a scratch database,
migrates it, and drops it at the end. Prints a markdown table.

Rows are posts plus their first snapshots, produced by the simulator before timing.
"collector" runs the collector's own ingestion (dedupe, upsert, changed-only snapshots)
in pages of 100, one transaction per page, with either upsert strategy; "raw COPY" copies
the identical rows into the same tables with no checks, the floor nothing can beat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from analyticbot.runtime.db import create_pool
from analyticbot.runtime.migrate import migrate
from services.collector import repository as repo
from services.collector.clock import ManualClock
from services.collector.domain import ChannelInfo, PostData, dedupe_posts
from services.collector.repository import Conn, UpsertMethod
from services.collector.simulator import SimulatedSource, channel_id_of

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    """One measured pipeline."""

    name: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


async def simulate(channels: int, days: int, seed: int) -> dict[int, list[list[PostData]]]:
    """History pages (100 posts each) of ``channels`` simulated channels."""
    clock = ManualClock(NOW)
    source = SimulatedSource(seed, clock, NOW - timedelta(days=days))
    pages: dict[int, list[list[PostData]]] = {}
    for number in range(channels):
        channel_id = channel_id_of(100_000 + number)
        offset, pages[channel_id] = 0, []
        while (page := await source.get_history(channel_id, offset_id=offset)).posts:
            pages[channel_id].append(page.posts)
            offset = page.posts[-1].message_id
    return pages


async def reset(conn: Conn, channel_ids: list[int]) -> None:
    await conn.execute("TRUNCATE post_snapshots, posts, channels CASCADE")
    for channel_id in channel_ids:
        await repo.upsert_channel(
            conn, ChannelInfo(channel_id, None, f"bench {channel_id}"), None, NOW
        )


async def collector_run(
    pool: asyncpg.Pool, pages: dict[int, list[list[PostData]]], method: UpsertMethod
) -> Result:
    async with pool.acquire() as conn:
        await reset(conn, list(pages))
        rows = 0
        started = time.perf_counter()
        for channel_id, channel_pages in pages.items():
            for page in channel_pages:
                async with conn.transaction():
                    unique = dedupe_posts(page)
                    ids = await repo.upsert_posts(conn, channel_id, unique, NOW, method=method)
                    rows += len(ids)
                    rows += await repo.insert_changed_snapshots(conn, ids, unique, NOW)
        elapsed = time.perf_counter() - started
    return Result(f"collector ingestion ({method} upsert)", rows, elapsed)


async def raw_copy(url: str, pages: dict[int, list[list[PostData]]]) -> Result:
    """COPY posts, then their snapshots; a plain connection so jsonb goes over COPY's
    binary format as text, as the server expects."""
    posts = [
        (c, p.message_id, p.published_at, p.edited_at, p.media_type, p.text_preview, p.grouped_id)
        for c, channel_pages in pages.items()
        for page in channel_pages
        for p in page
    ]
    by_key = {(c, p.message_id): p for c, cp in pages.items() for page in cp for p in page}
    conn = await asyncpg.connect(url)
    try:
        await reset(conn, list(pages))
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "posts",
                records=posts,
                columns=[
                    "channel_id",
                    "message_id",
                    "published_at",
                    "edited_at",
                    "media_type",
                    "text_preview",
                    "grouped_id",
                ],
            )
            ids = await conn.fetch("SELECT id, channel_id, message_id FROM posts")
            snapshots = []
            for row in ids:
                p = by_key[(row["channel_id"], row["message_id"])]
                snapshots.append(
                    (row["id"], NOW, p.views, p.forwards, p.replies, p.reactions_total,
                     json.dumps(p.reactions))
                )  # fmt: skip
            await conn.copy_records_to_table(
                "post_snapshots",
                records=snapshots,
                columns=[
                    "post_id",
                    "sampled_at",
                    "views",
                    "forwards",
                    "replies",
                    "reactions_total",
                    "reactions",
                ],
            )
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return Result("raw COPY (same rows, same tables)", len(posts) + len(snapshots), elapsed)


def _scratch_url(admin_url: str, name: str) -> str:
    head, sep, query = admin_url.partition("?")
    scheme, rest = head.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}{sep}{query}"


async def run(channels: int, days: int, repeats: int) -> list[Result]:
    """Create a scratch database, measure every pipeline (best of ``repeats``), drop it."""
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"ab_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _scratch_url(admin_url, name)
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            plain = await asyncpg.connect(url)
            try:
                await migrate(plain)
            finally:
                await plain.close()
            pages = await simulate(channels, days, seed=7)
            results: dict[str, Result] = {}
            for _ in range(repeats):
                for result in (
                    await collector_run(pool, pages, "unnest"),
                    await collector_run(pool, pages, "copy"),
                    await raw_copy(url, pages),
                ):
                    best = results.get(result.name)
                    if best is None or result.seconds < best.seconds:
                        results[result.name] = result
            return list(results.values())
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def table(results: list[Result]) -> str:
    """The results as a markdown table, raw COPY as the 1.00x reference."""
    floor = next(r for r in results if r.name.startswith("raw COPY"))
    lines = ["| pipeline | rows | seconds | rows/s | vs raw COPY |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rows} | {r.seconds:.3f} | {r.rate:,.0f} | "
            f"{r.rate / floor.rate:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(run(args.channels, args.days, args.repeats))
    print(
        f"{args.channels} simulated channels, {args.days} days of history, best of {args.repeats}\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
