"""The collector's ingest events, as analytics consumes them.

- ``EventHub``: one pub/sub connection per process (``PSUBSCRIBE <topic prefix>*``),
  fanned out to the ``WatchChannel`` streams of this process, so 1,000 streams cost one
  Redis connection. Pub/sub is lossy by nature; a watcher misses nothing that matters,
  since every message carries a full fresh overview.
- ``IngestWorker``: a member of a consumer group on the ingest stream (no event is lost:
  entries are acknowledged after handling, and entries of a dead replica are claimed
  after ``claim_idle``). Per event it drops the channel's cached responses and evaluates
  its alert rules; on a timer it checks "collection stalled" rules. ``announce`` tells
  the gateways, on the cache's topic, whether it is hearing the events: ``alive`` every
  second while it is, ``deaf`` when it stops (gateway/answer_memo.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as redis
from redis import exceptions as redis_errors

from analyticbot.runtime.memo import ALIVE, DEAF
from services.analytics.alerts import AlertEngine
from services.analytics.cache import ResponseCache

log = logging.getLogger(__name__)

QUEUE_SIZE = 16
RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """The collector committed a batch of ``kind`` for ``channel_id`` at ``at``."""

    channel_id: int
    kind: str
    at: datetime

    @classmethod
    def parse(cls, fields: dict[str, str]) -> IngestEvent:
        """From the stream entry's or pub/sub message's fields; ValueError when bad."""
        at = datetime.fromisoformat(fields["at"])
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return cls(channel_id=int(fields["channel_id"]), kind=str(fields["kind"]), at=at)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class EventHub:
    """Fans the channel topics out to local subscribers."""

    def __init__(self, client: redis.Redis, *, topic_prefix: str) -> None:
        self._redis = client
        self._prefix = topic_prefix
        self._subscribers: dict[int, set[asyncio.Queue[IngestEvent]]] = {}
        self._generations: dict[int, int] = {}
        self.ready = asyncio.Event()

    def generation(self, channel_id: int) -> int:
        """How many of the channel's events this hub has received."""
        return self._generations.get(channel_id, 0)

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after Redis failures."""
        while True:
            try:
                await self._listen()
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
                self.ready.clear()
                log.warning("event hub lost Redis; reconnecting")
                await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.psubscribe(f"{self._prefix}*")
            self.ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                try:
                    event = IngestEvent.parse(json.loads(_text(message["data"])))
                except (ValueError, KeyError, TypeError):
                    log.warning("ignoring a malformed channel event")
                    continue
                self._deliver(event)

    def _deliver(self, event: IngestEvent) -> None:
        # Counted for every channel (one int each), so a stream opened later still
        # tells a computation that predates an event from one that follows it.
        self._generations[event.channel_id] = self.generation(event.channel_id) + 1
        for queue in self._subscribers.get(event.channel_id, ()):
            if queue.full():
                queue.get_nowait()  # a slow watcher only needs the newest events
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel_id: int) -> AsyncIterator[asyncio.Queue[IngestEvent]]:
        """A queue of the channel's events while the context is open; entered only
        once the hub listens, so nothing committed after entering is missed."""
        await self.ready.wait()
        queue: asyncio.Queue[IngestEvent] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(channel_id, set()).add(queue)
        try:
            yield queue
        finally:
            group = self._subscribers.get(channel_id)
            if group is not None:
                group.discard(queue)
                if not group:
                    del self._subscribers[channel_id]


class IngestWorker:
    """Consumes the ingest stream in a consumer group: cache invalidation and alerts."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        stream: str,
        group: str,
        consumer: str,
        cache: ResponseCache,
        alerts: AlertEngine,
        stall_check_seconds: float,
        claim_idle_ms: int = 60_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._redis = client
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._cache = cache
        self._alerts = alerts
        self._stall_every = stall_check_seconds
        self._claim_idle = claim_idle_ms
        self._clock = clock
        self.ready = asyncio.Event()
        # True while events are read and handled; False after a failure until the group
        # answers again.
        self.hearing = False

    async def ensure_group(self) -> None:
        """Create the consumer group at the stream's end (and the stream) if missing."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="$", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Consume until cancelled, retrying after failures."""
        stall = asyncio.create_task(self._stall_loop())
        try:
            while True:
                try:
                    await self.ensure_group()
                    self.ready.set()
                    self.hearing = True
                    await self._consume()
                except (redis_errors.RedisError, OSError, asyncpg.PostgresError) as exc:
                    self.hearing = False
                    log.warning("ingest worker: %s; retrying", type(exc).__name__)
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            self.hearing = False
            stall.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stall

    async def announce(self, every_seconds: float = 1.0) -> None:
        """Until cancelled, publish ``alive`` on the cache's topic every ``every_seconds``
        while events are heard, ``deaf`` while they are not; ``deaf`` once more when
        cancelled (best effort: a gateway also stops trusting after a silence). Nothing
        without a topic."""
        topic = self._cache.topic
        if not topic:
            return
        try:
            while True:
                await self._publish(topic, ALIVE if self.hearing else DEAF)
                await asyncio.sleep(every_seconds)
        finally:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._publish(topic, DEAF), 1.0)

    async def _publish(self, topic: str, message: str) -> None:
        try:
            await self._redis.publish(topic, message)
        except (redis_errors.RedisError, OSError):
            log.warning("liveness not announced: Redis unavailable")

    async def _consume(self) -> None:
        # First our own pending entries (a restart), then entries idle at a dead
        # consumer, then new ones.
        await self._drain("0")
        while True:
            claimed: Any = await self._redis.xautoclaim(
                self._stream, self._group, self._consumer, self._claim_idle, count=100
            )
            await self._handle_all(claimed[1])
            reply: Any = await self._redis.xreadgroup(
                self._group, self._consumer, {self._stream: ">"}, count=100, block=2000
            )
            for _, entries in reply or []:
                await self._handle_all(entries)

    async def _drain(self, start: str) -> None:
        reply: Any = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: start}, count=1000
        )
        for _, entries in reply or []:
            await self._handle_all(entries)

    async def _handle_all(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, raw in entries:
            if raw:
                await self.handle({_text(k): _text(v) for k, v in raw.items()})
            await self._redis.xack(self._stream, self._group, entry_id)

    async def handle(self, fields: dict[str, str]) -> None:
        """Handle one ingest event: invalidate the cache, then evaluate alerts. A
        malformed entry is logged and skipped."""
        try:
            event = IngestEvent.parse(fields)
        except (ValueError, KeyError):
            log.warning("ignoring a malformed ingest entry")
            return
        await self._cache.invalidate(event.channel_id)
        raised = await self._alerts.evaluate_channel(event.channel_id, event.at)
        if raised:
            log.info("channel %d: %d new alert(s)", event.channel_id, raised)

    async def _stall_loop(self) -> None:
        while True:
            await asyncio.sleep(self._stall_every)
            try:
                await self._alerts.evaluate_stalled(self._clock())
            except (redis_errors.RedisError, OSError, asyncpg.PostgresError) as exc:
                log.warning("stall check failed: %s", type(exc).__name__)
