# ruff: noqa: RUF001 - Cyrillic letters and the Uzbek okina are the point of this file
"""The bot's texts in English, Russian and Uzbek (Latin script).

A dictionary rather than gettext: about forty short strings, no plural forms beyond
what a number placeholder covers, no compile step for translators to forget. A unit
test checks that every language has every key with the same placeholders.
Texts are HTML (parse mode HTML); values put into them are escaped by ``Translator``.
"""

from __future__ import annotations

import html
from typing import Final, Literal, get_args

Language = Literal["en", "ru", "uz"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final[Language] = "en"
LANGUAGE_NAMES: Final[dict[Language, str]] = {"en": "English", "ru": "Русский", "uz": "Oʻzbekcha"}

TEXTS: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "welcome": (
            "Hi, {name}! I show analytics of your Telegram channels: subscribers, reach, "
            "engagement, the best time to post, and alerts.\n\n"
            "Add me to your channel as an administrator to start, then open the dashboard."
        ),
        "open_app": "📊 Open analytics",
        "open_chart": "📈 Open chart",
        "open_dashboard": "📊 Open dashboard",
        "menu_button": "Analytics",
        "help": (
            "/start — open the analytics\n/channels — your channels\n"
            "/settings — notifications and digests\n/lang — language\n/help — this help\n\n"
            "To add a channel, make me an administrator of it. I only need to read it."
        ),
        "channels_title": "Your channels:",
        "channels_empty": "No channels yet. Add me to a channel as an administrator.",
        "channel_role": "{title} — {role}",
        "role_owner": "owner",
        "role_admin": "admin",
        "role_analyst": "analyst",
        "role_viewer": "viewer",
        "lang_choose": "Choose your language:",
        "lang_set": "Language: English.",
        "settings_title": (
            "Notifications: {alerts}\nDigest: {digest}\nDigest time: {hour}:00 ({tz})"
        ),
        "on": "on",
        "off": "off",
        "digest_daily": "daily",
        "digest_weekly": "weekly (Mondays)",
        "btn_alerts_on": "🔔 Alerts: on",
        "btn_alerts_off": "🔕 Alerts: off",
        "btn_digest": "🗞 Digest: {digest}",
        "btn_hour": "🕘 Time: {hour}:00",
        "btn_tz": "🌍 Time zone: {tz}",
        "btn_back": "⬅️ Back",
        "choose_hour": "At what hour should the digest arrive?",
        "choose_tz": "Choose your time zone:",
        "button_stale": "This button is out of date. Send /settings again.",
        "channel_added": (
            "✅ <b>{title}</b> is connected. I am collecting its history now; the first "
            "numbers appear within minutes."
        ),
        "channel_removed": (
            "⏸ I am no longer an administrator of <b>{title}</b>, so its tracking is paused. "
            "Make me an administrator again to resume."
        ),
        "channel_failed": (
            "⚠️ I could not connect <b>{title}</b> right now. I will retry; you can also "
            "remove me and add me again."
        ),
        "alert_default": "🔔 Alert for <b>{channel}</b>: {rule}",
        "digest_caption": (
            "🗞 <b>{title}</b>, {period}\n"
            "Subscribers: {subscribers} ({growth})\nPosts: {posts}\nViews per post: {views}"
        ),
        "period_daily": "the last 24 hours",
        "period_weekly": "the last 7 days",
        "no_value": "n/a",
        "error": "Something went wrong. Please try again in a minute.",
    },
    "ru": {
        "welcome": (
            "Привет, {name}! Я показываю аналитику ваших Telegram-каналов: подписчики, "
            "охваты, вовлечённость, лучшее время для постов и уведомления.\n\n"
            "Чтобы начать, добавьте меня в канал администратором, затем откройте дашборд."
        ),
        "open_app": "📊 Открыть аналитику",
        "open_chart": "📈 Открыть график",
        "open_dashboard": "📊 Открыть дашборд",
        "menu_button": "Аналитика",
        "help": (
            "/start — открыть аналитику\n/channels — ваши каналы\n"
            "/settings — уведомления и дайджесты\n/lang — язык\n/help — эта справка\n\n"
            "Чтобы добавить канал, сделайте меня его администратором. Мне нужно только чтение."
        ),
        "channels_title": "Ваши каналы:",
        "channels_empty": "Каналов пока нет. Добавьте меня в канал администратором.",
        "channel_role": "{title} — {role}",
        "role_owner": "владелец",
        "role_admin": "администратор",
        "role_analyst": "аналитик",
        "role_viewer": "наблюдатель",
        "lang_choose": "Выберите язык:",
        "lang_set": "Язык: русский.",
        "settings_title": (
            "Уведомления: {alerts}\nДайджест: {digest}\nВремя дайджеста: {hour}:00 ({tz})"
        ),
        "on": "вкл.",
        "off": "выкл.",
        "digest_daily": "ежедневно",
        "digest_weekly": "еженедельно (по понедельникам)",
        "btn_alerts_on": "🔔 Уведомления: вкл.",
        "btn_alerts_off": "🔕 Уведомления: выкл.",
        "btn_digest": "🗞 Дайджест: {digest}",
        "btn_hour": "🕘 Время: {hour}:00",
        "btn_tz": "🌍 Часовой пояс: {tz}",
        "btn_back": "⬅️ Назад",
        "choose_hour": "В котором часу присылать дайджест?",
        "choose_tz": "Выберите часовой пояс:",
        "button_stale": "Эта кнопка устарела. Отправьте /settings ещё раз.",
        "channel_added": (
            "✅ Канал <b>{title}</b> подключён. Я собираю его историю; первые цифры "
            "появятся через несколько минут."
        ),
        "channel_removed": (
            "⏸ Я больше не администратор <b>{title}</b>, поэтому сбор данных приостановлен. "
            "Снова сделайте меня администратором, чтобы продолжить."
        ),
        "channel_failed": (
            "⚠️ Не удалось подключить <b>{title}</b>. Я попробую ещё раз; также можно "
            "удалить меня из канала и добавить снова."
        ),
        "alert_default": "🔔 Уведомление по <b>{channel}</b>: {rule}",
        "digest_caption": (
            "🗞 <b>{title}</b>, {period}\n"
            "Подписчики: {subscribers} ({growth})\nПосты: {posts}\nПросмотров на пост: {views}"
        ),
        "period_daily": "последние 24 часа",
        "period_weekly": "последние 7 дней",
        "no_value": "н/д",
        "error": "Что-то пошло не так. Попробуйте через минуту.",
    },
    "uz": {
        "welcome": (
            "Salom, {name}! Men Telegram kanallaringiz analitikasini koʻrsataman: obunachilar, "
            "qamrov, faollik, post uchun eng yaxshi vaqt va bildirishnomalar.\n\n"
            "Boshlash uchun meni kanalingizga administrator qilib qoʻshing, soʻng panelni oching."
        ),
        "open_app": "📊 Analitikani ochish",
        "open_chart": "📈 Grafikni ochish",
        "open_dashboard": "📊 Panelni ochish",
        "menu_button": "Analitika",
        "help": (
            "/start — analitikani ochish\n/channels — kanallaringiz\n"
            "/settings — bildirishnomalar va dayjestlar\n/lang — til\n/help — yordam\n\n"
            "Kanal qoʻshish uchun meni uning administratori qiling. Menga faqat oʻqish kerak."
        ),
        "channels_title": "Kanallaringiz:",
        "channels_empty": "Hozircha kanal yoʻq. Meni kanalga administrator qilib qoʻshing.",
        "channel_role": "{title} — {role}",
        "role_owner": "egasi",
        "role_admin": "administrator",
        "role_analyst": "tahlilchi",
        "role_viewer": "kuzatuvchi",
        "lang_choose": "Tilni tanlang:",
        "lang_set": "Til: oʻzbekcha.",
        "settings_title": (
            "Bildirishnomalar: {alerts}\nDayjest: {digest}\nDayjest vaqti: {hour}:00 ({tz})"
        ),
        "on": "yoqilgan",
        "off": "oʻchirilgan",
        "digest_daily": "har kuni",
        "digest_weekly": "har hafta (dushanba)",
        "btn_alerts_on": "🔔 Bildirishnomalar: yoqilgan",
        "btn_alerts_off": "🔕 Bildirishnomalar: oʻchirilgan",
        "btn_digest": "🗞 Dayjest: {digest}",
        "btn_hour": "🕘 Vaqt: {hour}:00",
        "btn_tz": "🌍 Vaqt mintaqasi: {tz}",
        "btn_back": "⬅️ Orqaga",
        "choose_hour": "Dayjest soat nechada kelsin?",
        "choose_tz": "Vaqt mintaqangizni tanlang:",
        "button_stale": "Bu tugma eskirgan. /settings buyrugʻini qayta yuboring.",
        "channel_added": (
            "✅ <b>{title}</b> ulandi. Hozir uning tarixini yigʻyapman; birinchi raqamlar "
            "bir necha daqiqada paydo boʻladi."
        ),
        "channel_removed": (
            "⏸ Men endi <b>{title}</b> administratori emasman, shuning uchun kuzatish "
            "toʻxtatildi. Davom ettirish uchun meni yana administrator qiling."
        ),
        "channel_failed": (
            "⚠️ <b>{title}</b> kanalini hozir ulab boʻlmadi. Qayta urinib koʻraman; meni "
            "olib tashlab, yana qoʻshishingiz ham mumkin."
        ),
        "alert_default": "🔔 <b>{channel}</b> boʻyicha bildirishnoma: {rule}",
        "digest_caption": (
            "🗞 <b>{title}</b>, {period}\n"
            "Obunachilar: {subscribers} ({growth})\nPostlar: {posts}\n"
            "Post boshiga koʻrishlar: {views}"
        ),
        "period_daily": "soʻnggi 24 soat",
        "period_weekly": "soʻnggi 7 kun",
        "no_value": "yoʻq",
        "error": "Nimadir xato ketdi. Bir daqiqadan soʻng qayta urinib koʻring.",
    },
}


def pick_language(code: str | None) -> Language:
    """Our language for a Telegram ``language_code`` ("ru", "uz-UZ", ...)."""
    base = (code or "").split("-")[0].lower()
    for language in LANGUAGES:
        if base == language:
            return language
    return DEFAULT_LANGUAGE


class Translator:
    """Texts of one language; placeholder values are HTML-escaped."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._texts = TEXTS[language]

    def __call__(self, key: str, **values: object) -> str:
        text = self._texts[key]
        if not values:
            return text
        return text.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
