"""Builds the aiogram Bot and Dispatcher and sets the bot up at Telegram (commands per
language, the chat menu button that opens the Mini App)."""

from __future__ import annotations

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo

from services.bot.handlers import routers
from services.bot.handlers.context import UserContext
from services.bot.i18n import LANGUAGES, Translator
from services.bot.keyboards import MiniAppLinks
from services.bot.onboarding import Onboarding
from services.bot.peers import Peers

COMMANDS = ("start", "channels", "settings", "lang", "help")
_DESCRIPTIONS = {
    "en": ("Open analytics", "Your channels", "Notifications", "Language", "Help"),
    "ru": ("Открыть аналитику", "Ваши каналы", "Уведомления", "Язык", "Справка"),
    "uz": ("Analitikani ochish", "Kanallaringiz", "Bildirishnomalar", "Til", "Yordam"),
}


def create_bot(token: str, api_url: str = "") -> Bot:
    """A Bot speaking HTML, against api.telegram.org or ``api_url``."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else None
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(
    *, pool: asyncpg.Pool, peers: Peers, links: MiniAppLinks, onboarding: Onboarding
) -> Dispatcher:
    """The dispatcher with every feature router; dependencies reach handlers by name."""
    dp = Dispatcher(pool=pool, peers=peers, links=links, onboarding=onboarding)
    context = UserContext(pool)
    dp.message.outer_middleware(context)
    dp.callback_query.outer_middleware(context)
    dp.include_routers(*routers())
    return dp


async def configure_bot(bot: Bot, webapp_url: str) -> None:
    """Commands in every language and the menu button that opens the Mini App."""
    for language in LANGUAGES:
        commands = [
            BotCommand(command=c, description=d)
            for c, d in zip(COMMANDS, _DESCRIPTIONS[language], strict=True)
        ]
        await bot.set_my_commands(commands, language_code=language)
    await bot.set_my_commands(
        [
            BotCommand(command=c, description=d)
            for c, d in zip(COMMANDS, _DESCRIPTIONS["en"], strict=True)
        ]
    )
    text = Translator("en")("menu_button")
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=webapp_url))
    )
