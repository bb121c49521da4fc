"""Collector use cases: track a channel, backfill a page, refresh counters, sample
subscribers, and one scheduled run of a channel that combines them.

Each use case takes a connection and owns its transactions; Telegram calls happen
outside transactions, and an event is published after every committed batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.collector import repository as repo
from services.collector.clock import Clock
from services.collector.domain import (
    NEW_POST_POLL_INTERVAL,
    STATS_INTERVAL,
    SUBSCRIBER_INTERVAL,
    ChannelNotTracked,
    FullChannel,
    InvalidRequest,
    PostData,
    StatsForbidden,
    dedupe_posts,
    parse_reference,
)
from services.collector.events import EventKind, EventPublisher
from services.collector.repository import Conn, UpsertMethod
from services.collector.source import MAX_PAGE, TelegramSource

log = logging.getLogger(__name__)

# Counter refresh batches per scheduled run; the rest waits for the next run.
MAX_REFRESH_BATCHES = 20
# New-post pages per scheduled run (a channel that posted more resumes next run).
MAX_NEW_PAGES = 5


@dataclass(frozen=True)
class BatchResult:
    """What one committed batch changed."""

    posts: int = 0
    snapshots: int = 0
    deleted: int = 0


class Collector:
    """The collector's use cases over one source, clock and event publisher."""

    def __init__(
        self,
        source: TelegramSource,
        clock: Clock,
        events: EventPublisher,
        *,
        upsert_method: UpsertMethod = "unnest",
    ) -> None:
        self.source = source
        self.clock = clock
        self._events = events
        self._method: UpsertMethod = upsert_method

    async def track_channel(
        self, conn: Conn, reference: str, time_zone: str = ""
    ) -> tuple[repo.ChannelRow, bool]:
        """Start tracking the channel ``reference`` names; idempotent (resumes if paused)."""
        ref = parse_reference(reference)
        zone = time_zone.strip() or None
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise InvalidRequest(f"unknown time zone {zone!r}") from exc
        info = await self.source.resolve_channel(ref)
        async with conn.transaction():
            return await repo.upsert_channel(conn, info, zone, self.clock.now())

    async def set_paused(
        self, conn: Conn, channel_id: int, paused: bool, reason: str = ""
    ) -> repo.ChannelRow:
        """Pause (or resume) collection of a tracked channel; idempotent."""
        async with conn.transaction():
            row = await repo.set_paused(
                conn, channel_id, paused, reason.strip()[:500], self.clock.now()
            )
        if row is None:
            raise ChannelNotTracked(f"channel {channel_id} is not tracked")
        return row

    async def _store(
        self, conn: Conn, channel_id: int, posts: list[PostData], now: datetime
    ) -> BatchResult:
        unique = dedupe_posts(posts)
        ids = await repo.upsert_posts(conn, channel_id, unique, now, method=self._method)
        written = await repo.insert_changed_snapshots(conn, ids, unique, now)
        return BatchResult(posts=len(unique), snapshots=written)

    async def _emit(self, channel_id: int, kind: EventKind, now: datetime) -> None:
        await self._events.publish(channel_id, kind, now)

    async def backfill_page(self, conn: Conn, channel_id: int) -> bool:
        """Read and store the next page of older history; returns True when history is done.

        The page's posts, their snapshots and the new cursor commit together, so a crash
        resumes exactly after the last stored page. Done only when the source returns an
        empty page.
        """
        state = await self._state(conn, channel_id)
        if state.backfill_state == "done":
            return True
        page = await self.source.get_history(
            channel_id, offset_id=state.backfill_cursor or 0, limit=MAX_PAGE
        )
        now = self.clock.now()
        cursor = page.cursor
        done = cursor is None
        async with conn.transaction():
            await self._store(conn, channel_id, page.posts, now)
            await repo.save_backfill_progress(conn, channel_id, cursor, page.total, done)
        await self._emit(channel_id, "backfill", now)
        return done

    async def poll_new_posts(self, conn: Conn, channel_id: int) -> int:
        """Store posts newer than the newest stored one; returns how many were found."""
        newest = await repo.newest_message_id(conn, channel_id)
        found = 0
        offset = 0
        for _ in range(MAX_NEW_PAGES):
            page = await self.source.get_history(
                channel_id, offset_id=offset, min_id=newest, limit=MAX_PAGE
            )
            if not page.posts:
                break
            now = self.clock.now()
            async with conn.transaction():
                await self._store(conn, channel_id, page.posts, now)
            await self._emit(channel_id, "refresh", now)
            found += len(page.posts)
            if len(page.posts) < MAX_PAGE:
                break
            offset = min(p.message_id for p in page.posts)
        return found

    async def refresh_counters(self, conn: Conn, channel_id: int) -> BatchResult:
        """Refresh one batch (≤ 100) of due posts: counters, edits and observed deletions."""
        due = await repo.due_posts(conn, channel_id, self.clock.now(), MAX_PAGE)
        if not due:
            return BatchResult()
        batch = await self.source.get_posts(channel_id, due)
        now = self.clock.now()
        async with conn.transaction():
            stored = await self._store(conn, channel_id, batch.posts, now)
            deleted = await repo.mark_deleted(conn, channel_id, sorted(batch.missing), now)
            await repo.touch_refresh(conn, channel_id, now)
        await self._emit(channel_id, "refresh", now)
        return BatchResult(stored.posts, stored.snapshots, deleted)

    async def sample_subscribers(self, conn: Conn, channel_id: int) -> bool:
        """Store the subscriber count if it changed; returns True if a row was written."""
        return (await self.sample_channel(conn, channel_id))[1]

    async def sample_channel(self, conn: Conn, channel_id: int) -> tuple[FullChannel, bool]:
        """Read the full channel record and store its subscriber count if it changed.

        A record without ``participants_count`` (Telegram hides it from some accounts)
        writes no snapshot: the count is unknown, not zero.
        """
        full = await self.source.get_full_channel(channel_id)
        now = self.clock.now()
        written = False
        async with conn.transaction():
            if full.participants_count is not None:
                written = await repo.insert_subscribers_if_changed(
                    conn, channel_id, full.participants_count, now
                )
            await repo.touch_subscribers(conn, channel_id, now)
        await self._emit(channel_id, "subscribers", now)
        return full, written

    async def collect_native_stats(self, conn: Conn, full: FullChannel) -> bool:
        """Store Telegram's native statistics as one more history row when the account
        may view them; returns True if a row was stored."""
        now = self.clock.now()
        stored = False
        if full.can_view_stats:
            try:
                stats = await self.source.get_broadcast_stats(full.channel_id, full.stats_dc)
            except StatsForbidden as exc:
                log.info("channel %d: native statistics refused: %s", full.channel_id, exc)
            else:
                async with conn.transaction():
                    stored = await repo.insert_broadcast_stats(conn, full.channel_id, stats, now)
                    await repo.touch_stats(conn, full.channel_id, now)
                return stored
        await repo.touch_stats(conn, full.channel_id, now)
        return stored

    async def run_channel(self, conn: Conn, channel_id: int) -> datetime:
        """One scheduled run: backfill a page, new posts, due refreshes, subscribers.

        Returns when the channel should run next (collector time).
        """
        state = await self._state(conn, channel_id)
        now = self.clock.now()
        if state.last_subscribers_at is None or now - state.last_subscribers_at >= (
            SUBSCRIBER_INTERVAL
        ):
            full, _ = await self.sample_channel(conn, channel_id)
            if state.last_stats_at is None or now - state.last_stats_at >= STATS_INTERVAL:
                await self.collect_native_stats(conn, full)
        backfilling = state.backfill_state != "done"
        if backfilling:
            backfilling = not await self.backfill_page(conn, channel_id)
        # New posts once the newest page is stored, or at once when history was empty.
        if state.backfill_cursor is not None or not backfilling:
            await self.poll_new_posts(conn, channel_id)
        for _ in range(MAX_REFRESH_BATCHES):
            result = await self.refresh_counters(conn, channel_id)
            if result.posts + result.deleted < MAX_PAGE:
                break
        return await self._next_run(conn, channel_id, backfilling)

    async def _next_run(self, conn: Conn, channel_id: int, backfilling: bool) -> datetime:
        now = self.clock.now()
        if backfilling:
            return now
        state = await self._state(conn, channel_id)
        candidates = [now + NEW_POST_POLL_INTERVAL]
        if state.last_subscribers_at is not None:
            candidates.append(state.last_subscribers_at + SUBSCRIBER_INTERVAL)
        post_due = await repo.next_post_due(conn, channel_id)
        if post_due is not None:
            candidates.append(post_due)
        return max(min(candidates), now)

    async def _state(self, conn: Conn, channel_id: int) -> repo.CollectionStatus:
        try:
            return await repo.collection_state(conn, channel_id)
        except LookupError:
            raise ChannelNotTracked(f"channel {channel_id} is not tracked") from None
