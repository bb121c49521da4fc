"""Buttons that open the Mini App, and the settings keyboards.

A ``startapp`` payload (``channel_<id>``, ``channel_<id>_post_<mid>``, ``inv_<secret>``)
reaches the Mini App two ways: with an app short name configured, as a t.me direct link
(``https://t.me/<bot>/<app>?startapp=...``), where Telegram puts it into the signed
initData as ``start_param``; without one, as a ``web_app`` button whose URL carries
``?startapp=...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from services.bot.i18n import LANGUAGE_NAMES, LANGUAGES, Translator
from services.bot.repository import Prefs

_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TIME_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Tashkent",
    "Asia/Almaty",
    "Asia/Dubai",
    "America/New_York",
)


def valid_payload(payload: str) -> bool:
    """Telegram accepts startapp values of up to 64 characters of A-Z a-z 0-9 _ -."""
    return bool(_PAYLOAD.match(payload))


@dataclass(frozen=True)
class MiniAppLinks:
    """Builds buttons that open the Mini App, optionally at a deep-link target."""

    webapp_url: str
    bot_username: str = ""
    app_short_name: str = ""

    def button(self, text: str, payload: str = "") -> InlineKeyboardButton:
        if payload and not valid_payload(payload):
            payload = ""
        if payload and self.app_short_name and self.bot_username:
            query = urlencode({"startapp": payload})
            url = f"https://t.me/{self.bot_username}/{self.app_short_name}?{query}"
            return InlineKeyboardButton(text=text, url=url)
        return InlineKeyboardButton(text=text, web_app=WebAppInfo(url=self.webapp(payload)))

    def webapp(self, payload: str = "") -> str:
        """The Mini App URL, carrying ``startapp`` in its query when given."""
        if not payload:
            return self.webapp_url
        parts = urlsplit(self.webapp_url)
        query = "&".join(q for q in (parts.query, urlencode({"startapp": payload})) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def keyboard(self, text: str, payload: str = "") -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[self.button(text, payload)]])


class SettingsCallback(CallbackData, prefix="set"):
    """A tap in /settings or /lang: ``action`` and its value."""

    action: str
    value: str = ""


def _cb(action: str, value: str = "") -> str:
    return SettingsCallback(action=action, value=value).pack()


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=LANGUAGE_NAMES[lang], callback_data=_cb("lang", lang))
                for lang in LANGUAGES
            ]
        ]
    )


def digest_label(t: Translator, frequency: str) -> str:
    return t("off") if frequency == "off" else t(f"digest_{frequency}")


def settings_text(t: Translator, prefs: Prefs) -> str:
    return t(
        "settings_title",
        alerts=t("on") if prefs.alerts_enabled else t("off"),
        digest=digest_label(t, prefs.digest_frequency),
        hour=f"{prefs.digest_hour:02d}",
        tz=prefs.time_zone,
    )


def settings_keyboard(t: Translator, prefs: Prefs) -> InlineKeyboardMarkup:
    alerts = t("btn_alerts_on") if prefs.alerts_enabled else t("btn_alerts_off")
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=alerts, callback_data=_cb("alerts"))],
            [
                InlineKeyboardButton(
                    text=t("btn_digest", digest=digest_label(t, prefs.digest_frequency)),
                    callback_data=_cb("digest"),
                )
            ],
            [
                InlineKeyboardButton(
                    text=t("btn_hour", hour=f"{prefs.digest_hour:02d}"),
                    callback_data=_cb("hours"),
                ),
                InlineKeyboardButton(
                    text=t("btn_tz", tz=prefs.time_zone), callback_data=_cb("zones")
                ),
            ],
        ]
    )


def hours_keyboard(t: Translator) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(text=f"{h:02d}", callback_data=_cb("hour", str(h)))
            for h in range(start, start + 6)
        ]
        for start in range(0, 24, 6)
    ]
    rows.append([InlineKeyboardButton(text=t("btn_back"), callback_data=_cb("back"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def zones_keyboard(t: Translator) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=zone, callback_data=_cb("tz", zone))] for zone in TIME_ZONES]
    rows.append([InlineKeyboardButton(text=t("btn_back"), callback_data=_cb("back"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
