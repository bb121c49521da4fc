"""The periodic administrator re-sync: Telegram's administrator list (the fake's
getChatAdministrators) changes after onboarding, and the re-sync makes the grants in the
real auth service follow it; a channel the bot lost access to is paused at the collector
(the fake collector of ``test_bot_updates``, at the gRPC seam)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiogram import Bot
from aiogram.types import Chat, User

from analyticbot.auth.v1 import auth_pb2
from services.bot import repository as repo
from services.bot.domain import chat_id_from_channel
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.onboarding import Onboarding
from services.bot.peers import Peers
from tests.integration.bot.fake_telegram import BOT_USER, FakeTelegram, bad_request, forbidden
from tests.integration.bot.peer_servers import peer_servers
from tests.integration.bot.test_bot_updates import FakeCollector

IDS_PER_TEST = 100
_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_send_welcome_messages",
)


def admin(user_id: int, name: str, *, is_bot: bool = False) -> dict[str, Any]:
    """An administrator as getChatAdministrators lists it."""
    return {
        "status": "administrator",
        "user": {"id": user_id, "is_bot": is_bot, "first_name": name},
        "can_be_edited": False,
        "is_anonymous": False,
        **dict.fromkeys(_RIGHTS, True),
    }


def creator(user_id: int, name: str) -> dict[str, Any]:
    return {
        "status": "creator",
        "user": {"id": user_id, "is_bot": False, "first_name": name},
        "is_anonymous": False,
    }


THE_BOT = {**admin(0, "", is_bot=True), "user": BOT_USER}


@dataclass(frozen=True)
class Resync:
    onboarding: Onboarding
    peers: Peers
    collector: FakeCollector


@pytest.fixture
async def resync(
    pool: asyncpg.Pool, bot: Bot, links: MiniAppLinks, unique_id: int
) -> AsyncIterator[Resync]:
    async with peer_servers(pool) as servers:
        onboarding = Onboarding(
            bot=bot,
            pool=pool,
            peers=servers.peers,
            links=links,
            limits=SendLimits(chat_interval=0.05),
        )
        yield Resync(onboarding, servers.peers, servers.collector)
    last = unique_id + IDS_PER_TEST
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM bot_channels WHERE channel_id >= $1 AND channel_id < $2", unique_id, last
        )
        await conn.execute(
            "DELETE FROM bot_users WHERE user_id >= $1 AND user_id < $2", unique_id, last
        )
        await conn.execute("DELETE FROM channels WHERE id >= $1 AND id < $2", unique_id, last)
        await conn.execute("DELETE FROM users WHERE id >= $1 AND id < $2", unique_id, last)


async def onboard(
    resync: Resync,
    pool: asyncpg.Pool,
    telegram: FakeTelegram,
    channel_id: int,
    admins: list[dict[str, Any]],
    added_by: int,
) -> None:
    """The channel as the collector registers it, then the bot promoted by ``added_by``."""
    await pool.execute(
        "INSERT INTO channels (id, title, username) VALUES ($1, $2, $3)",
        channel_id,
        f"C{channel_id}",
        f"c{channel_id}",
    )
    chat_id = chat_id_from_channel(channel_id)
    telegram.admins[chat_id] = admins
    chat = Chat(id=chat_id, type="channel", title=f"C{channel_id}", username=f"c{channel_id}")
    await resync.onboarding.bot_promoted(chat, User(id=added_by, is_bot=False, first_name="Adam"))


async def grants(pool: asyncpg.Pool, channel_id: int) -> dict[int, tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT user_id, role, source FROM grants WHERE channel_id = $1", channel_id
    )
    return {r["user_id"]: (r["role"], r["source"]) for r in rows}


async def last_synced(pool: asyncpg.Pool, channel_id: int) -> datetime | None:
    at: datetime | None = await pool.fetchval(
        "SELECT last_synced_at FROM bot_channels WHERE channel_id = $1", channel_id
    )
    return at


def admin_lookups(telegram: FakeTelegram, channel_id: int) -> int:
    chat_id = chat_id_from_channel(channel_id)
    return len(
        [c for c in telegram.calls if c.method == "getChatAdministrators" and c.chat_id == chat_id]
    )


async def test_resync_grants_new_admins_and_revokes_removed_ones(
    resync: Resync, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    channel = unique_id
    cleo, adam, olga, ivan, nick, helper_bot = (unique_id + i for i in range(1, 7))
    await onboard(
        resync,
        pool,
        telegram,
        channel,
        [creator(cleo, "Cleo"), admin(adam, "Adam"), admin(olga, "Olga"), THE_BOT],
        added_by=adam,
    )
    # Ivan joined through an invite; invites are not Telegram's business.
    await pool.execute("INSERT INTO users (id, first_name) VALUES ($1, 'Ivan')", ivan)
    await pool.execute(
        "INSERT INTO grants (user_id, channel_id, role, source) "
        "VALUES ($1, $2, 'analyst', 'invite')",
        ivan,
        channel,
    )
    onboarded_at = await last_synced(pool, channel)
    assert onboarded_at is not None
    assert await grants(pool, channel) == {
        cleo: ("owner", "telegram"),
        adam: ("owner", "telegram"),
        olga: ("admin", "telegram"),
        ivan: ("analyst", "invite"),
    }

    # In Telegram, Olga is no longer an administrator; Nick and another bot are.
    telegram.admins[chat_id_from_channel(channel)] = [
        creator(cleo, "Cleo"),
        admin(adam, "Adam"),
        admin(nick, "Nick"),
        admin(helper_bot, "Helper", is_bot=True),
        THE_BOT,
    ]
    await resync.onboarding.resync(channel)

    assert await grants(pool, channel) == {
        cleo: ("owner", "telegram"),
        adam: ("owner", "telegram"),  # who added the bot stays owner while an admin
        nick: ("admin", "telegram"),
        ivan: ("analyst", "invite"),
    }
    # What /channels (auth ListUserChannels) now tells Nick and Olga.
    assert [(c.channel_id, c.role) for c in await resync.peers.user_channels(nick)] == [
        (channel, auth_pb2.ROLE_ADMIN)
    ]
    assert await resync.peers.user_channels(olga) == []
    synced_at = await last_synced(pool, channel)
    assert synced_at is not None
    assert synced_at > onboarded_at
    assert resync.collector.paused == []


@pytest.mark.parametrize(
    "refusal",
    [forbidden(), bad_request("chat not found")],
    ids=["kicked", "chat-gone"],
)
async def test_a_channel_the_bot_lost_is_paused_and_left_out_of_later_resyncs(
    resync: Resync,
    telegram: FakeTelegram,
    pool: asyncpg.Pool,
    unique_id: int,
    refusal: tuple[int, dict[str, Any]],
) -> None:
    channel, cleo = unique_id, unique_id + 1
    await onboard(resync, pool, telegram, channel, [creator(cleo, "Cleo"), THE_BOT], cleo)
    chat_id = chat_id_from_channel(channel)
    telegram.rules.append(
        lambda call: (
            refusal if call.method == "getChatAdministrators" and call.chat_id == chat_id else None
        )
    )

    await resync.onboarding.resync(channel)

    assert resync.collector.paused == [(channel, True)]
    is_admin = await pool.fetchval(
        "SELECT is_admin FROM bot_channels WHERE channel_id = $1", channel
    )
    assert is_admin is False
    async with pool.acquire() as conn:
        due = await repo.channels_to_resync(conn, datetime.now(UTC) + timedelta(days=1))
    assert channel not in due
    # The grants stay: the dashboard keeps the history collected so far.
    assert await grants(pool, channel) == {cleo: ("owner", "telegram")}


async def test_the_loop_resyncs_stale_channels_only_and_survives_a_failing_one(
    resync: Resync, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    stale, fresh, unknown = unique_id, unique_id + 1, unique_id + 2
    cleo, olga, nick = unique_id + 10, unique_id + 11, unique_id + 12
    for channel in (stale, fresh):
        await onboard(
            resync,
            pool,
            telegram,
            channel,
            [creator(cleo, "Cleo"), admin(olga, "Olga"), THE_BOT],
            cleo,
        )
        # Olga leaves both channels' administrators, Nick joins.
        telegram.admins[chat_id_from_channel(channel)] = [
            creator(cleo, "Cleo"),
            admin(nick, "Nick"),
            THE_BOT,
        ]
    now = datetime.now(UTC)
    await pool.execute(
        "UPDATE bot_channels SET last_synced_at = $2 WHERE channel_id = $1",
        stale,
        now - timedelta(hours=2),
    )
    await pool.execute(
        "UPDATE bot_channels SET last_synced_at = $2 WHERE channel_id = $1",
        fresh,
        now - timedelta(minutes=5),
    )
    # A channel the bot administers but the auth service does not know: its sync fails
    # (NOT_FOUND), and being never synced it comes first.
    async with pool.acquire() as conn:
        await repo.upsert_channel(
            conn, channel_id=unknown, title="?", username=None, is_admin=True, added_by=None
        )
    telegram.admins[chat_id_from_channel(unknown)] = [creator(cleo, "Cleo"), THE_BOT]
    fresh_lookups = admin_lookups(telegram, fresh)

    stop = asyncio.Event()
    loop = asyncio.create_task(resync.onboarding.resync_loop(stop, interval=3600))
    try:

        async def stale_synced() -> bool:
            at = await last_synced(pool, stale)
            return at is not None and at > now

        deadline = asyncio.get_running_loop().time() + 4
        while not await stale_synced():
            assert not loop.done(), "the re-sync loop ended"
            assert asyncio.get_running_loop().time() < deadline, "the stale channel was not synced"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await loop

    assert await grants(pool, stale) == {cleo: ("owner", "telegram"), nick: ("admin", "telegram")}
    assert await grants(pool, fresh) == {cleo: ("owner", "telegram"), olga: ("admin", "telegram")}
    assert admin_lookups(telegram, fresh) == fresh_lookups
    assert admin_lookups(telegram, unknown) == 1
    assert await last_synced(pool, unknown) is None
