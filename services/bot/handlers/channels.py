"""/channels: the user's channels, each a button to its dashboard."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardMarkup, Message

from analyticbot.auth.v1 import auth_pb2
from services.bot.i18n import Translator
from services.bot.keyboards import MiniAppLinks
from services.bot.peers import Peers

_ROLE_KEYS = {
    auth_pb2.ROLE_OWNER: "role_owner",
    auth_pb2.ROLE_ADMIN: "role_admin",
    auth_pb2.ROLE_ANALYST: "role_analyst",
    auth_pb2.ROLE_VIEWER: "role_viewer",
}
_MAX_BUTTONS = 20


async def channels(message: Message, t: Translator, peers: Peers, links: MiniAppLinks) -> None:
    assert message.from_user is not None
    found = await peers.user_channels(message.from_user.id)
    if not found:
        await message.answer(t("channels_empty"), reply_markup=links.keyboard(t("open_app")))
        return
    buttons = [
        [
            links.button(
                t("channel_role", title=c.title, role=t(_ROLE_KEYS.get(c.role, "role_viewer"))),
                f"channel_{c.channel_id}",
            )
        ]
        for c in found[:_MAX_BUTTONS]
    ]
    await message.answer(
        t("channels_title"), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
    )


def build_router() -> Router:
    """A fresh router of this feature (a router attaches to one dispatcher)."""
    router = Router(name="channels")
    router.message.filter(F.chat.type == "private")
    router.message(Command("channels"))(channels)
    return router
