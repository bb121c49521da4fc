"""The production ``TelegramSource``: MTProto through Telethon, on pooled accounts.

Every method is one operation run by the ``AccountRunner`` on whichever account is
available; the operation builds its ``InputChannel`` with that account's own access
hash (resolving the channel's username again when the account has none). Telegram's
errors become domain errors here; ``FloodWaitError`` is left to the runner, which rests
the account and moves the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telethon import errors  # type: ignore[import-untyped]
from telethon.tl import functions, types  # type: ignore[import-untyped]

from services.collector import telethon_mapping as mapping
from services.collector.domain import (
    BroadcastStats,
    ChannelInfo,
    ChannelNotFound,
    ChannelRef,
    FullChannel,
    HistoryPage,
    PostBatch,
    PostData,
    SourceUnavailable,
    StatsForbidden,
)
from services.collector.mtproto import AccountRunner, MtprotoClient, PeerStore
from services.collector.source import MAX_PAGE, TelegramSource

T = TypeVar("T")
# Requests per messages.getMessagesViews / channels.getMessages call.
VIEWS_BATCH = 100
_NOT_FOUND = (
    errors.ChannelPrivateError,
    errors.ChannelInvalidError,
    errors.UsernameNotOccupiedError,
    errors.UsernameInvalidError,
    errors.ChannelBannedError,
)
_STATS_FORBIDDEN = (errors.ChatAdminRequiredError, errors.BroadcastRequiredError)


class TelethonSource(TelegramSource):
    """``TelegramSource`` over MTProto accounts."""

    def __init__(self, runner: AccountRunner, peers: PeerStore) -> None:
        self._runner = runner
        self._peers = peers

    async def _run(self, operation: Callable[[MtprotoClient], Awaitable[T]]) -> T:
        """Run on some account; Telegram errors the runner did not handle (it handles
        FloodWait and rejected sessions) become SourceUnavailable, retried later."""
        try:
            return await self._runner.run(operation)
        except errors.RPCError as exc:
            raise SourceUnavailable(f"Telegram answered {type(exc).__name__}") from None

    async def _resolve_username(self, client: MtprotoClient, username: str) -> ChannelInfo:
        try:
            resolved = await client.call(
                functions.contacts.ResolveUsernameRequest(username=username)
            )
        except _NOT_FOUND as exc:
            raise ChannelNotFound(f"@{username}: {type(exc).__name__}") from None
        peer = resolved.peer
        if not isinstance(peer, types.PeerChannel):
            raise ChannelNotFound(f"@{username} is not a channel")
        chat = next((c for c in resolved.chats if c.id == peer.channel_id), None)
        info = mapping.channel_info(chat, reference=f"@{username}")
        if isinstance(chat, types.Channel) and chat.access_hash is not None:
            await self._peers.remember(client.account_id, chat.id, chat.access_hash)
        return info

    async def _input_channel(self, client: MtprotoClient, channel_id: int) -> types.InputChannel:
        access_hash = await self._peers.access_hash(client.account_id, channel_id)
        if access_hash is None:
            username = await self._peers.username(channel_id)
            if username is None:
                raise ChannelNotFound(
                    f"channel {channel_id} has no username and account {client.label} "
                    "never resolved it"
                )
            await self._resolve_username(client, username)
            access_hash = await self._peers.access_hash(client.account_id, channel_id)
            if access_hash is None:
                raise ChannelNotFound(f"@{username} no longer names channel {channel_id}")
        return types.InputChannel(channel_id=channel_id, access_hash=access_hash)

    async def _on_channel(self, channel_id: int, client: MtprotoClient, request: Any) -> Any:
        try:
            return await client.call(request)
        except _NOT_FOUND as exc:
            raise ChannelNotFound(f"channel {channel_id}: {type(exc).__name__}") from None

    async def resolve_channel(self, ref: ChannelRef) -> ChannelInfo:
        async def operation(client: MtprotoClient) -> ChannelInfo:
            if ref.username is not None:
                return await self._resolve_username(client, ref.username)
            assert ref.channel_id is not None
            channel = await self._input_channel(client, ref.channel_id)
            found = await self._on_channel(
                ref.channel_id, client, functions.channels.GetChannelsRequest(id=[channel])
            )
            chat = next((c for c in found.chats if c.id == ref.channel_id), None)
            return mapping.channel_info(chat, reference=str(ref.channel_id))

        return await self._run(operation)

    async def get_full_channel(self, channel_id: int) -> FullChannel:
        async def operation(client: MtprotoClient) -> FullChannel:
            channel = await self._input_channel(client, channel_id)
            answer = await self._on_channel(
                channel_id, client, functions.channels.GetFullChannelRequest(channel=channel)
            )
            return mapping.full_channel(answer)

        return await self._run(operation)

    async def get_history(
        self, channel_id: int, *, offset_id: int = 0, min_id: int = 0, limit: int = MAX_PAGE
    ) -> HistoryPage:
        async def operation(client: MtprotoClient) -> HistoryPage:
            channel = await self._input_channel(client, channel_id)
            answer = await self._on_channel(
                channel_id,
                client,
                functions.messages.GetHistoryRequest(
                    peer=channel,
                    offset_id=offset_id,
                    offset_date=None,
                    add_offset=0,
                    limit=min(limit, MAX_PAGE),
                    max_id=0,
                    min_id=min_id,
                    hash=0,
                ),
            )
            return _history_page(answer)

        return await self._run(operation)

    async def get_posts(self, channel_id: int, message_ids: Sequence[int]) -> PostBatch:
        ids = list(dict.fromkeys(message_ids))[:VIEWS_BATCH]

        async def operation(client: MtprotoClient) -> PostBatch:
            channel = await self._input_channel(client, channel_id)
            views = await self._on_channel(
                channel_id,
                client,
                functions.messages.GetMessagesViewsRequest(peer=channel, id=ids, increment=False),
            )
            state = await self._on_channel(
                channel_id,
                client,
                functions.channels.GetMessagesRequest(
                    channel=channel, id=[types.InputMessageID(id=i) for i in ids]
                ),
            )
            return _post_batch(ids, views.views, state.messages)

        return await self._run(operation)

    async def get_broadcast_stats(self, channel_id: int, stats_dc: int | None) -> BroadcastStats:
        async def operation(client: MtprotoClient) -> BroadcastStats:
            channel = await self._input_channel(client, channel_id)
            request = functions.stats.GetBroadcastStatsRequest(channel=channel, dark=False)
            dc = stats_dc
            try:
                try:
                    stats = await (client.call_in_dc(request, dc) if dc else client.call(request))
                except errors.StatsMigrateError as exc:
                    dc = exc.dc
                    stats = await client.call_in_dc(request, dc)
            except _STATS_FORBIDDEN as exc:
                raise StatsForbidden(f"channel {channel_id}: {type(exc).__name__}") from None
            except _NOT_FOUND as exc:
                raise ChannelNotFound(f"channel {channel_id}: {type(exc).__name__}") from None
            await _load_async_graphs(client, stats, dc)
            return mapping.broadcast_stats(stats)

        return await self._run(operation)


def _history_page(answer: Any) -> HistoryPage:
    """A page of ``messages.getHistory``: posts, the true total, and the lowest id seen
    (service messages move the cursor too but are not posts)."""
    messages = list(answer.messages)
    total = getattr(answer, "count", None)
    posts = [mapping.post(m) for m in messages if isinstance(m, types.Message)]
    ids = [m.id for m in messages if not isinstance(m, types.MessageEmpty)]
    return HistoryPage(
        posts=posts,
        total=int(total) if total is not None else len(messages),
        oldest_id=min(ids, default=None),
    )


def _post_batch(
    ids: list[int], counters: Sequence[types.MessageViews], messages: Sequence[Any]
) -> PostBatch:
    """Posts by id from ``channels.getMessages`` with the counters of
    ``messages.getMessagesViews`` (same order as ``ids``); ``MessageEmpty`` answers are
    the deletions Telegram reports."""
    by_id = dict(zip(ids, counters, strict=False))
    posts: list[PostData] = []
    missing: set[int] = set()
    for message in messages:
        if isinstance(message, types.MessageEmpty):
            missing.add(message.id)
        elif isinstance(message, types.Message):
            posts.append(mapping.post(message, by_id.get(message.id)))
    return PostBatch(posts=posts, missing=frozenset(missing))


async def _load_async_graphs(
    client: MtprotoClient, stats: types.stats.BroadcastStats, dc: int | None
) -> None:
    """Replace each ``StatsGraphAsync`` of ``stats`` by the graph it stands for, loaded
    concurrently from the statistics DC."""
    pending = [
        (name, value.token)
        for name, value in vars(stats).items()
        if isinstance(value, types.StatsGraphAsync)
    ]

    async def load(token: str) -> Any:
        request = functions.stats.LoadAsyncGraphRequest(token=token)
        return await (client.call_in_dc(request, dc) if dc else client.call(request))

    graphs = await asyncio.gather(*(load(token) for _, token in pending))
    for (name, _), graph in zip(pending, graphs, strict=True):
        setattr(stats, name, graph)
