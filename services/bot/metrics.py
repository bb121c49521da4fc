"""The bot's Prometheus metrics: notifications by outcome."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter(
    "bot_notifications",
    "Notifications settled by the bot, by kind (alert, digest) and result: sent, failed "
    "(Telegram refused: the user blocked the bot or the chat is gone) or skipped (the "
    "user turned them off).",
    ["kind", "result"],
)
