"""``my_chat_member``: the bot's own membership changed.

In a channel: promoted to administrator → onboarding; removed or demoted → pause. In a
private chat: the user blocked (or unblocked) the bot.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from aiogram import F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.types import ChatMemberUpdated

from services.bot import repository as repo
from services.bot.onboarding import Onboarding

_ADMIN = ChatMemberStatus.ADMINISTRATOR


async def channel_membership(event: ChatMemberUpdated, onboarding: Onboarding) -> None:
    was_admin = event.old_chat_member.status == _ADMIN
    is_admin = event.new_chat_member.status == _ADMIN
    if is_admin and not was_admin:
        await onboarding.bot_promoted(event.chat, event.from_user)
    elif was_admin and not is_admin:
        await onboarding.bot_removed(event.chat, event.from_user)


async def private_membership(event: ChatMemberUpdated, pool: asyncpg.Pool) -> None:
    blocked = event.new_chat_member.status == ChatMemberStatus.KICKED
    async with pool.acquire() as conn:
        await repo.set_blocked(conn, event.chat.id, datetime.now(UTC) if blocked else None)


def build_router() -> Router:
    """A fresh router of this feature (a router attaches to one dispatcher)."""
    router = Router(name="membership")
    router.my_chat_member(F.chat.type == "channel")(channel_membership)
    router.my_chat_member(F.chat.type == "private")(private_membership)
    return router
