"""One message to one chat within Telegram's limits: 429 waits exactly ``retry_after``
and retries; 403 (the user blocked the bot) and 400 (no such chat) are final."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import Message

from services.bot.limits import ChatTurn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a send ended: sent (with Telegram's message id), blocked, or rejected."""

    status: Literal["sent", "blocked", "rejected"]
    message_id: int | None = None
    detail: str = ""


async def send_in_turn(turn: ChatTurn, send: Callable[[], Awaitable[Message]]) -> Outcome:
    """Make ``send`` within the chat's turn until Telegram accepts or refuses for good.

    Network and 5xx errors propagate: the caller leaves the notification pending and it
    is retried later.
    """
    while True:
        try:
            async with turn.request():
                message = await send()
        except TelegramRetryAfter as exc:
            log.warning("telegram asked to retry after %ss", exc.retry_after)
            turn.hold_off(float(exc.retry_after))
            continue
        except TelegramForbiddenError as exc:
            return Outcome("blocked", detail=exc.message[:200])
        except TelegramBadRequest as exc:
            return Outcome("rejected", detail=exc.message[:200])
        return Outcome("sent", message_id=message.message_id)
