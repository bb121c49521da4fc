"""Channel onboarding: the bot promoted to administrator registers the channel and
grants from Telegram's administrator list; removed or demoted, tracking pauses."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Chat, ChatMemberOwner, User

from services.bot import repository as repo
from services.bot.domain import channel_id_from_chat, chat_id_from_channel
from services.bot.i18n import Translator, pick_language
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.peers import Admin, Peers
from services.bot.sender import send_in_turn

log = logging.getLogger(__name__)


class Onboarding:
    """What happens when the bot's membership in a channel changes."""

    def __init__(
        self,
        *,
        bot: Bot,
        pool: asyncpg.Pool,
        peers: Peers,
        links: MiniAppLinks,
        limits: SendLimits,
    ) -> None:
        self._bot = bot
        self._pool = pool
        self._peers = peers
        self._links = links
        self._limits = limits

    async def admins(self, chat_id: int) -> list[Admin]:
        """The channel's human administrators from the Bot API."""
        members = await self._bot.get_chat_administrators(chat_id)
        return [
            Admin(
                user_id=m.user.id,
                first_name=m.user.first_name,
                last_name=m.user.last_name or "",
                username=m.user.username or "",
                is_creator=isinstance(m, ChatMemberOwner),
            )
            for m in members
            if not m.user.is_bot
        ]

    async def bot_promoted(self, chat: Chat, by: User) -> None:
        """Register the channel, grant owner to ``by`` and owner/admin from Telegram,
        then tell ``by`` in private with a button to the new dashboard."""
        channel_id = channel_id_from_chat(chat.id)
        title = chat.title or str(channel_id)
        admins = await self.admins(chat.id)
        if all(a.user_id != by.id for a in admins) and not by.is_bot:
            admins.append(Admin(by.id, by.first_name, by.last_name or "", by.username or "", False))
        async with self._pool.acquire() as conn:
            await repo.upsert_channel(
                conn,
                channel_id=channel_id,
                title=title,
                username=chat.username,
                is_admin=True,
                added_by=by.id,
            )
        try:
            await self._peers.track_channel(channel_id, chat.username or "")
            await self._peers.sync_admins(channel_id, admins, added_by=by.id)
        except grpc.aio.AioRpcError as exc:
            log.warning("channel %s not registered: %s", channel_id, exc.code().name)
            await self._tell(by, "channel_failed", title, "")
            return
        async with self._pool.acquire() as conn:
            await repo.mark_synced(conn, channel_id, datetime.now(UTC))
        log.info("channel onboarded", extra={"channel_id": channel_id, "by": by.id})
        await self._tell(by, "channel_added", title, f"channel_{channel_id}")

    async def bot_removed(self, chat: Chat, by: User) -> None:
        """Pause tracking and tell the user who removed or demoted the bot."""
        channel_id = channel_id_from_chat(chat.id)
        title = chat.title or str(channel_id)
        async with self._pool.acquire() as conn:
            await repo.upsert_channel(
                conn,
                channel_id=channel_id,
                title=title,
                username=chat.username,
                is_admin=False,
                added_by=None,
            )
        await self._pause(channel_id, "bot removed from the channel or demoted")
        await self._tell(by, "channel_removed", title, "")

    async def resync(self, channel_id: int) -> None:
        """Re-read the administrators; a channel the bot lost access to is paused."""
        try:
            admins = await self.admins(chat_id_from_channel(channel_id))
        except (TelegramForbiddenError, TelegramBadRequest):
            async with self._pool.acquire() as conn:
                await conn.execute(
                    "UPDATE bot_channels SET is_admin = false WHERE channel_id = $1", channel_id
                )
            await self._pause(channel_id, "bot lost access to the channel")
            return
        await self._peers.sync_admins(channel_id, admins)
        async with self._pool.acquire() as conn:
            await repo.mark_synced(conn, channel_id, datetime.now(UTC))

    async def resync_loop(self, stop: asyncio.Event, interval: float) -> None:
        """Re-sync every administered channel once per ``interval``."""
        while not stop.is_set():
            older_than = datetime.now(UTC) - timedelta(seconds=interval)
            async with self._pool.acquire() as conn:
                due = await repo.channels_to_resync(conn, older_than)
            for channel_id in due:
                if stop.is_set():
                    return
                try:
                    await self.resync(channel_id)
                except (grpc.aio.AioRpcError, TelegramAPIError) as exc:
                    log.warning("re-sync of %s failed: %s", channel_id, type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(interval, 60.0))
            except TimeoutError:
                continue

    async def _pause(self, channel_id: int, reason: str) -> None:
        try:
            await self._peers.set_paused(channel_id, True, reason)
        except grpc.aio.AioRpcError as exc:
            log.warning("pausing %s failed: %s", channel_id, exc.code().name)

    async def _tell(self, user: User, key: str, title: str, payload: str) -> None:
        if user.is_bot:
            return
        async with self._pool.acquire() as conn:
            prefs = await repo.get_user(conn, user.id)
        t = Translator(prefs.language if prefs else pick_language(user.language_code))
        markup = self._links.keyboard(t("open_dashboard"), payload) if payload else None
        async with self._limits.chat(user.id) as turn:
            outcome = await send_in_turn(
                turn,
                lambda: self._bot.send_message(user.id, t(key, title=title), reply_markup=markup),
            )
        if outcome.status != "sent":
            log.info("could not tell user %s about %s: %s", user.id, key, outcome.status)
