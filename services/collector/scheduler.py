"""The collector's worker loop: claim due channels under a lease, run them, reschedule.

Replicas share ``collection_state`` as a work queue. A claim takes due channels with
``FOR UPDATE SKIP LOCKED`` and stamps ``lease_owner``/``lease_until`` (database time), so
two replicas never run the same channel at once and a replica that dies hands its
channels over when the lease expires. ``next_run_at`` is in collector (possibly
simulated) time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta

import asyncpg

from analyticbot.runtime.errors import DomainError
from services.collector import jobs
from services.collector.domain import AccountsResting
from services.collector.service import Collector

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
RETRY_AFTER = timedelta(minutes=5)
# Errors that fail one channel's run and are retried later; anything else stops the loop.
_RETRYABLE: tuple[type[BaseException], ...] = (
    DomainError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def default_owner() -> str:
    """A lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Scheduler:
    """Runs due channels of ``collector`` with at most ``concurrency`` at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        collector: Collector,
        *,
        owner: str | None = None,
        concurrency: int = 4,
        lease_seconds: float = LEASE_SECONDS,
        max_idle: float = 1.0,
    ) -> None:
        self._pool = pool
        self._collector = collector
        self.owner = owner or default_owner()
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self._max_idle = max_idle

    async def run_once(self) -> int:
        """Claim and run the channels due now; returns how many ran."""
        now = self._collector.clock.now()
        async with self._pool.acquire() as conn:
            claimed = await jobs.claim_due(
                conn, self.owner, now, self._concurrency, self._lease_seconds
            )
        if claimed:
            await asyncio.gather(*(self._run(channel_id) for channel_id in claimed))
        return len(claimed)

    async def _run(self, channel_id: int) -> None:
        clock = self._collector.clock
        error: str | None = None
        async with self._pool.acquire() as conn:
            try:
                next_run = await self._collector.run_channel(conn, channel_id)
            except AccountsResting as exc:
                # Every account rests: come back when one is free, not later.
                error = f"{type(exc).__name__}: {exc}"[:1000]
                log.warning("channel %d waits for an account: %s", channel_id, error)
                retry = clock.now() + RETRY_AFTER
                next_run = min(exc.retry_at, retry) if exc.retry_at is not None else retry
            except _RETRYABLE as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000]
                log.warning("collecting channel %d failed: %s", channel_id, error)
                next_run = clock.now() + RETRY_AFTER
            kept = await jobs.release(conn, channel_id, self.owner, next_run, error, clock.now())
        if not kept:
            log.warning("lease on channel %d expired before the run finished", channel_id)

    async def run_until(self, until: int | None = None) -> int:
        """Run until nothing is due (or ``until`` runs were made); returns runs made."""
        runs = 0
        while until is None or runs < until:
            ran = await self.run_once()
            if ran == 0:
                break
            runs += ran
        return runs

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, idling until the next channel is due."""
        log.info("collector scheduler %s started", self.owner)
        while not stop.is_set():
            try:
                ran = await self.run_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("claiming work failed: %s", exc)
                ran = 0
            if ran:
                continue
            delay = await self._idle_delay()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        log.info("collector scheduler %s stopped", self.owner)

    async def _idle_delay(self) -> float:
        async with self._pool.acquire() as conn:
            next_due = await jobs.next_due_run(conn)
        if next_due is None:
            return self._max_idle
        wait = self._collector.clock.real_seconds_until(next_due)
        return min(max(wait, 0.01), self._max_idle)
