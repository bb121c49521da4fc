"""/settings (alerts on/off, digest frequency, hour, time zone) and /lang."""

from __future__ import annotations

import asyncpg
from aiogram import F, Router
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
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


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
    return router
