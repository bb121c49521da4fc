"""Fakes at the MTProto seam: they subclass the real interfaces and answer with real
Telethon TL objects (and raise real Telethon errors)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telethon.tl import types  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

from services.collector.mtproto import MtprotoClient, PeerStore

Answer = Callable[[TLRequest, int | None], Any]


class FakeClient(MtprotoClient):
    """Answers each request with ``answer(request, dc)``; records what was sent."""

    def __init__(self, account_id: int, answer: Answer, *, home_dc: int = 2) -> None:
        super().__init__(account_id, f"acc{account_id}")
        self._answer = answer
        self.home_dc = home_dc
        self.sent: list[tuple[TLRequest, int]] = []

    async def call(self, request: TLRequest) -> Any:
        return await self.call_in_dc(request, self.home_dc)

    async def call_in_dc(self, request: TLRequest, dc_id: int) -> Any:
        self.sent.append((request, dc_id))
        result = self._answer(request, dc_id)
        if isinstance(result, BaseException):
            raise result
        return result


class MemoryPeerStore(PeerStore):
    """Access hashes and usernames in dictionaries."""

    def __init__(self, usernames: dict[int, str] | None = None) -> None:
        self.hashes: dict[tuple[int, int], int] = {}
        self.usernames = usernames or {}

    async def access_hash(self, account_id: int, channel_id: int) -> int | None:
        return self.hashes.get((account_id, channel_id))

    async def remember(self, account_id: int, channel_id: int, access_hash: int) -> None:
        self.hashes[(account_id, channel_id)] = access_hash

    async def username(self, channel_id: int) -> str | None:
        return self.usernames.get(channel_id)


WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def channel(
    channel_id: int = 1234, *, username: str | None = "news", access_hash: int = 99
) -> types.Channel:
    """A broadcast channel as Telegram returns it."""
    return types.Channel(
        id=channel_id,
        title="News",
        photo=types.ChatPhotoEmpty(),
        date=WHEN,
        broadcast=True,
        access_hash=access_hash,
        username=username,
    )


def message(message_id: int, **fields: Any) -> types.Message:
    """A channel post with counters."""
    values: dict[str, Any] = {
        "peer_id": types.PeerChannel(1234),
        "date": WHEN,
        "message": f"post {message_id}",
        "post": True,
        "views": 10 * message_id,
        "forwards": message_id,
    }
    values.update(fields)
    return types.Message(id=message_id, **values)


def channel_messages(messages: list[Any], count: int | None = None) -> Any:
    """``messages.channelMessages`` as getHistory / channels.getMessages answer."""
    return types.messages.ChannelMessages(
        pts=1,
        count=count if count is not None else len(messages),
        messages=messages,
        topics=[],
        chats=[channel()],
        users=[],
    )
