"""The ``TelegramSource`` port: the only Telegram calls the collector makes.

Two implementations drive the same ingestion code: the deterministic simulator
(``simulator.py``) and the Telethon adapter (production). Each method maps onto one
MTProto request so the adapter stays narrow:

- ``resolve_channel``: ``contacts.resolveUsername`` / ``channels.getChannels``
- ``get_full_channel``: ``channels.getFullChannel``
- ``get_history``: ``messages.getHistory`` (up to 100 messages, newest first)
- ``get_posts``: the current state of up to 100 ids: counters from
  ``messages.getMessagesViews`` (``increment=False``), reactions by emoji and edit dates
  from ``channels.getMessages``, whose ``MessageEmpty`` answers are the only deletion
  observations.
- ``get_broadcast_stats``: ``stats.getBroadcastStats`` sent to the channel's
  ``stats_dc``, with every asynchronous graph loaded (``stats.loadAsyncGraph``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from services.collector.domain import (
    BroadcastStats,
    ChannelInfo,
    ChannelRef,
    FullChannel,
    HistoryPage,
    PostBatch,
)

MAX_PAGE = 100


class TelegramSource(ABC):
    """Where channels, posts and counters come from."""

    @abstractmethod
    async def resolve_channel(self, ref: ChannelRef) -> ChannelInfo:
        """The channel named by ``ref``; raises ``ChannelNotFound`` if there is none."""

    @abstractmethod
    async def get_full_channel(self, channel_id: int) -> FullChannel:
        """Subscriber count and statistics access of a channel."""

    @abstractmethod
    async def get_history(
        self, channel_id: int, *, offset_id: int = 0, min_id: int = 0, limit: int = MAX_PAGE
    ) -> HistoryPage:
        """Up to ``limit`` (≤ 100) messages with ``min_id < id < offset_id``, newest first.

        ``offset_id=0`` means "from the newest message". An empty page means the history
        has no more messages in that range.
        """

    @abstractmethod
    async def get_posts(self, channel_id: int, message_ids: Sequence[int]) -> PostBatch:
        """Current state of up to 100 messages; ids that no longer exist are ``missing``."""

    @abstractmethod
    async def get_broadcast_stats(self, channel_id: int, stats_dc: int | None) -> BroadcastStats:
        """Telegram's native statistics of a channel whose full record says
        ``can_view_stats``; raises ``StatsForbidden`` when the account may not read them."""
