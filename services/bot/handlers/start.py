"""/start (with a deep link passed through to the Mini App) and /help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from services.bot.i18n import Translator
from services.bot.keyboards import MiniAppLinks, valid_payload


async def start(
    message: Message, command: CommandObject, t: Translator, links: MiniAppLinks
) -> None:
    """Welcome and the button that opens the Mini App; ``/start <payload>`` (from a
    t.me/<bot>?start=... link) opens it at that payload."""
    payload = command.args or ""
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(
        t("welcome", name=name),
        reply_markup=links.keyboard(t("open_app"), payload if valid_payload(payload) else ""),
    )


async def help_command(message: Message, t: Translator) -> None:
    await message.answer(t("help"))


def build_router() -> Router:
    """A fresh router of this feature (a router attaches to one dispatcher)."""
    router = Router(name="start")
    router.message.filter(F.chat.type == "private")
    router.message(CommandStart())(start)
    router.message(Command("help"))(help_command)
    return router
