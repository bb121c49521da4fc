"""The worker loop: leases keep replicas apart, cadence keeps snapshots few."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from services.collector import jobs
from services.collector.clock import ManualClock
from services.collector.scheduler import Scheduler
from services.collector.service import Collector
from services.collector.simulator import username_of


async def test_two_replicas_never_claim_the_same_channel(
    pool: asyncpg.Pool, collector: Collector, unique_id: int
) -> None:
    numbers = [1000 + (unique_id + i) % 10_000_000 for i in range(6)]
    async with pool.acquire() as conn:
        for number in numbers:
            await collector.track_channel(conn, f"@{username_of(number)}")
    now = collector.clock.now()

    async def claim(owner: str) -> list[int]:
        async with pool.acquire() as conn:
            return await jobs.claim_due(conn, owner, now, 100, 60)

    a, b = await asyncio.gather(claim(f"a-{unique_id}"), claim(f"b-{unique_id}"))
    assert not set(a) & set(b)
    async with pool.acquire() as conn:
        # Leases held: nobody else gets them, even when due.
        assert not set(await jobs.claim_due(conn, f"c-{unique_id}", now, 100, 60)) & {
            *a,
            *b,
        }
        # A lease its owner never released (the release failed) is its owner's again at
        # once, and still nobody else's.
        mine = a[0] if a else b[0]
        owner_of_mine = f"a-{unique_id}" if a else f"b-{unique_id}"
        other = f"b-{unique_id}" if a else f"a-{unique_id}"
        assert mine not in await jobs.claim_due(conn, other, now, 100, 60)
        assert mine in await jobs.claim_due(conn, owner_of_mine, now, 100, 60)
        # An expired lease is handed over.
        victim = (a or b)[0]
        await conn.execute(
            "UPDATE collection_state SET lease_until = now() - interval '1 second'"
            " WHERE channel_id = $1",
            victim,
        )
        taken = await jobs.claim_due(conn, f"d-{unique_id}", now, 100, 60)
        assert victim in taken
        # The old owner can no longer release it.
        owner = f"a-{unique_id}" if victim in a else f"b-{unique_id}"
        assert not await jobs.release(conn, victim, owner, now, None, now)


async def test_scheduled_collection_keeps_snapshots_per_post_under_budget(
    pool: asyncpg.Pool, collector: Collector, clock: ManualClock, number: int, channel_id: int
) -> None:
    async with pool.acquire() as conn:
        await collector.track_channel(conn, f"@{username_of(number)}")
    scheduler = Scheduler(pool, collector, owner=f"test-{channel_id}", concurrency=1)
    # Eight simulated days in 30-minute steps; the scheduler runs whatever is due.
    for _ in range(2 * 24 * 8):
        clock.advance(timedelta(minutes=30))
        await scheduler.run_until(50)
    async with pool.acquire() as conn:
        per_post = await conn.fetch(
            """SELECT p.published_at, count(s.*) AS rows FROM posts p
               JOIN post_snapshots s ON s.post_id = p.id
               WHERE p.channel_id = $1 GROUP BY p.id""",
            channel_id,
        )
        subscribers = await conn.fetchval(
            "SELECT count(*) FROM channel_snapshots WHERE channel_id = $1", channel_id
        )
        state = await conn.fetchrow(
            "SELECT backfill_state, last_error FROM collection_state WHERE channel_id = $1",
            channel_id,
        )
    assert state is not None
    assert state["backfill_state"] == "done"
    assert state["last_error"] is None
    live = [r["rows"] for r in per_post if r["published_at"] > clock.now() - timedelta(days=7)]
    assert live
    assert max(live) < 50
    assert max(live) >= 12  # young posts were followed densely
    assert 24 * 8 * 0.5 < subscribers <= 24 * 8 + 1  # hourly, only when changed


async def test_resume_point_is_after_every_stamped_write(
    pool: asyncpg.Pool, collector: Collector, clock: ManualClock, number: int, channel_id: int
) -> None:
    """A restarted simulated clock starts after every stored stamp, including backfill
    pages, which touch no collection state."""
    async with pool.acquire() as conn:
        await collector.track_channel(conn, f"@{username_of(number)}")
        clock.advance(timedelta(hours=5))
        await collector.backfill_page(conn, channel_id)
        stamped = clock.now()
        state = await conn.fetchrow(
            "SELECT last_refresh_at, last_subscribers_at FROM collection_state"
            " WHERE channel_id = $1",
            channel_id,
        )
        assert state is not None
        recorded = [v for v in (state["last_refresh_at"], state["last_subscribers_at"]) if v]
        assert all(v < stamped for v in recorded)  # the state alone would go back in time
        resume = await jobs.simulated_resume_point(conn, channel_id, channel_id + 1)
    assert resume == stamped
