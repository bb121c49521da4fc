"""Telethon TL objects to collector domain types: pure functions, no I/O.

Kept apart from the adapter so each translation is tested on real TL objects built
directly (``telethon.tl.types.Message(...)``), without a network.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from telethon.tl import types  # type: ignore[import-untyped]

from services.collector.domain import (
    BroadcastStats,
    ChannelInfo,
    ChannelNotFound,
    FullChannel,
    PostData,
)

PREVIEW_CHARS = 500


def channel_info(chat: Any, *, reference: str) -> ChannelInfo:
    """A broadcast channel as the collector knows it; ChannelNotFound for anything else
    (a group, a forbidden channel, a user)."""
    if isinstance(chat, types.ChannelForbidden):
        raise ChannelNotFound(f"channel {reference} is private or banned")
    if not isinstance(chat, types.Channel) or not chat.broadcast:
        raise ChannelNotFound(f"{reference} is not a broadcast channel")
    return ChannelInfo(channel_id=chat.id, username=chat.username, title=chat.title)


def full_channel(chat_full: types.messages.ChatFull) -> FullChannel:
    """The full channel record: subscribers, statistics access, linked discussion."""
    full = chat_full.full_chat
    if not isinstance(full, types.ChannelFull):
        raise ChannelNotFound("the full record is not a channel's")
    return FullChannel(
        channel_id=full.id,
        participants_count=full.participants_count,
        can_view_stats=bool(full.can_view_stats),
        stats_dc=full.stats_dc,
        linked_chat_id=full.linked_chat_id,
    )


def media_type(media: Any) -> str:
    """What a post carries: text, photo, video, audio, document, poll or other."""
    if media is None or isinstance(media, types.MessageMediaWebPage | types.MessageMediaEmpty):
        return "text"
    if isinstance(media, types.MessageMediaPhoto):
        return "photo"
    if isinstance(media, types.MessageMediaPoll):
        return "poll"
    if isinstance(media, types.MessageMediaDocument):
        document = media.document
        attributes = document.attributes if isinstance(document, types.Document) else []
        if any(isinstance(a, types.DocumentAttributeVideo) for a in attributes):
            return "video"
        if any(isinstance(a, types.DocumentAttributeAudio) for a in attributes):
            return "audio"
        return "document"
    return "other"


def reaction_key(reaction: Any) -> str:
    """The key of one reaction in the emoji → count map: the emoji itself, or
    ``custom:<document id>`` for custom emoji, ``paid`` for Stars reactions."""
    if isinstance(reaction, types.ReactionEmoji):
        return str(reaction.emoticon)
    if isinstance(reaction, types.ReactionCustomEmoji):
        return f"custom:{reaction.document_id}"
    if isinstance(reaction, types.ReactionPaid):
        return "paid"
    return type(reaction).__name__


def reactions(value: types.MessageReactions | None) -> dict[str, int]:
    """Reactions by emoji; empty when the post has none."""
    if value is None:
        return {}
    counts: dict[str, int] = {}
    for result in value.results:
        key = reaction_key(result.reaction)
        counts[key] = counts.get(key, 0) + int(result.count)
    return {key: count for key, count in counts.items() if count > 0}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def replies_count(value: types.MessageReplies | None) -> int:
    """Comments under a post (0 without a linked discussion group)."""
    return int(value.replies) if value is not None else 0


def post(message: types.Message, counters: types.MessageViews | None = None) -> PostData:
    """A channel post; ``counters`` (from ``messages.getMessagesViews``) overrides the
    counters the message carried when it has them."""
    views = message.views or 0
    forwards = message.forwards or 0
    replies = replies_count(message.replies)
    if counters is not None and counters.views is not None:
        views = counters.views
        forwards = counters.forwards or 0
        replies = replies_count(counters.replies) if counters.replies is not None else replies
    return PostData(
        message_id=message.id,
        published_at=_utc(message.date) if message.date else datetime.fromtimestamp(0, UTC),
        edited_at=_utc(message.edit_date) if message.edit_date and not message.edit_hide else None,
        media_type=media_type(message.media),
        text_preview=(message.message or "")[:PREVIEW_CHARS],
        grouped_id=message.grouped_id,
        views=views,
        forwards=forwards,
        replies=replies,
        reactions=reactions(message.reactions),
    )


def jsonable(value: Any) -> Any:
    """``TLObject.to_dict()`` output made JSON-ready: datetimes to ISO 8601, bytes to
    base64, and ``DataJSON`` (graph data) parsed into the object it encodes."""
    if isinstance(value, dict):
        if value.get("_") == "DataJSON" and isinstance(value.get("data"), str):
            return json.loads(value["data"])
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def broadcast_stats(stats: types.stats.BroadcastStats) -> BroadcastStats:
    """The stored form of ``stats.broadcastStats`` (async graphs already loaded)."""
    period = stats.period
    window = f"{_utc(period.min_date).isoformat()}/{_utc(period.max_date).isoformat()}"
    payload = jsonable(stats.to_dict())
    return BroadcastStats(period=window, payload=payload)
