"""SQL of the collector's work queue (``collection_state`` leases); free functions whose
first argument is a connection.

``next_run_at`` is collector time (simulated in a demo); leases use the database's
``now()`` because they guard against real crashes of real processes.
"""

from __future__ import annotations

from datetime import datetime

from services.collector.repository import Conn


async def claim_due(
    conn: Conn, owner: str, now: datetime, limit: int, lease_seconds: float
) -> list[int]:
    """Lease up to ``limit`` due, unpaused channels to ``owner``.

    A channel is due when ``next_run_at <= now`` (collector time) and nobody else holds a
    live lease on it (database time). ``owner``'s own leases count as free: a run whose
    release failed (the database blinked) left one behind, and the scheduler claims only
    after every run it started has ended, so none of them is still in flight.
    ``SKIP LOCKED`` lets replicas claim concurrently without waiting on each other or
    taking the same channel.
    """
    rows = await conn.fetch(
        """WITH due AS (
               SELECT s.channel_id FROM collection_state s JOIN channels c ON c.id = s.channel_id
               WHERE s.next_run_at <= $2 AND NOT c.paused
                 AND (s.lease_until IS NULL OR s.lease_until < now() OR s.lease_owner = $1)
               ORDER BY s.next_run_at, s.channel_id
               LIMIT $3
               FOR UPDATE OF s SKIP LOCKED)
           UPDATE collection_state s
           SET lease_owner = $1, lease_until = now() + make_interval(secs => $4)
           FROM due WHERE s.channel_id = due.channel_id
           RETURNING s.channel_id""",
        owner,
        now,
        limit,
        lease_seconds,
    )
    return sorted(int(r["channel_id"]) for r in rows)


async def release(
    conn: Conn,
    channel_id: int,
    owner: str,
    next_run_at: datetime,
    error: str | None,
    now: datetime,
) -> bool:
    """End ``owner``'s lease, schedule the next run and record (or clear) the error.

    Returns False if the lease was lost (expired and taken by another replica).
    """
    status = await conn.execute(
        """UPDATE collection_state SET lease_owner = NULL, lease_until = NULL,
               next_run_at = $3,
               last_error = $4,
               last_error_at = CASE WHEN $4::text IS NULL THEN last_error_at ELSE $5 END
           WHERE channel_id = $1 AND lease_owner = $2""",
        channel_id,
        owner,
        next_run_at,
        error,
        now,
    )
    return status.endswith(" 1")


async def simulated_resume_point(conn: Conn, low: int, high: int) -> datetime | None:
    """The latest collector time recorded for channels with ids in [low, high).

    Every write is stamped with the collector's clock: refreshes and subscriber samples in
    ``collection_state``, and every stored post (backfill pages and new-post polls too,
    which touch no state) in ``posts.last_checked_at``. A restarted simulated clock must
    start after all of them, or it would stamp new samples before ones already stored.
    """
    value: datetime | None = await conn.fetchval(
        """SELECT greatest(
               (SELECT max(greatest(last_refresh_at, last_subscribers_at, last_stats_at))
                FROM collection_state WHERE channel_id >= $1 AND channel_id < $2),
               (SELECT max(last_checked_at) FROM posts
                WHERE channel_id >= $1 AND channel_id < $2))""",
        low,
        high,
    )
    return value


async def next_due_run(conn: Conn) -> datetime | None:
    """The earliest ``next_run_at`` of any unpaused channel."""
    value: datetime | None = await conn.fetchval(
        """SELECT min(s.next_run_at) FROM collection_state s
           JOIN channels c ON c.id = s.channel_id WHERE NOT c.paused"""
    )
    return value
