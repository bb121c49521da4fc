# ruff: noqa: RUF001 - replies are checked in Russian and Uzbek (Cyrillic, the okina)
"""/settings and /lang through the real aiogram Dispatcher polling the fake Bot API:
taps on the inline buttons change the stored preferences, the next reply speaks the
chosen language, and a button the bot does not understand changes nothing."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiogram import Bot

from services.bot import repository as repo
from services.bot.app import build_dispatcher
from services.bot.digests import due_period
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.onboarding import Onboarding
from tests.integration.bot.fake_telegram import BOT_USER, Call, FakeTelegram
from tests.integration.bot.peer_servers import peer_servers
from tests.integration.bot.test_bot_updates import start_update

_query_ids = itertools.count(1)


@dataclass
class Chat:
    """A private chat of one user with the bot, as the Telegram client sees it."""

    telegram: FakeTelegram
    user_id: int
    language_code: str = "en"

    def replies(self) -> list[Call]:
        return [c for c in self.telegram.sent() if c.chat_id == self.user_id]

    async def send(self, text: str) -> Call:
        """Send ``text`` (a command) and return the bot's reply."""
        before = len(self.replies())
        self.telegram.push(start_update(self.user_id, text, self.language_code))
        await self.telegram.wait_for(lambda: len(self.replies()) > before, within=3)
        return self.replies()[before]

    def shows(self, message: Call) -> dict[str, Any]:
        """What ``message`` shows now (edits included): text and reply_markup."""
        return self.telegram.messages[(self.user_id, message.result["message_id"])]

    def buttons(self, message: Call) -> list[str]:
        markup = self.shows(message)["reply_markup"] or {"inline_keyboard": []}
        return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]

    async def tap(self, message: Call, data: str, *, on_screen: bool = True) -> Call:
        """Tap a button with ``data`` under ``message``; return the answer to the tap
        (answerCallbackQuery), which stops the client's progress indicator."""
        if on_screen:
            assert data in self.buttons(message), (data, self.buttons(message))
        query_id = f"q{next(_query_ids)}"
        self.telegram.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": {
                        "id": self.user_id,
                        "is_bot": False,
                        "first_name": "Ann",
                        "language_code": self.language_code,
                    },
                    "chat_instance": f"ci{self.user_id}",
                    "data": data,
                    "message": {
                        "message_id": message.result["message_id"],
                        "date": int(time.time()),
                        "chat": {"id": self.user_id, "type": "private", "first_name": "Ann"},
                        "from": BOT_USER,
                        "text": self.shows(message)["text"],
                    },
                }
            }
        )

        def answer() -> Call | None:
            return next(
                (
                    c
                    for c in self.telegram.calls
                    if c.method == "answerCallbackQuery"
                    and c.params.get("callback_query_id") == query_id
                ),
                None,
            )

        await self.telegram.wait_for(lambda: answer() is not None, within=3)
        found = answer()
        assert found is not None
        return found


@pytest.fixture
async def chat(
    pool: asyncpg.Pool, bot: Bot, telegram: FakeTelegram, links: MiniAppLinks, unique_id: int
) -> AsyncIterator[Chat]:
    async with peer_servers(pool) as servers:
        onboarding = Onboarding(
            bot=bot, pool=pool, peers=servers.peers, links=links, limits=SendLimits()
        )
        dp = build_dispatcher(pool=pool, peers=servers.peers, links=links, onboarding=onboarding)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        try:
            yield Chat(telegram, unique_id)
        finally:
            await dp.stop_polling()
            await polling
            await pool.execute("DELETE FROM bot_users WHERE user_id = $1", unique_id)


async def stored(pool: asyncpg.Pool, user_id: int) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM bot_users WHERE user_id = $1", user_id)
    assert row is not None
    return row


