"""Analytics read-side benchmark: gRPC p50/p99 beside the bare SQL, and WatchChannel fan-out.

Run: ``.venv/bin/python -m bench.analytics [--scale 1.0] [--calls 2000]``. Uses
``DATABASE_URL`` (else ``postgresql://postgres@127.0.0.1:5432/postgres``) to create a
scratch database, migrates it, fills it in SQL (``generate_series``), and drops it at the
end; Redis is ``REDIS_URL`` (else ``redis://127.0.0.1:6379/0``) under a unique prefix.

Dataset at scale 1: 1,000 channels over three years; one "big" channel with 100,000
posts (about 91 a day), 999 small ones with 300 posts each; every post has a snapshot at
each of 28 ages of the collector's cadence (dense when young, weekly up to 28 days) that
is behind ``NOW``, about 11 million ``post_snapshots`` rows; subscribers sampled every
12 hours; one bench user owning every channel. ``--scale`` shrinks the history (posts of
every channel and subscriber samples) proportionally, the posting rate stays.

Measured, each at ``--concurrency`` (32) with ``--calls`` calls, on the big channel and on
a random small one: overview (not cached, and a Redis cache hit), posts list (first page
by views), post detail (500 random posts older than a day, each asked four times: a first
ask computes the detail, with the median curve's values the server keeps between details,
``services/analytics/curve_baselines.py``, and caches it in Redis once no reach waits for
the post to age, ``analyticbot/runtime/kept_answers.py``; then the same posts again,
"asked again"), best-time; each beside the bare SQL the use case
runs (the repositories' SQL text, same transaction, through an asyncpg pool of the same
size as the server's). The server runs in a process of its own, as deployed (spawned,
with its own pool and Redis client; ``--same-process`` puts it on the bench's event loop
instead); the gRPC clients and the SQL clients share the bench's process and event loop.
Then ``WatchChannel``: N streams on the big channel, a committed
``channel_snapshots`` row and the collector's event, time until every stream has the new
overview.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any, cast

import asyncpg
import grpc
import redis.asyncio as redis
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.analytics.v1 import analytics_pb2, analytics_pb2_grpc, posts_pb2, series_pb2
from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.gc_tuning import tune_gc
from analyticbot.runtime.grant_cache import GrantCache
from analyticbot.runtime.grpc_server import GrpcServer
from analyticbot.runtime.migrate import migrate
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.analytics import posts_repository, repository
from services.analytics.auth import Authorizer, KeyRing
from services.analytics.cache import ResponseCache
from services.analytics.engagement import ERR_WINDOW
from services.analytics.events import EventHub
from services.analytics.main import build
from services.analytics.performance import BASELINE_WINDOW
from services.analytics.reach import REACH_HORIZONS
from services.collector.domain import SAMPLE_AGES

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
CHANNELS = 1_000
BIG_POSTS = 100_000
SMALL_POSTS = 300
BIG_CHANNEL = 1_000_000
BENCH_USER = 777_000
DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
OVERVIEW_DAYS = timedelta(days=7)
LIST_DAYS = timedelta(days=30)
BEST_TIME_DAYS = timedelta(days=90)
# The collector's cadence, thinned where a counter often does not change between samples
# (a row is written only on change): 28 ages.
AGES: tuple[timedelta, ...] = (*SAMPLE_AGES[:6], *SAMPLE_AGES[6:16:2], *SAMPLE_AGES[16:])
P99_GOAL_MS = 10.0
OVERVIEW_RATIO_GOAL = 2.0


def _scratch_url(admin_url: str, name: str) -> str:
    head, sep, query = admin_url.partition("?")
    scheme, rest = head.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}{sep}{query}"


@dataclass(frozen=True)
class Shape:
    """How much data a scale means."""

    history: timedelta
    big_posts: int
    small_posts: int
    channels: int = CHANNELS

    @classmethod
    def of(cls, scale: float) -> Shape:
        return cls(
            history=timedelta(days=max(1.0, HISTORY_DAYS * scale)),
            big_posts=max(1, round(BIG_POSTS * scale)),
            small_posts=max(1, round(SMALL_POSTS * scale)),
        )


# ---------------------------------------------------------------- dataset

CHANNELS_SQL = """
INSERT INTO channels (id, title, time_zone, tracked_since)
SELECT $1 + g, 'bench channel ' || g,
       CASE WHEN g % 3 = 0 THEN 'Europe/Berlin' ELSE 'UTC' END, $2
