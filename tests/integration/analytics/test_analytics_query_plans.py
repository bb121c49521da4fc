"""The overview's queries probe indexes: their cost follows the posts in the period, not
the snapshots stored. Checked with EXPLAIN on a channel with a year of history."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.analytics import posts_repository, repository, service

END = datetime(2025, 3, 15, tzinfo=UTC)
POSTS = 4000  # one every 2 hours: 333 days of history
SAMPLES_PER_POST = 12
SUBSCRIBER_SAMPLES = 8000  # hourly
OTHER_CHANNELS = 2000


@dataclass(frozen=True)
class History:
    """A connection inside a transaction that holds a channel with a long history."""

    conn: asyncpg.Connection
    channel_id: int


@pytest.fixture(scope="module")
async def history(database_url: str) -> AsyncIterator[History]:
    """A channel with 4,000 posts, 48,000 post snapshots and 8,000 subscriber samples,
    among 2,000 other tracked channels, with fresh planner statistics. Built once for
    this module inside a transaction that is rolled back at its end."""
    conn = await asyncpg.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        channel_id = 7_000_000_000 + uuid.uuid4().int % 1_000_000_000
        await seed(conn, channel_id)
        yield History(conn, channel_id)
    finally:
        await tx.rollback()
        await conn.close()


async def seed(conn: asyncpg.Connection, unique_id: int) -> None:
    """Insert the history of ``unique_id`` and refresh the planner's statistics."""
    await conn.execute("INSERT INTO channels (id, title) VALUES ($1, 'Plan check')", unique_id)
    await conn.execute(
        "INSERT INTO channels (id, title) SELECT $1::bigint + g, 'Other' "
        "FROM generate_series(1, $2::int) AS g",
        unique_id,
        OTHER_CHANNELS,
    )
    await conn.execute(
        "INSERT INTO collection_state (channel_id, last_refresh_at) "
        "SELECT $1::bigint + g, $2 FROM generate_series(1, $3::int) AS g",
        unique_id,
        END,
        OTHER_CHANNELS,
    )
    await conn.execute(
        "INSERT INTO posts (channel_id, message_id, published_at) "
        "SELECT $1, g, $2::timestamptz - g * interval '2 hours' "
        "FROM generate_series(1, $3::int) AS g",
        unique_id,
        END,
        POSTS,
    )
    await conn.execute(
        "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies, "
        "reactions_total) "
        "SELECT p.id, p.published_at + k * interval '3 hours', k * 10, k, k, k "
        "FROM posts AS p, generate_series(1, $2::int) AS k WHERE p.channel_id = $1",
        unique_id,
        SAMPLES_PER_POST,
    )
    await conn.execute(
        "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
        "SELECT $1, $2::timestamptz - g * interval '1 hour', 10000 + g "
        "FROM generate_series(1, $3::int) AS g",
        unique_id,
        END,
        SUBSCRIBER_SAMPLES,
    )
    await conn.execute(
        "INSERT INTO collection_state (channel_id, last_refresh_at) VALUES ($1, $2)",
        unique_id,
        END,
    )
    await conn.execute(
        "INSERT INTO broadcast_stats (channel_id, collected_at, payload) "
        "SELECT c, $2::timestamptz - d * interval '1 day', '{}'::jsonb "
        "FROM generate_series($1::bigint, $1::bigint + $3::int) AS c, "
        "generate_series(1, 30) AS d",
        unique_id,
        END,
        OTHER_CHANNELS,
    )
    for table in (
        "channels",
        "posts",
        "post_snapshots",
        "channel_snapshots",
        "collection_state",
        "broadcast_stats",
    ):
        await conn.execute(f"ANALYZE {table}")


async def plan(conn: asyncpg.Connection, sql: str, *args: object) -> dict[str, Any]:
    """The planner's chosen plan for ``sql`` with these parameters."""
    raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    document = json.loads(raw) if isinstance(raw, str) else raw
    top: dict[str, Any] = document[0]["Plan"]
    return top


