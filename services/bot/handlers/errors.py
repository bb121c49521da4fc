"""The one place handler errors end: logged, and the user told to retry."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from services.bot.i18n import DEFAULT_LANGUAGE, Translator

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> None:
    log.error(
        "update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    message = event.update.message or (
        event.update.callback_query.message if event.update.callback_query else None
    )
    if message is not None and message.chat.type == "private":
        await message.bot.send_message(  # type: ignore[union-attr]
            message.chat.id, Translator(DEFAULT_LANGUAGE)("error")
        )


def build_router() -> Router:
    """A fresh router of this feature (a router attaches to one dispatcher)."""
    router = Router(name="errors")
    router.errors()(on_error)
    return router
