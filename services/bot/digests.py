"""Daily or weekly digests, at the hour the user chose in their time zone.

Each (user, channel, period) is one entry in the delivery ledger (``digest:...``), so
several bot replicas, or one that restarts within the hour, send a digest once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import grpc
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, Message

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2
from services.bot import repository as repo
from services.bot.chart import line_chart
from services.bot.i18n import Translator
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.metrics import NOTIFICATIONS
from services.bot.peers import Peers
from services.bot.repository import Prefs
from services.bot.sender import send_in_turn

log = logging.getLogger(__name__)
MAX_CHANNELS_PER_DIGEST = 5
_MONDAY = 0


def due_period(prefs: Prefs, now: datetime) -> str | None:
    """The period key of the digest due for ``prefs`` at ``now``, or None."""
    try:
        zone = ZoneInfo(prefs.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    if local.hour != prefs.digest_hour:
        return None
    if prefs.digest_frequency == "daily":
        return local.date().isoformat()
    if prefs.digest_frequency == "weekly" and local.weekday() == _MONDAY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return None


def _number(metric: metric_pb2.Metric, t: Translator, *, signed: bool = False) -> str:
    if not metric.HasField("value"):
        return t("no_value")
    return f"{metric.value:+,.0f}" if signed else f"{metric.value:,.0f}"


def caption(
    t: Translator, overview: analytics_pb2.GetChannelOverviewResponse, frequency: str
) -> str:
    current = overview.current
    growth = _number(current.subscriber_growth, t, signed=True)
    if current.subscriber_growth_percent.HasField("value"):
        growth += f", {current.subscriber_growth_percent.value:+.1f}%"
    return t(
        "digest_caption",
        title=overview.title,
        period=t(f"period_{frequency}"),
        subscribers=_number(current.subscribers_end, t),
        growth=growth,
        posts=current.posts,
        views=_number(current.views_per_post, t),
    )


class DigestScheduler:
    """Checks once per interval whose digest is due and sends it."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        peers: Peers,
        bot: Bot,
        limits: SendLimits,
        links: MiniAppLinks,
        consumer: str,
        lease_seconds: float = 60.0,
    ) -> None:
        self._pool = pool
        self._peers = peers
        self._bot = bot
        self._limits = limits
        self._links = links
        self._consumer = consumer
        self._lease = lease_seconds

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                await self.tick(datetime.now(UTC))
            except (grpc.aio.AioRpcError, TelegramAPIError, asyncpg.PostgresError, OSError) as exc:
                # A send that failed (5xx, network) stays claimed by this consumer in the
                # ledger; the next round claims it again and retries.
                log.warning("digest round failed: %s", type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue

    async def tick(self, now: datetime) -> int:
        """Send every digest due at ``now``; returns how many were sent."""
        async with self._pool.acquire() as conn:
            candidates = await repo.digest_candidates(conn)
        sent = 0
        for prefs in candidates:
            period = due_period(prefs, now)
            if period is not None:
                sent += await self._send_user(prefs, period, now)
        return sent

    async def _send_user(self, prefs: Prefs, period: str, now: datetime) -> int:
        channels = await self._peers.user_channels(prefs.user_id)
        sent = 0
        for channel in channels[:MAX_CHANNELS_PER_DIGEST]:
            key = f"digest:{prefs.user_id}:{channel.channel_id}:{period}"
            async with self._pool.acquire() as conn:
                claim = await repo.claim_delivery(
                    conn,
                    key,
                    prefs.user_id,
                    "digest",
                    consumer=self._consumer,
                    lease_seconds=self._lease,
                )
            if claim != "claimed":
                continue
            if await self._send_channel(prefs, channel.channel_id, key, now):
                sent += 1
            else:
                return sent
        return sent

    async def _send_channel(self, prefs: Prefs, channel_id: int, key: str, now: datetime) -> bool:
        length = timedelta(days=1 if prefs.digest_frequency == "daily" else 7)
        overview = await self._peers.overview(channel_id, now - length, now)
        series = await self._peers.subscriber_series(channel_id, now - length, now)
        points = [
            (p.at.ToDatetime(tzinfo=UTC), p.subscribers.value)
            for p in series
            if p.subscribers.HasField("value")
        ]
        t = Translator(prefs.language)
        text = caption(t, overview, prefs.digest_frequency)
        markup = self._links.keyboard(t("open_dashboard"), f"channel_{channel_id}")

        async def send() -> Message:
            if not points:
                return await self._bot.send_message(prefs.user_id, text, reply_markup=markup)
            photo = BufferedInputFile(line_chart(points), filename="digest.png")
            return await self._bot.send_photo(
                prefs.user_id, photo, caption=text, reply_markup=markup
            )

        async with self._limits.chat(prefs.user_id) as turn:
            outcome = await send_in_turn(turn, send)
        async with self._pool.acquire() as conn:
            if outcome.status == "sent":
                await repo.finish_delivery(conn, key, "sent", message_id=outcome.message_id)
                NOTIFICATIONS.labels("digest", "sent").inc()
                return True
            if outcome.status == "blocked":
                await repo.set_blocked(conn, prefs.user_id, now)
            await repo.finish_delivery(conn, key, "failed", detail=outcome.detail)
            NOTIFICATIONS.labels("digest", "failed").inc()
        return False