FROM generate_series(0, $3 - 1) AS g
"""

STATE_SQL = """
INSERT INTO collection_state (channel_id, backfill_state, last_refresh_at, last_subscribers_at)
SELECT id, 'done', $1, $1 FROM channels
"""

GRANTS_SQL = """
INSERT INTO users (id, first_name) VALUES ({user}, 'bench');
INSERT INTO grants (user_id, channel_id, role) SELECT {user}, id, 'owner' FROM channels;
"""

# Channel $1 gets $2 posts spread evenly (with jitter) over [$3 - $4, $3).
POSTS_SQL = """
INSERT INTO posts (channel_id, message_id, published_at, media_type, text_preview,
                   first_seen_at, last_checked_at)
SELECT c.id, g,
       $3::timestamptz - $4::interval * ((n - g + 0.9 * random()) / n),
       (ARRAY['text', 'photo', 'video', 'document'])[1 + g % 4],
       'post ' || g,
       $3::timestamptz - $4::interval * ((n - g) / n::float8),
       $3::timestamptz
FROM channels AS c
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.id = $1::bigint THEN $2::int ELSE $5::int END AS n
) AS size
CROSS JOIN LATERAL generate_series(1, size.n) AS g
"""

# Every post of the id range [$1, $2) gets a snapshot at each age in $3 not after $4.
# views(age) saturates at a post's reach (the channel's size times a per-post factor)
# and keeps creeping up, so every sample is a change.
SNAPSHOTS_SQL = """
INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,
                            reactions_total, reactions)
SELECT p.id, p.published_at + a.age, v.views, v.views / 90, v.views / 400, v.views / 40,
       jsonb_build_object('👍', v.views / 80, '❤', v.views / 120,
                          '🔥', v.views / 40 - v.views / 80 - v.views / 120)
FROM posts AS p
CROSS JOIN unnest($3::interval[]) AS a (age)
CROSS JOIN LATERAL (
    SELECT (
        (CASE WHEN p.channel_id = {big} THEN 400000 ELSE 1000 + (p.channel_id % 97) * 300 END)
        * (0.3 + (abs(hashint8(p.id)) % 1000)::float8 / 700.0)
        * (1 - exp(-extract(epoch FROM a.age)::float8 / 28800.0))
        * (1 + 0.1 * ln(1 + extract(epoch FROM a.age)::float8 / 86400.0))
    )::bigint AS views
) AS v
WHERE p.id >= $1::bigint AND p.id < $2::bigint AND p.published_at + a.age <= $4::timestamptz
ORDER BY p.id, a.age
"""

SUBSCRIBERS_SQL = """
INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers)
SELECT c.id, $1::timestamptz - interval '12 hours' * k,
       (CASE WHEN c.id = {big} THEN 500000 ELSE 3000 + (c.id % 97) * 500 END)
       - k * (CASE WHEN c.id = {big} THEN 150 ELSE 1 END) + abs(hashint8(c.id * 7919 + k) % 40)
