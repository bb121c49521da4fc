"""kill -9 during a backfill loses and duplicates nothing; two processes never run the
same channel at once; a dead process's leases move after they expire."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis

from services.collector.repository import Conn
from services.collector.simulator import channel_id_of
from tests.support import ROOT

WORKER = "tests.integration.collector.crash_worker"


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """Kill the workers a test started and left running (a failed assertion mid-test):
    one left behind would go on collecting the session database's due channels, other
    tests' included, and fail them too."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _start(database_url: str, redis_url: str, owner: str, lease: float, seed: int,
           numbers: list[int]) -> subprocess.Popen[str]:  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", WORKER, database_url, redis_url, owner, str(lease), str(seed)]
        + [str(n) for n in numbers],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _STARTED.append(process)
    return process


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read() if process.stderr else line


def _finish(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err[-3000:]
    assert "done" in out


async def _until_more_posts(
    pool: asyncpg.Pool, channel_id: int, before: int, worker: subprocess.Popen[str]
) -> None:
    """Wait until more than ``before`` posts are stored (or the worker has exited)."""
    deadline = time.monotonic() + 30
    while worker.poll() is None and time.monotonic() < deadline:
        async with pool.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT count(*) FROM posts WHERE channel_id = $1", channel_id
            )
        if stored > before:
            return
        await asyncio.sleep(0.02)


async def _rows(conn: Conn, channel_id: int) -> dict[str, list[Any]]:
    queries = {
        "posts": """SELECT message_id, published_at, edited_at, deleted_at, media_type,
                           text_preview, grouped_id, first_seen_at, next_refresh_at
                    FROM posts WHERE channel_id = $1 ORDER BY message_id""",
        "post_snapshots": """SELECT p.message_id, s.sampled_at, s.views, s.forwards,
                                    s.replies, s.reactions_total, s.reactions
                             FROM post_snapshots s JOIN posts p ON p.id = s.post_id
                             WHERE p.channel_id = $1 ORDER BY 1, 2""",
        "channel_snapshots": """SELECT sampled_at, subscribers FROM channel_snapshots
                                WHERE channel_id = $1 ORDER BY sampled_at""",
        "broadcast_stats": """SELECT collected_at, period, payload FROM broadcast_stats
                              WHERE channel_id = $1 ORDER BY collected_at""",
        "state": """SELECT backfill_state, backfill_cursor, history_total, last_subscribers_at
                    FROM collection_state WHERE channel_id = $1""",
    }
    return {
        name: [tuple(r) for r in await conn.fetch(q, channel_id)] for name, q in queries.items()
    }


async def test_sigkill_at_random_points_of_a_backfill_stores_the_clean_runs_rows(
    database_url: str, redis_url: str, pool: asyncpg.Pool, unique_id: int
) -> None:
    number = 2000 + unique_id % 1_000_000
    channel_id = channel_id_of(number)
    seed = unique_id
    clean = _start(database_url, redis_url, f"clean-{seed}", 1.0, seed, [number])
    _wait_ready(clean)
    _finish(clean)
    async with pool.acquire() as conn:
        expected = await _rows(conn, channel_id)
        await conn.execute("DELETE FROM channels WHERE id = $1", channel_id)
    assert len(expected["posts"]) > 500  # several pages of 100: kills land mid-backfill

    rng = random.Random(seed)
    kills = 0
    at_kill: list[int] = []
    for attempt in range(8):
        owner = f"crash-{seed}-{attempt}"
        worker = _start(database_url, redis_url, owner, 1.0, seed, [number])
        _wait_ready(worker)
        # Kill while it works: once it has committed a page of its own (the dead one's
        # lease must expire first), at a random point of what follows.
        await _until_more_posts(pool, channel_id, at_kill[-1] if at_kill else 0, worker)
        await asyncio.sleep(rng.uniform(0.0, 0.15))
        if worker.poll() is not None:
            worker.communicate(timeout=30)  # finished on its own: read and close its pipes
            break
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        kills += 1
        async with pool.acquire() as conn:
            at_kill.append(
                await conn.fetchval("SELECT count(*) FROM posts WHERE channel_id = $1", channel_id)
            )
    final = _start(database_url, redis_url, f"final-{seed}", 1.0, seed, [number])
    _wait_ready(final)
    _finish(final)
    async with pool.acquire() as conn:
        stored = await _rows(conn, channel_id)
        posts_after = await conn.fetchval(
            "SELECT count(*) FROM posts WHERE channel_id = $1", channel_id
        )
    assert kills >= 2, f"only {kills} kills landed before the backfill finished"
    total = len(expected["posts"])
    assert any(0 < n < total for n in at_kill), f"no kill landed mid-backfill: {at_kill}"
    assert posts_after == total
    assert stored == expected


async def test_two_processes_never_run_a_channel_at_once_and_leases_move_after_death(
    database_url: str, redis_url: str, pool: asyncpg.Pool, redis_client: redis.Redis,
    unique_id: int,
) -> None:  # fmt: skip
    numbers = [3000 + (unique_id + k * 7919) % 1_000_000 for k in range(6)]
    ids = [channel_id_of(n) for n in numbers]
    seed = unique_id
    prefix = f"crashprobe:{seed}"
    lease = 2.0
    first = _start(database_url, redis_url, f"a-{seed}", lease, seed, numbers)
    second = _start(database_url, redis_url, f"b-{seed}", lease, seed, numbers)
    _wait_ready(first)
    _wait_ready(second)
    _finish(first)
    _finish(second)
    assert int(await redis_client.get(f"{prefix}:overlaps") or 0) == 0
    assert int(await redis_client.get(f"{prefix}:runs:a-{seed}") or 0) > 0
    assert int(await redis_client.get(f"{prefix}:runs:b-{seed}") or 0) > 0

    # A process dies holding leases; another takes them only once they expire.
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM channels WHERE id = ANY($1::bigint[])", ids)
    dying = _start(database_url, redis_url, f"dying-{seed}", lease, seed, numbers)
    _wait_ready(dying)
    held: list[Any] = []
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:
        async with pool.acquire() as conn:
            held = await conn.fetch(
                """SELECT channel_id, extract(epoch FROM lease_until) AS until
                   FROM collection_state WHERE lease_owner = $1 AND lease_until > now()""",
                f"dying-{seed}",
            )
    dying.send_signal(signal.SIGKILL)
    dying.communicate(timeout=30)
    assert held, "the dying process never held a lease"
    heir = _start(database_url, redis_url, f"heir-{seed}", lease, seed, numbers)
    _wait_ready(heir)
    _finish(heir)
    first_runs = await redis_client.hgetall(f"{prefix}:first:heir-{seed}")
    for row in held:
        taken_at = float(first_runs[str(row["channel_id"]).encode()])
        assert taken_at >= float(row["until"]) - 0.05  # not before the lease expired
    async with pool.acquire() as conn:
        done = await conn.fetchval(
            """SELECT count(*) FROM collection_state
               WHERE channel_id = ANY($1::bigint[]) AND backfill_state = 'done'""",
            ids,
        )
    assert done == len(ids)
