"""The alerts stream consumer: each alert becomes one message, exactly once if at all
possible.

Per entry, inside the user's chat turn (so one chat's alerts go out in stream order):

1. claim the alert id in the delivery ledger (PostgreSQL); an id already 'sent' or
   settled is acknowledged without sending (a redelivery, or a crash after step 3);
2. send, waiting exactly ``retry_after`` on 429; 403 marks the user blocked;
3. record Telegram's answer (message id) in the ledger;
4. XACK.

A crash before 3 leaves the claim 'sending': once its lease runs out, whoever picks the
entry up again (XAUTOCLAIM after ``claim_idle``) sends it again. Only a crash in the
instant between Telegram's answer and step 3 can repeat a message; the Bot API has no
idempotency key to close that window. Entries held in memory are re-claimed to this
consumer periodically, so a live consumer's queue is never taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import asyncpg
import redis.asyncio as redis
from aiogram import Bot
from redis.exceptions import ResponseError

from services.bot import repository as repo
from services.bot.domain import Alert, InvalidAlert, parse_alert
from services.bot.i18n import Translator
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.metrics import NOTIFICATIONS
from services.bot.sender import send_in_turn

log = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]


class AlertConsumer:
    """Reads the alerts stream in a consumer group and delivers each alert."""

    def __init__(
        self,
        *,
        redis_client: redis.Redis,
        pool: asyncpg.Pool,
        bot: Bot,
        limits: SendLimits,
        links: MiniAppLinks,
        stream: str,
        group: str,
        consumer: str,
        claim_idle_seconds: float = 60.0,
        batch: int = 100,
        max_in_flight: int = 1000,
    ) -> None:
        self._redis = redis_client
        self._pool = pool
        self._bot = bot
        self._limits = limits
        self._links = links
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._claim_idle = claim_idle_seconds
        self._batch = batch
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[bytes] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def ensure_group(self) -> None:
        """Create the group at the start of the stream (alerts written before the bot
        first ran are delivered too); an existing group is kept."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then let in-flight deliveries finish."""
        await self.ensure_group()
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        loop = asyncio.get_running_loop()
        next_reclaim = 0.0
        try:
            while not stop.is_set():
                if loop.time() >= next_reclaim:
                    await self._reclaim()
                    next_reclaim = loop.time() + self._claim_idle / 2
                entries = await self._read()
                for entry_id, fields in entries:
                    await self._spawn(entry_id, fields)
        finally:
            heartbeat.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _read(self) -> list[Entry]:
        response = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: ">"}, count=self._batch, block=500
        )
        streams = cast(list[tuple[bytes, list[Entry]]], response or [])
        return [entry for _, entries in streams for entry in entries]

    async def _reclaim(self) -> None:
        """Take over entries a dead consumer left pending for longer than claim_idle."""
        start: bytes | str = "0-0"
        while True:
            reply = await self._redis.xautoclaim(
                self._stream,
                self._group,
                self._consumer,
                min_idle_time=int(self._claim_idle * 1000),
                start_id=start,
                count=self._batch,
            )
            start, claimed = reply[0], reply[1]
            for entry_id, fields in claimed:
                if entry_id not in self._in_flight and fields is not None:
                    await self._spawn(entry_id, fields)
            if start in (b"0-0", "0-0") or not claimed:
                return

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Keep entries this process still holds from looking idle to other consumers."""
        while not stop.is_set():
            await asyncio.sleep(self._claim_idle / 3)
            held: Sequence[bytes] = list(self._in_flight)
            if held:
                with contextlib.suppress(redis.RedisError):
                    await self._redis.xclaim(
                        self._stream, self._group, self._consumer, 0, list(held), justid=True
                    )

    async def _spawn(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        await self._slots.acquire()
        self._in_flight.add(entry_id)
        task = asyncio.create_task(self._handle(entry_id, fields))
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, entry_id))

    def _done(self, task: asyncio.Task[None], entry_id: bytes) -> None:
        self._tasks.discard(task)
        self._in_flight.discard(entry_id)
        self._slots.release()

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            alert = parse_alert(fields)
        except InvalidAlert as exc:
            log.warning("dropping stream entry %s: %s", entry_id.decode(), exc)
            await self._ack(entry_id)
            return
        try:
            if await self.deliver(alert):
                await self._ack(entry_id)
        except Exception:
            log.exception("alert %s not delivered yet", alert.alert_id)

    async def deliver(self, alert: Alert) -> bool:
        """Deliver one alert; True when it is settled (sent, skipped or refused for good)
        and may be acknowledged."""
        async with self._limits.chat(alert.user_id) as turn:
            async with self._pool.acquire() as conn:
                prefs = await repo.get_user(conn, alert.user_id)
                claim = await repo.claim_delivery(
                    conn,
                    alert.alert_id,
                    alert.user_id,
                    "alert",
                    consumer=self._consumer,
                    lease_seconds=self._claim_idle,
                )
                if claim == "busy":
                    return False
                if claim == "done":
                    return True
                if prefs is not None and (prefs.blocked or not prefs.alerts_enabled):
                    reason = "blocked" if prefs.blocked else "alerts off"
                    await repo.finish_delivery(conn, alert.alert_id, "skipped", detail=reason)
                    NOTIFICATIONS.labels("alert", "skipped").inc()
                    return True
            t = Translator(prefs.language if prefs else "en")
            text = (
                html.escape(alert.text, quote=False)
                if alert.text
                else t("alert_default", channel=alert.channel_id, rule=alert.rule)
            )
            markup = self._links.keyboard(t("open_chart"), alert.deep_link)
            outcome = await send_in_turn(
                turn,
                lambda: self._bot.send_message(alert.user_id, text, reply_markup=markup),
            )
            # Recorded before the chat's turn is released: a duplicate entry of this
            # alert waits for the turn and then finds it settled.
            async with self._pool.acquire() as conn:
                if outcome.status == "sent":
                    await repo.finish_delivery(
                        conn, alert.alert_id, "sent", message_id=outcome.message_id
                    )
                    NOTIFICATIONS.labels("alert", "sent").inc()
                    return True
                if outcome.status == "blocked":
                    await repo.set_blocked(conn, alert.user_id, _now())
                await repo.finish_delivery(conn, alert.alert_id, "failed", detail=outcome.detail)
                NOTIFICATIONS.labels("alert", "failed").inc()
        log.info("alert %s not delivered: %s", alert.alert_id, outcome.status)
        return True

    async def _ack(self, entry_id: bytes) -> None:
        await self._redis.xack(self._stream, self._group, entry_id)


def _now() -> datetime:
    return datetime.now(UTC)
