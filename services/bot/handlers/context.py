"""Per-update context: the user's preferences and a translator, by parameter name
(``prefs``, ``t``) in every message and callback handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from services.bot import repository as repo
from services.bot.i18n import Translator, pick_language


class UserContext(BaseMiddleware):
    """Loads (creating on first contact) the sender's preferences."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            async with self._pool.acquire() as conn:
                prefs = await repo.ensure_user(conn, user.id, pick_language(user.language_code))
            data["prefs"] = prefs
            data["t"] = Translator(prefs.language)
        return await handler(event, data)
