"""/settings (alerts on/off, digest frequency, hour, time zone) and /lang."""

from __future__ import annotations

import asyncpg
from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from services.bot import repository as repo
from services.bot.i18n import LANGUAGES, Translator
from services.bot.keyboards import (
    TIME_ZONES,
    SettingsCallback,
    hours_keyboard,
    language_keyboard,
    settings_keyboard,
    settings_text,
    zones_keyboard,
)
from services.bot.repository import Prefs

_NEXT_DIGEST = {"off": "daily", "daily": "weekly", "weekly": "off"}


async def settings(message: Message, t: Translator, prefs: Prefs) -> None:
    await message.answer(settings_text(t, prefs), reply_markup=settings_keyboard(t, prefs))


async def lang(message: Message, t: Translator) -> None:
    await message.answer(t("lang_choose"), reply_markup=language_keyboard())


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            # A second tap on a button (or a tap from an old view) that leads to what the
            # message already shows: Telegram refuses the edit, and there is nothing to do.
            if "message is not modified" not in exc.message:
                raise
    await query.answer()


async def stale_button(query: CallbackQuery, t: Translator) -> None:
    """A tap on a button the bot does not understand (an old keyboard, forged data):
    nothing changes, and the user is told how to get a working one."""
    await query.answer(t("button_stale"))


async def on_setting(
    query: CallbackQuery,
    callback_data: SettingsCallback,
    prefs: Prefs,
    t: Translator,
    pool: asyncpg.Pool,
) -> None:
    action, value = callback_data.action, callback_data.value
    changes: dict[str, object] = {}
    if action == "alerts":
        changes["alerts_enabled"] = not prefs.alerts_enabled
    elif action == "digest":
        changes["digest_frequency"] = _NEXT_DIGEST[prefs.digest_frequency]
    elif action == "hour" and value.isdigit() and 0 <= int(value) <= 23:
        changes["digest_hour"] = int(value)
    elif action == "tz" and value in TIME_ZONES:
        changes["time_zone"] = value
    elif action == "lang" and value in LANGUAGES:
        changes["language"] = value
    elif action == "hours":
        await _show(query, t("choose_hour"), hours_keyboard(t))
        return
    elif action == "zones":
        await _show(query, t("choose_tz"), zones_keyboard(t))
        return
    elif action != "back":
        await stale_button(query, t)
        return
    if changes:
        async with pool.acquire() as conn:
            prefs = await repo.update_user(conn, prefs.user_id, **changes)
        t = Translator(prefs.language)
    if action == "lang":
        if isinstance(query.message, Message):
            await query.message.edit_text(t("lang_set"))
        await query.answer()
        return
    await _show(query, settings_text(t, prefs), settings_keyboard(t, prefs))


def build_router() -> Router:
    """A fresh router of this feature (a router attaches to one dispatcher)."""
    router = Router(name="settings")
    router.message.filter(F.chat.type == "private")
    router.message(Command("settings"))(settings)
    router.message(Command("lang"))(lang)
    router.callback_query(SettingsCallback.filter())(on_setting)
    # Every callback button of the bot is a SettingsCallback: any other data is stale.
    router.callback_query()(stale_button)
    return router