def scans(node: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(relation, node type, index) of every scan in the plan tree; a bitmap heap scan
    names the indexes of its bitmap index scans."""
    children = node.get("Plans", [])
    if node["Node Type"] == "Bitmap Heap Scan":
        for index in bitmap_indexes(node):
            yield node["Relation Name"], node["Node Type"], index
        return
    if "Relation Name" in node:
        yield node["Relation Name"], node["Node Type"], node.get("Index Name")
    for child in children:
        yield from scans(child)


def bitmap_indexes(node: dict[str, Any]) -> Iterator[str]:
    """The indexes under a bitmap heap scan (through BitmapAnd / BitmapOr)."""
    if node["Node Type"] == "Bitmap Index Scan":
        yield node["Index Name"]
    for child in node.get("Plans", []):
        yield from bitmap_indexes(child)


def assert_index_scans(found: list[tuple[str, str, str | None]], expected: dict[str, str]) -> None:
    """Each relation in ``expected`` is read only through the named index."""
    for relation, index in expected.items():
        reads = [(kind, name) for rel, kind, name in found if rel == relation]
        assert reads, f"{relation} is not read at all: {found}"
        for kind, name in reads:
            assert "Seq Scan" not in kind, f"sequential scan of {relation}: {found}"
            assert name == index, f"{relation} read through {name}, not {index}: {found}"


HORIZONS = [timedelta(hours=12), timedelta(hours=24), timedelta(hours=48)]


@pytest.mark.parametrize("days", [7, 37])
async def test_posts_in_range_probe_the_snapshot_key_per_post(history: History, days: int) -> None:
    """latest(p, ·, T) and the samples around each horizon: the posts' rollup
    columns (and a snapshot key probe for a post sampled after T)."""
    found = list(
        scans(
            await plan(
                history.conn,
                posts_repository.POSTS_SQL,
                history.channel_id,
                END - timedelta(days=days),
                END,
                END,
                HORIZONS,
            )
        )
    )
    assert_index_scans(
        found,
        {
            "posts": "posts_channel_published_idx",
            "post_snapshots": "post_snapshots_pkey",
        },
    )


async def test_a_year_of_posts_still_never_scans_all_snapshots(history: History) -> None:
    found = list(
        scans(
            await plan(
                history.conn,
                posts_repository.POSTS_SQL,
                history.channel_id,
                END - timedelta(days=396),
                END,
                END,
                HORIZONS,
            )
        )
    )
    assert_index_scans(found, {"post_snapshots": "post_snapshots_pkey"})


async def test_curves_of_thirty_days_read_only_the_posts_range(history: History) -> None:
    found = list(
        scans(
            await plan(
                history.conn,
                posts_repository.POST_CURVES_SQL,
                history.channel_id,
                END - timedelta(days=30),
                END,
            )
        )
    )
    # The samples come from the posts' rollup (migrations/0012): no snapshot is read.
    assert_index_scans(found, {"posts": "posts_channel_published_idx"})
    assert [f for f in found if f[0] == "post_snapshots"] == []


async def test_native_stats_read_their_key(history: History) -> None:
    found = list(
        scans(
            await plan(
                history.conn,
                service.NATIVE_STATS_SQL,
                history.channel_id,
                END - timedelta(days=30),
                END,
                100,
            )
        )
    )
    assert_index_scans(found, {"broadcast_stats": "broadcast_stats_pkey"})


async def test_subscribers_at_probes_the_channel_snapshot_key(history: History) -> None:
    moments = [END - timedelta(days=14), END - timedelta(days=7), END]
    found = list(
        scans(await plan(history.conn, repository.SUBSCRIBERS_AT_SQL, history.channel_id, moments))
    )
    assert_index_scans(found, {"channel_snapshots": "channel_snapshots_pkey"})


async def test_freshness_reads_two_keys(history: History) -> None:
    found = list(scans(await plan(history.conn, repository.FRESHNESS_SQL, history.channel_id)))
    assert_index_scans(
        found,
        {
            "channel_snapshots": "channel_snapshots_pkey",
            "collection_state": "collection_state_pkey",
        },
    )


async def test_channel_lookup_uses_the_key(history: History) -> None:
    found = list(scans(await plan(history.conn, repository.CHANNEL_SQL, history.channel_id)))
    assert_index_scans(found, {"channels": "channels_pkey"})