FROM channels AS c
CROSS JOIN generate_series(1, $2::int) AS k
"""


async def generate(url: str, shape: Shape) -> dict[str, float]:
    """Fill the migrated database; the seconds each step took."""
    timings: dict[str, float] = {}
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(CHANNELS_SQL, BIG_CHANNEL, NOW - shape.history, shape.channels)
        await conn.execute(STATE_SQL, NOW)
        await conn.execute(GRANTS_SQL.format(user=BENCH_USER))
        await conn.execute(
            POSTS_SQL, BIG_CHANNEL, shape.big_posts, NOW, shape.history, shape.small_posts
        )
        samples = max(1, int(shape.history / timedelta(hours=12)))
        await conn.execute(SUBSCRIBERS_SQL.format(big=BIG_CHANNEL), NOW, samples)
        bounds = await conn.fetchrow("SELECT min(id) AS low, max(id) + 1 AS high FROM posts")
        assert bounds is not None
        low, high = int(bounds["low"]), int(bounds["high"])
        timings["channels, posts, subscribers"] = time.perf_counter() - started
    finally:
        await conn.close()

    started = time.perf_counter()
    workers = 2
    step = (high - low) // (workers * 8) + 1
    ranges = [(a, min(a + step, high)) for a in range(low, high, step)]
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in ranges:
        queue.put_nowait(item)

    async def worker() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET session_replication_role = replica")
            await conn.execute("SET synchronous_commit = off")
            while not queue.empty():
                first, last = queue.get_nowait()
                await conn.execute(
                    SNAPSHOTS_SQL.format(big=BIG_CHANNEL), first, last, list(AGES), NOW
                )
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    timings["post_snapshots"] = time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        # session_replication_role = replica above also kept the rollup triggers of
        # migrations/0010 from firing: fill the posts' rollup the way they would have.
        started = time.perf_counter()
        await conn.execute("SELECT post_stats_refresh(ARRAY(SELECT id FROM posts))")
        missing = await conn.fetchval(
            "SELECT count(*) FROM posts AS p WHERE p.stats_latest_at IS NULL"
            " AND EXISTS (SELECT 1 FROM post_snapshots AS ps WHERE ps.post_id = p.id)"
        )
        if missing:
            raise RuntimeError(f"{missing} sampled posts have no rollup")
        timings["posts rollup"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.perf_counter() - started
    finally:
        await conn.close()
    return timings


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    """Rows per table."""
    result: dict[str, int] = {}
    async with pool.acquire() as conn:
        for table in ("channels", "posts", "post_snapshots", "channel_snapshots"):
            result[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        result["big channel posts"] = await conn.fetchval(
            "SELECT count(*) FROM posts WHERE channel_id = $1", BIG_CHANNEL
        )
    return result


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Figures:
    """Latencies of one measured call, in seconds."""

    latencies: list[float]
    seconds: float

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def load(
    call: Callable[[int], Awaitable[object]], calls: int, concurrency: int,
    budget: float, warmup: int = 5,
) -> Figures:  # fmt: skip
    """``calls`` calls of ``call(i)`` from ``concurrency`` workers, after a warm-up; fewer
    when ``budget`` seconds run out (a slow query still gets a few hundred samples)."""
    for i in range(min(warmup, calls)):
        await call(i)
    counter = iter(range(calls))
    latencies: list[float] = []
    deadline = time.perf_counter() + budget

    async def worker() -> None:
        for i in counter:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Figures(latencies, time.perf_counter() - started)


def stamp(moment: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(moment)
    return result


@dataclass(frozen=True)
class Target:
    """A channel under test and the posts whose detail is asked."""

    label: str
    channel_id: int
    message_ids: list[int]


Call = Callable[[int], Awaitable[object]]


def grpc_calls(
    stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub, metadata: Sequence[tuple[str, str]],
    target: Target,
) -> dict[str, Call]:  # fmt: skip
    """The measured RPCs on ``target``."""
    cid = target.channel_id
    md = tuple(metadata)

    async def overview(_: int) -> object:
        return await stub.GetChannelOverview(
            analytics_pb2.GetChannelOverviewRequest(channel_id=cid), metadata=md
        )

    cached_request = analytics_pb2.GetChannelOverviewRequest(
        channel_id=cid, period_start=stamp(NOW - OVERVIEW_DAYS), period_end=stamp(NOW)
    )

    async def overview_cached(_: int) -> object:
        return await stub.GetChannelOverview(cached_request, metadata=md)

    async def posts(_: int) -> object:
        return await stub.ListPosts(
            posts_pb2.ListPostsRequest(
                channel_id=cid, sort=posts_pb2.POST_SORT_VIEWS, page_size=50
            ),
            metadata=md,
        )

    async def post(i: int) -> object:
        message_id = target.message_ids[i % len(target.message_ids)]
        return await stub.GetPost(
            posts_pb2.GetPostRequest(channel_id=cid, message_id=message_id), metadata=md
        )

    async def best_time(_: int) -> object:
        return await stub.GetBestTime(series_pb2.GetBestTimeRequest(channel_id=cid), metadata=md)

    # The same questions made unique per call (a start one microsecond apart), so no
    # two callers share a computation: what one computation costs under load.
    def unique(days: timedelta, i: int) -> Timestamp:
        return stamp(NOW - days + timedelta(microseconds=i + 1))

    async def overview_each(i: int) -> object:
        return await stub.GetChannelOverview(
            analytics_pb2.GetChannelOverviewRequest(
                channel_id=cid, period_start=unique(OVERVIEW_DAYS, i)
            ),
            metadata=md,
        )

    async def posts_each(i: int) -> object:
        return await stub.ListPosts(
            posts_pb2.ListPostsRequest(
                channel_id=cid, sort=posts_pb2.POST_SORT_VIEWS, page_size=50,
                period_start=unique(LIST_DAYS, i),
            ),
            metadata=md,
        )  # fmt: skip

    async def best_time_each(i: int) -> object:
        return await stub.GetBestTime(
            series_pb2.GetBestTimeRequest(channel_id=cid, period_start=unique(BEST_TIME_DAYS, i)),
            metadata=md,
        )

    return {
        "overview": overview,
        "overview, each computed": overview_each,
        "overview (Redis hit)": overview_cached,
        "posts list": posts,
        "posts list, each computed": posts_each,
        "post detail": post,
        "post detail, asked again": post,
        "best-time": best_time,
        "best-time, each computed": best_time_each,
    }


def sql_calls(pool: asyncpg.Pool, target: Target) -> dict[str, Call]:
    """The statements each use case runs, in its transaction, with nothing around them."""
    cid = target.channel_id
    ro: dict[str, Any] = {"isolation": "repeatable_read", "readonly": True}

    async def overview(_: int) -> object:
        start, prev = NOW - OVERVIEW_DAYS, NOW - 2 * OVERVIEW_DAYS
        async with pool.acquire() as conn, conn.transaction(**ro):
            await conn.fetchrow(repository.CHANNEL_SQL, cid)
            await conn.fetch(repository.SUBSCRIBERS_AT_SQL, cid, [prev, start, NOW])
            for a, b in ((start, NOW), (prev, start)):
                await conn.fetch(
                    posts_repository.POSTS_SQL, cid, min(a, b - ERR_WINDOW), b, b,
                    list(REACH_HORIZONS),
                )  # fmt: skip
            return await conn.fetchval(repository.FRESHNESS_SQL, cid)

    async def posts(_: int) -> object:
        async with pool.acquire() as conn, conn.transaction(**ro):
            await conn.fetchrow(repository.CHANNEL_SQL, cid)
            return await conn.fetch(
                posts_repository.POSTS_SQL, cid, NOW - LIST_DAYS - BASELINE_WINDOW, NOW, NOW,
                list(REACH_HORIZONS),
            )  # fmt: skip

    async def post(i: int) -> object:
        message_id = target.message_ids[i % len(target.message_ids)]
        async with pool.acquire() as conn, conn.transaction(**ro):
            await conn.fetchrow(repository.CHANNEL_SQL, cid)
            row = await conn.fetchrow(posts_repository.POST_SQL, cid, message_id)
            assert row is not None
            await conn.fetch(posts_repository.POST_SAMPLES_SQL, row["id"])
            published = row["published_at"]
            return await conn.fetch(
                posts_repository.POST_CURVES_SQL,
                cid,
                published - BASELINE_WINDOW,
                published,
            )

    async def best_time(_: int) -> object:
        start = NOW - BEST_TIME_DAYS
        async with pool.acquire() as conn, conn.transaction(**ro):
            await conn.fetchval(posts_repository.CHANNEL_ZONE_SQL, cid)
            return await conn.fetch(
                posts_repository.POSTS_SQL, cid, start - BASELINE_WINDOW, NOW, NOW, [DAY]
            )

    return {
        "overview": overview,
        "overview, each computed": overview,
        "overview (Redis hit)": overview,
        "posts list": posts,
        "posts list, each computed": posts,
        "post detail": post,
        "post detail, asked again": post,
        "best-time": best_time,
        "best-time, each computed": best_time,
    }


@dataclass(frozen=True)
class Row:
    """One query on one channel, over gRPC and as bare SQL."""

    query: str
    channel: str
    grpc: Figures
    sql: Figures
    single: float


def row_markdown(row: Row) -> str:
    g50, g99 = row.grpc.quantile(0.5), row.grpc.quantile(0.99)
    s50, s99 = row.sql.quantile(0.5), row.sql.quantile(0.99)
    goals = []
    if row.query.startswith("overview"):
        goals.append("≤2x" if g50 / s50 <= OVERVIEW_RATIO_GOAL else "**>2x**")
    goals.append("p99 ok" if g99 <= P99_GOAL_MS else "**p99 miss**")
    return (
        f"| {row.query} | {row.channel} | {g50:.1f} | {g99:.1f} | {row.grpc.rate:,.0f} | "
        f"{s50:.1f} | {s99:.1f} | {row.sql.rate:,.0f} | {g50 / s50:.2f}x | "
        f"{g99 / s99:.2f}x | {row.single:.1f} | {', '.join(goals)} |"
    )


TABLE_HEAD = (
    "| query | channel | gRPC p50 ms | gRPC p99 ms | gRPC calls/s | SQL p50 ms | SQL p99 ms "
    "| SQL calls/s | p50 gRPC/SQL | p99 gRPC/SQL | gRPC p50 @c=1 ms | goals |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


# ---------------------------------------------------------------- server and streams


async def _start_server(
    pool: asyncpg.Pool,
    client: redis.Redis,
    prefix: str,
    jwks: Mapping[str, Any],
    grants_url: str | None,
) -> tuple[GrpcServer, int, asyncio.Task[None]]:
    """A started analytics server on port 0 with a real key ring, cache, event hub and
    grant cache (listening to ``grants_url``; None: roles read on every call). The
    returned task runs the hub and the grant cache."""

    async def fetch_jwks() -> Mapping[str, Any]:
        return jwks

    authorizer = Authorizer(KeyRing(fetch_jwks))
    await authorizer.keys.refresh()
    hub = EventHub(client, topic_prefix=f"{prefix}channel:")
    cache = ResponseCache(client, prefix=f"{prefix}cache:", ttl_seconds=300)
    grants = GrantCache(pool, grants_url)

    async def background() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(hub.run())
            if grants.listens:
                group.create_task(grants.run())

    hub_task = asyncio.create_task(background())
    deadline = time.monotonic() + 10
    while grants.listens and not grants.listening:
        if time.monotonic() > deadline:
            raise RuntimeError("the grant cache did not start listening")
        await asyncio.sleep(0.01)
    server = build(pool, authorizer, port=0, clock=lambda: NOW, hub=hub, cache=cache, grants=grants)
    await server.start()
    return server, server.port, hub_task


async def _serve(
    url: str,
    redis_url: str,
    prefix: str,
    jwks: Mapping[str, Any],
    pool_size: int,
    grant_cache: bool,
    tuned_gc: bool,
    pipe: Connection,
) -> None:
    pool = await create_pool(url, min_size=pool_size, max_size=pool_size)
    client = create_redis(redis_url)
    server, port, hub_task = await _start_server(
        pool, client, prefix, jwks, url if grant_cache else None
    )
    if tuned_gc:
        tune_gc()  # as run_until_signal does in a deployed service
    pipe.send(port)
    try:
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    finally:
        await server.stop(grace=1)
        hub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub_task
        await client.aclose()
        await pool.close()


def _server_process(
    url: str,
    redis_url: str,
    prefix: str,
    jwks: Mapping[str, Any],
    pool_size: int,
    grant_cache: bool,
    tuned_gc: bool,
    pipe: Connection,
) -> None:
    asyncio.run(_serve(url, redis_url, prefix, jwks, pool_size, grant_cache, tuned_gc, pipe))


@contextlib.asynccontextmanager
async def analytics_server(
    url: str,
    pool: asyncpg.Pool,
    client: redis.Redis,
    prefix: str,
    signer: TokenSigner,
    *,
    same_process: bool,
    grant_cache: bool = True,
    tuned_gc: bool = True,
) -> AsyncIterator[int]:
    """The analytics server under test: in a process of its own (as deployed: the
    bench's clients do not share its event loop), or with ``same_process`` in this one,
    on ``pool``. Yields its port."""
    jwks = signer.jwks()
    try:
        if same_process:
            server, port, hub_task = await _start_server(
                pool, client, prefix, jwks, url if grant_cache else None
            )
            try:
                yield port
            finally:
                await server.stop(grace=1)
                hub_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hub_task
        else:
            spawn = multiprocessing.get_context("spawn")
            parent, child = spawn.Pipe()
            redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
            process = spawn.Process(
                target=_server_process,
                args=(
                    url,
                    redis_url,
                    prefix,
                    jwks,
                    pool.get_max_size(),
                    grant_cache,
                    tuned_gc,
                    child,
                ),
                daemon=True,
            )
            process.start()
            loop = asyncio.get_running_loop()
            try:
                yield await asyncio.wait_for(loop.run_in_executor(None, parent.recv), 120)
            finally:
                parent.send("stop")
                await loop.run_in_executor(None, process.join, 30)
                if process.is_alive():
                    process.kill()
    finally:
        keys: list[Any] = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)


async def publish_event(client: redis.Redis, prefix: str, channel_id: int, at: datetime) -> None:
    """``services.collector.events.EventPublisher.publish`` under the bench's names: one
    pipeline with XADD to the ingest stream and PUBLISH of the JSON event."""
    stamp_ = at.isoformat()
    payload = json.dumps({"channel_id": channel_id, "kind": "subscribers", "at": stamp_})
    async with client.pipeline(transaction=False) as pipe:
        pipe.xadd(
            f"{prefix}events:ingest",
            {"channel_id": str(channel_id), "kind": "subscribers", "at": stamp_},
            maxlen=100_000,
            approximate=True,
        )
        pipe.publish(f"{prefix}channel:{channel_id}", payload)
        await pipe.execute()


@dataclass(frozen=True)
class WatchResult:
    streams: int
    latencies: list[float]
    expected: int
    correct: int
    open_seconds: float


async def watch(
    port: int, pool: asyncpg.Pool, client: redis.Redis, prefix: str,
    metadata: Sequence[tuple[str, str]], streams: int, limit_seconds: float,
) -> WatchResult:  # fmt: skip
    """Open ``streams`` WatchChannel streams on the big channel over a few client
    connections, commit a subscriber sample, publish the event, time each delivery."""
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(8)]
    initial = asyncio.Semaphore(0)
    arrived: list[float] = []
    values: list[int] = []
    committed_at = 0.0
    new_count = 0

    async def one(i: int) -> None:
        stub = _stub(channels[i % len(channels)])
        call = stub.WatchChannel(
            analytics_pb2.WatchChannelRequest(channel_id=BIG_CHANNEL), metadata=tuple(metadata)
        )
        first = True
        async for message in call:
            if first:
                first = False
                initial.release()
                continue
            arrived.append(time.perf_counter())
            values.append(int(message.overview.current.subscribers_end.value))
            call.cancel()
            return

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(i)) for i in range(streams)]
    try:
        for _ in range(streams):
            await asyncio.wait_for(initial.acquire(), limit_seconds)
        opened = time.perf_counter() - started
        await asyncio.sleep(0.5)  # let every stream settle on its queue
        async with pool.acquire() as conn:
            newest = await conn.fetchrow(
                "SELECT sampled_at, subscribers FROM channel_snapshots WHERE channel_id = $1 "
                "ORDER BY sampled_at DESC LIMIT 1",
                BIG_CHANNEL,
            )
            assert newest is not None, "the big channel has subscriber samples"
            new_count = int(newest["subscribers"]) + 1234
            # A moment no earlier run (--reuse) has used, still before NOW.
            at = max(NOW - timedelta(seconds=1), newest["sampled_at"] + timedelta(microseconds=1))
            await conn.execute(
                "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
                "VALUES ($1, $2, $3)",
                BIG_CHANNEL, at, new_count,
            )  # fmt: skip
        committed_at = time.perf_counter()
        await publish_event(client, prefix, BIG_CHANNEL, NOW)
        await asyncio.wait_for(asyncio.gather(*tasks), limit_seconds)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close()
    return WatchResult(
        streams=streams,
        latencies=[a - committed_at for a in arrived],
        expected=new_count,
        correct=sum(1 for v in values if v == new_count),
        open_seconds=opened,
    )


def _stub(channel: grpc.aio.Channel) -> analytics_pb2_grpc.AnalyticsServiceAsyncStub:
    make: Callable[[grpc.aio.Channel], object] = analytics_pb2_grpc.AnalyticsServiceStub
    return cast("analytics_pb2_grpc.AnalyticsServiceAsyncStub", make(channel))


# ---------------------------------------------------------------- run


@dataclass(frozen=True)
class Report:
    shape: Shape
    rows_per_table: dict[str, int]
    generation: dict[str, float]
    rows: list[Row]
    watch: WatchResult


async def pick_targets(pool: asyncpg.Pool, seed: int) -> list[Target]:
    rng = random.Random(seed)
    small = BIG_CHANNEL + rng.randrange(1, CHANNELS)
    targets = []
    async with pool.acquire() as conn:
        for label, cid in (("big", BIG_CHANNEL), (f"small ({small})", small)):
            ids = [
                r["message_id"]
                for r in await conn.fetch(
                    "SELECT message_id FROM posts WHERE channel_id = $1 AND published_at < $2",
                    cid,
                    NOW - DAY,
                )
            ]
            targets.append(Target(label, cid, [rng.choice(ids) for _ in range(500)]))
    return targets


async def measure(
    port: int, pool: asyncpg.Pool, bare: asyncpg.Pool, metadata: Sequence[tuple[str, str]],
    targets: list[Target], calls: int, concurrency: int, budget: float,
) -> list[Row]:  # fmt: skip
    rows: list[Row] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = _stub(channel)
        for target in targets:
            over_grpc = grpc_calls(stub, metadata, target)
            over_sql = sql_calls(bare, target)
            for name, call in over_grpc.items():
                single = await load(call, min(100, calls), 1, budget / 4)
                g = await load(call, calls, concurrency, budget)
                s = await load(over_sql[name], calls, concurrency, budget)
                rows.append(Row(name, target.label, g, s, single.quantile(0.5)))
                print(row_markdown(rows[-1]), flush=True)
    return rows


async def run(
    scale: float,
    calls: int,
    concurrency: int,
    pool_size: int,
    budget: float,
    keep: bool,
    same_process: bool,
    reuse: str | None = None,
    grant_cache: bool = True,
    tuned_gc: bool = True,
) -> Report:
    """Create a scratch database, generate, measure, drop it (``reuse``: measure a
    database an earlier ``--keep`` run left, generated at the same ``scale``, and keep
    it)."""
    shape = Shape.of(scale)
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = reuse or f"ab_bench_analytics_{uuid.uuid4().hex[:8]}"
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    admin = await asyncpg.connect(admin_url)
    if reuse is None:
        await admin.execute(f'CREATE DATABASE "{name}"')
    else:
        keep = True
    try:
        url = _scratch_url(admin_url, name)
        plain = await asyncpg.connect(url)
        try:
            await migrate(plain)
        finally:
            await plain.close()
        started = time.perf_counter()
        generation = {} if reuse else await generate(url, shape)
        generation["total"] = time.perf_counter() - started
        print(f"generated in {generation['total']:.1f} s: {generation}", flush=True)
        pool = await create_pool(url, min_size=pool_size, max_size=pool_size)
        bare = await create_pool(url, min_size=pool_size, max_size=pool_size)
        client = create_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS))
        try:
            rows_per_table = await counts(pool)
            print(rows_per_table, flush=True)
            signer = TokenSigner([SigningKey.generate()])
            token, _ = signer.issue("access", str(BENCH_USER), 3600)
            metadata = (("authorization", f"Bearer {token}"),)
            targets = await pick_targets(pool, seed=7)
            streams = max(100, round(1000 * min(1.0, scale)))
            async with analytics_server(
                url,
                pool,
                client,
                prefix,
                signer,
                same_process=same_process,
                grant_cache=grant_cache,
                tuned_gc=tuned_gc,
            ) as port:
                print(TABLE_HEAD, flush=True)
                rows = []
                if calls > 0:
                    rows = await measure(
                        port, pool, bare, metadata, targets, calls, concurrency, budget
                    )
                result = await watch(port, pool, client, prefix, metadata, streams, 600.0)
        finally:
            await client.aclose()
            await bare.close()
            await pool.close()
        return Report(shape, rows_per_table, generation, rows, result)
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def watch_markdown(result: WatchResult) -> str:
    ordered = sorted(result.latencies)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return (
        "| streams | opened in s | delivered | with the new count | p50 ms | p99 ms | max ms |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {result.streams} | {result.open_seconds:.1f} | {len(ordered)} | {result.correct} | "
        f"{q(0.5):.1f} | {q(0.99):.1f} | {ordered[-1] * 1000:.1f} |"
    )


def main() -> None:
    """Parse arguments, run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--calls", type=int, default=2000, help="0: WatchChannel only")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pool", type=int, default=10, help="server and bare SQL pool size")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="run the server in the bench's own process and event loop (as before 2026-11-26)",
    )
    parser.add_argument(
        "--reuse", metavar="DATABASE", help="measure a database kept by --keep (same --scale)"
    )
    parser.add_argument(
        "--no-grant-cache",
        action="store_true",
        help="the server reads every caller's role from grants (as before 2026-11-26)",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="leave the server's garbage collector as CPython sets it (as before 2026-11-26)",
    )
    args = parser.parse_args()
    report = asyncio.run(
        run(
            args.scale,
            args.calls,
            args.concurrency,
            args.pool,
            args.budget,
            args.keep,
            args.same_process,
            args.reuse,
            not args.no_grant_cache,
            not args.default_gc,
        )
    )
    print()
    print(
        f"scale {args.scale}: {report.rows_per_table}; generated in "
        f"{report.generation['total']:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.generation.items() if k != "total")
        + f"); concurrency {args.concurrency}, up to {args.calls} calls or {args.budget:.0f} s "
        f"each, pools of {args.pool}, server "
        + ("in the bench's process" if args.same_process else "in its own process")
        + ("" if not args.no_grant_cache else ", no grant cache")
        + ("" if not args.default_gc else ", default gc")
        + "\n"
    )
    print(TABLE_HEAD)
    for row in report.rows:
        print(row_markdown(row))
    print()
    print(watch_markdown(report.watch))


if __name__ == "__main__":
    main()