async def test_lang_switches_the_stored_language_and_the_next_replies(
    chat: Chat, pool: asyncpg.Pool
) -> None:
    # The Telegram client stays in English throughout: the choice made in /lang wins.
    menu = await chat.send("/lang")
    assert menu.params["text"] == "Choose your language:"
    assert chat.buttons(menu) == ["set:lang:en", "set:lang:ru", "set:lang:uz"]

    await chat.tap(menu, "set:lang:ru")
    assert chat.shows(menu)["text"] == "Язык: русский."
    assert (await stored(pool, chat.user_id))["language"] == "ru"
    help_text = (await chat.send("/help")).params["text"]
    assert help_text.startswith("/start — открыть аналитику\n/channels — ваши каналы")
    stale = await chat.tap(menu, "set:lang:fr", on_screen=False)
    assert stale.params["text"] == "Эта кнопка устарела. Отправьте /settings ещё раз."
    assert (await stored(pool, chat.user_id))["language"] == "ru"

    menu = await chat.send("/lang")
    assert menu.params["text"] == "Выберите язык:"
    await chat.tap(menu, "set:lang:uz")
    assert chat.shows(menu)["text"] == "Til: oʻzbekcha."
    assert (await stored(pool, chat.user_id))["language"] == "uz"
    settings = (await chat.send("/settings")).params["text"]
    assert settings.startswith("Bildirishnomalar: yoqilgan\nDayjest: har hafta (dushanba)")

    menu = await chat.send("/lang")
    await chat.tap(menu, "set:lang:en")
    assert chat.shows(menu)["text"] == "Language: English."
    assert (await stored(pool, chat.user_id))["language"] == "en"
    assert (await chat.send("/start")).params["text"].startswith("Hi, Ann!")


async def test_settings_taps_change_digest_frequency_hour_zone_and_alerts(
    chat: Chat, pool: asyncpg.Pool
) -> None:
    message = await chat.send("/settings")
    assert message.params["text"] == (
        "Notifications: on\nDigest: weekly (Mondays)\nDigest time: 09:00 (UTC)"
    )

    await chat.tap(message, "set:digest:")
    assert (await stored(pool, chat.user_id))["digest_frequency"] == "off"
    assert "Digest: off\n" in chat.shows(message)["text"]
    await chat.tap(message, "set:digest:")
    assert (await stored(pool, chat.user_id))["digest_frequency"] == "daily"

    await chat.tap(message, "set:hours:")
    assert chat.shows(message)["text"] == "At what hour should the digest arrive?"
    assert [f"set:hour:{h}" for h in range(24)] == chat.buttons(message)[:24]
    await chat.tap(message, "set:hour:7")
    assert (await stored(pool, chat.user_id))["digest_hour"] == 7

    await chat.tap(message, "set:zones:")
    await chat.tap(message, "set:tz:Asia/Tashkent")
    await chat.tap(message, "set:alerts:")
    assert chat.shows(message)["text"] == (
        "Notifications: off\nDigest: daily\nDigest time: 07:00 (Asia/Tashkent)"
    )
    row = await stored(pool, chat.user_id)
    assert (row["alerts_enabled"], row["time_zone"]) == (False, "Asia/Tashkent")

    # The scheduler reads the same preferences: due at 07:00 in Tashkent, 02:00 UTC.
    async with pool.acquire() as conn:
        prefs = await repo.get_user(conn, chat.user_id)
    assert prefs is not None
    assert due_period(prefs, datetime(2025, 3, 10, 2, 30, tzinfo=UTC)) == "2025-03-10"
    assert due_period(prefs, datetime(2025, 3, 10, 7, 30, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "data",
    [
        "set:hour:24",
        "set:hour:-1",
        "set:hour:seven",
        "set:tz:Mars/Olympus",
        "set:lang:xx",
        "set:teleport:now",
        "set:hour:7:extra",
        "garbage",
    ],
)
async def test_a_button_the_bot_does_not_understand_changes_nothing(
    chat: Chat, pool: asyncpg.Pool, data: str
) -> None:
    message = await chat.send("/settings")
    before = await stored(pool, chat.user_id)
    shown = chat.shows(message)

    answer = await chat.tap(message, data, on_screen=False)

    assert await stored(pool, chat.user_id) == before
    assert chat.shows(message) == shown
    assert answer.status == 200
    assert answer.params.get("text") == "This button is out of date. Send /settings again."
    assert chat.replies()[-1] is message, "the bot wrote something else to the user"


async def test_a_second_tap_on_a_button_is_answered_quietly(chat: Chat, pool: asyncpg.Pool) -> None:
    """A double tap (the client sends the first tap's button again): the second one
    leads to what the message shows already, which Telegram refuses to "edit" into."""
    message = await chat.send("/settings")
    await chat.tap(message, "set:hours:")
    await chat.tap(message, "set:hour:7")
    shown = chat.shows(message)
    assert "Digest time: 07:00 (UTC)" in shown["text"]

    answer = await chat.tap(message, "set:hour:7", on_screen=False)

    assert answer.status == 200
    assert chat.shows(message) == shown
    assert (await stored(pool, chat.user_id))["digest_hour"] == 7
    assert chat.replies()[-1] is message, "the bot wrote something else to the user"
