"""The Telethon adapter against real TL objects and real Telethon errors."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from telethon import errors  # type: ignore[import-untyped]
from telethon.tl import functions, types  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

from services.collector.account_pool import AccountPool
from services.collector.domain import (
    ChannelNotFound,
    ChannelRef,
    SourceUnavailable,
    StatsForbidden,
)
from services.collector.telethon_source import TelethonSource
from tests.unit.collector.fakes import (
    WHEN,
    FakeClient,
    MemoryPeerStore,
    channel,
    channel_messages,
    message,
)


def _source(answer: Any, peers: MemoryPeerStore | None = None) -> tuple[TelethonSource, FakeClient]:
    client = FakeClient(1, answer)
    pool = AccountPool(per_account_rate=1000, global_rate=1000)
    pool.add(client)
    store = peers or MemoryPeerStore({1234: "news"})
    store.hashes[(1, 1234)] = 99
    return TelethonSource(pool, store), client


async def test_resolve_remembers_the_access_hash_of_this_account() -> None:
    def answer(request: TLRequest, dc: int | None) -> Any:
        assert isinstance(request, functions.contacts.ResolveUsernameRequest)
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(555), chats=[channel(555, access_hash=777)], users=[]
        )

    peers = MemoryPeerStore()
    source, _ = _source(answer, peers)
    info = await source.resolve_channel(ChannelRef(username="news"))
    assert (info.channel_id, info.username, info.title) == (555, "news", "News")
    assert peers.hashes[(1, 555)] == 777


@pytest.mark.parametrize(
    "error",
    [
        errors.UsernameNotOccupiedError(request=None),
        errors.ChannelPrivateError(request=None),
    ],
)
async def test_unknown_or_private_channels_are_not_found(error: Exception) -> None:
    source, _ = _source(lambda request, dc: error)
    with pytest.raises(ChannelNotFound):
        await source.resolve_channel(ChannelRef(username="missing"))


async def test_a_group_is_not_a_channel() -> None:
    group = types.Channel(
        id=555, title="Chat", photo=types.ChatPhotoEmpty(), date=WHEN, megagroup=True
    )
    answer = types.contacts.ResolvedPeer(peer=types.PeerChannel(555), chats=[group], users=[])
    source, _ = _source(lambda request, dc: answer)
    with pytest.raises(ChannelNotFound, match="not a broadcast channel"):
        await source.resolve_channel(ChannelRef(username="chat"))


async def test_an_account_without_a_hash_resolves_the_username_again() -> None:
    def answer(request: TLRequest, dc: int | None) -> Any:
        if isinstance(request, functions.contacts.ResolveUsernameRequest):
            return types.contacts.ResolvedPeer(
                peer=types.PeerChannel(1234), chats=[channel(access_hash=4242)], users=[]
            )
        assert isinstance(request, functions.channels.GetFullChannelRequest)
        assert request.channel.access_hash == 4242
        return _chat_full(participants_count=10)

    peers = MemoryPeerStore({1234: "news"})
    source = TelethonSource(_pool(FakeClient(7, answer)), peers)
    full = await source.get_full_channel(1234)
    assert full.participants_count == 10
    assert peers.hashes[(7, 1234)] == 4242


def _pool(*clients: FakeClient, **kwargs: Any) -> AccountPool:
    pool = AccountPool(per_account_rate=1000, global_rate=1000, **kwargs)
    for client in clients:
        pool.add(client)
    return pool


def _chat_full(**fields: Any) -> types.messages.ChatFull:
    values: dict[str, Any] = {
        "id": 1234,
        "about": "",
        "read_inbox_max_id": 0,
        "read_outbox_max_id": 0,
        "unread_count": 0,
        "chat_photo": types.PhotoEmpty(id=0),
        "notify_settings": types.PeerNotifySettings(),
        "bot_info": [],
        "pts": 1,
    }
    values.update(fields)
    return types.messages.ChatFull(full_chat=types.ChannelFull(**values), chats=[], users=[])


async def test_full_channel_reads_subscribers_stats_access_and_linked_chat() -> None:
    answer = _chat_full(
        participants_count=15_300, can_view_stats=True, stats_dc=4, linked_chat_id=888
    )
    source, _ = _source(lambda request, dc: answer)
    full = await source.get_full_channel(1234)
    assert (full.participants_count, full.can_view_stats, full.stats_dc, full.linked_chat_id) == (
        15_300,
        True,
        4,
        888,
    )


async def test_a_hidden_subscriber_count_is_unknown_not_zero() -> None:
    source, _ = _source(lambda request, dc: _chat_full())
    full = await source.get_full_channel(1234)
    assert full.participants_count is None
    assert not full.can_view_stats


async def test_history_page_maps_posts_and_moves_the_cursor_past_service_messages() -> None:
    reactions = types.MessageReactions(
        results=[
            types.ReactionCount(reaction=types.ReactionEmoji(emoticon="👍"), count=7),
            types.ReactionCount(reaction=types.ReactionCustomEmoji(document_id=5), count=2),
            types.ReactionCount(reaction=types.ReactionPaid(), count=1),
        ]
    )
    photo = types.MessageMediaPhoto(photo=types.PhotoEmpty(id=1))
    page = channel_messages(
        [
            message(
                12,
                media=photo,
                reactions=reactions,
                replies=types.MessageReplies(replies=3, replies_pts=1),
                grouped_id=77,
                edit_date=WHEN + timedelta(hours=1),
            ),
            message(11, edit_date=WHEN + timedelta(hours=2), edit_hide=True),
            types.MessageService(
                id=9,
                peer_id=types.PeerChannel(1234),
                date=WHEN,
                action=types.MessageActionPinMessage(),
            ),
        ],
        count=340,
    )
    seen: list[TLRequest] = []

    def answer(request: TLRequest, dc: int | None) -> Any:
        seen.append(request)
        return page

    source, _ = _source(answer)
    result = await source.get_history(1234, offset_id=13, limit=100)
    request = seen[0]
    assert isinstance(request, functions.messages.GetHistoryRequest)
    assert (request.offset_id, request.limit, request.min_id) == (13, 100, 0)
    assert result.total == 340
    assert result.cursor == 9
    first, second = result.posts
    assert (first.message_id, first.views, first.forwards, first.replies) == (12, 120, 12, 3)
    assert first.reactions == {"👍": 7, "custom:5": 2, "paid": 1}
    assert (first.media_type, first.grouped_id) == ("photo", 77)
    assert first.edited_at == WHEN + timedelta(hours=1)
    assert second.edited_at is None  # an edit Telegram hides (reactions) is not an edit
    assert second.reactions == {}


async def test_an_empty_history_page_ends_the_backfill() -> None:
    source, _ = _source(lambda request, dc: channel_messages([], count=0))
    page = await source.get_history(1234, offset_id=5)
    assert page.cursor is None
    assert page.posts == []


async def test_refresh_takes_views_without_incrementing_and_sees_deletions() -> None:
    ids = list(range(1, 101))

    def answer(request: TLRequest, dc: int | None) -> Any:
        if isinstance(request, functions.messages.GetMessagesViewsRequest):
            assert request.increment is False
            assert request.id == ids
            return types.messages.MessageViews(
                views=[
                    types.MessageViews(
                        views=1000 + i,
                        forwards=i,
                        replies=types.MessageReplies(replies=2, replies_pts=1),
                    )
                    if i != 50
                    else types.MessageViews()
                    for i in ids
                ],
                chats=[],
                users=[],
            )
        assert isinstance(request, functions.channels.GetMessagesRequest)
        return channel_messages([_empty(i) if i == 50 else message(i) for i in ids])

    source, client = _source(answer)
    batch = await source.get_posts(1234, ids)
    assert len(client.sent) == 2  # one full batch of 100: views + state
    assert batch.missing == frozenset({50})
    by_id = {p.message_id: p for p in batch.posts}
    assert len(by_id) == 99
    assert (by_id[7].views, by_id[7].forwards, by_id[7].replies) == (1007, 7, 2)


async def test_broadcast_stats_go_to_the_stats_dc_with_async_graphs_loaded() -> None:
    stats = types.stats.BroadcastStats(
        period=types.StatsDateRangeDays(min_date=WHEN - timedelta(days=7), max_date=WHEN),
        followers=types.StatsAbsValueAndPrev(current=1500.0, previous=1400.0),
        views_per_post=types.StatsAbsValueAndPrev(current=900.0, previous=850.0),
        shares_per_post=types.StatsAbsValueAndPrev(current=10.0, previous=9.0),
        reactions_per_post=types.StatsAbsValueAndPrev(current=30.0, previous=28.0),
        views_per_story=types.StatsAbsValueAndPrev(current=0.0, previous=0.0),
        shares_per_story=types.StatsAbsValueAndPrev(current=0.0, previous=0.0),
        reactions_per_story=types.StatsAbsValueAndPrev(current=0.0, previous=0.0),
        enabled_notifications=types.StatsPercentValue(part=300.0, total=1500.0),
        growth_graph=types.StatsGraphAsync(token="growth"),
        followers_graph=types.StatsGraph(json=types.DataJSON(data='{"columns": [["x", 1]]}')),
        mute_graph=types.StatsGraphError(error="not enough data"),
        top_hours_graph=types.StatsGraphAsync(token="hours"),
        interactions_graph=types.StatsGraphError(error="x"),
        iv_interactions_graph=types.StatsGraphError(error="x"),
        views_by_source_graph=types.StatsGraphError(error="x"),
        new_followers_by_source_graph=types.StatsGraphError(error="x"),
        languages_graph=types.StatsGraphError(error="x"),
        reactions_by_emotion_graph=types.StatsGraphError(error="x"),
        story_interactions_graph=types.StatsGraphError(error="x"),
        story_reactions_by_emotion_graph=types.StatsGraphError(error="x"),
        recent_posts_interactions=[
            types.PostInteractionCountersMessage(msg_id=12, views=900, forwards=3, reactions=4)
        ],
    )

    def answer(request: TLRequest, dc: int | None) -> Any:
        assert dc == 4
        if isinstance(request, functions.stats.LoadAsyncGraphRequest):
            data = json.dumps({"token": request.token})
            return types.StatsGraph(json=types.DataJSON(data=data))
        assert isinstance(request, functions.stats.GetBroadcastStatsRequest)
        return stats

    source, client = _source(answer)
    result = await source.get_broadcast_stats(1234, 4)
    payload: dict[str, Any] = result.payload
    assert result.period == f"{(WHEN - timedelta(days=7)).isoformat()}/{WHEN.isoformat()}"
    assert payload["followers"]["current"] == 1500.0
    assert payload["growth_graph"]["json"] == {"token": "growth"}
    assert payload["top_hours_graph"]["json"] == {"token": "hours"}
    assert payload["followers_graph"]["json"] == {"columns": [["x", 1]]}
    assert payload["recent_posts_interactions"][0]["views"] == 900
    assert len(client.sent) == 3


async def test_stats_follow_a_stats_migrate_error() -> None:
    def answer(request: TLRequest, dc: int | None) -> Any:
        if dc == 2:
            return errors.StatsMigrateError(request=None, capture=5)
        return errors.ChatAdminRequiredError(request=None)

    source, client = _source(answer)
    with pytest.raises(StatsForbidden):
        await source.get_broadcast_stats(1234, None)
    assert [dc for _, dc in client.sent] == [2, 5]


def _empty(message_id: int) -> Any:
    """``messageEmpty`` as Telethon deserializes it (its patched class)."""
    return types.MessageEmpty(id=message_id, peer_id=types.PeerChannel(1234))


async def test_other_telegram_errors_are_retried_later_not_fatal() -> None:
    source, _ = _source(lambda request, dc: errors.MsgIdInvalidError(request=None))
    with pytest.raises(SourceUnavailable, match="MsgIdInvalidError"):
        await source.get_posts(1234, [1, 2])
