"""The real aiogram Dispatcher polling the fake Bot API: /start, channel onboarding with
the real auth service and a fake collector at the gRPC seam, and the webhook's secret."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
import asyncpg
import grpc
import pytest
from aiogram import Bot, Dispatcher

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.grpc_server import build_server
from analyticbot.runtime.initdata import InitDataValidator
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.auth.main import build as build_auth
from services.auth.service import AuthPolicy, AuthService
from services.bot.app import build_dispatcher, configure_bot
from services.bot.config import WEBHOOK_PATH
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.onboarding import Onboarding
from services.bot.peers import Peers
from services.bot.webhook import build_webhook_app, start_webhook_server
from tests.integration.bot.conftest import BOT_TOKEN, WEBAPP_URL
from tests.integration.bot.fake_telegram import BOT_USER, FakeTelegram

BOT_SECRET = "bot-service-secret-" + "z" * 32
Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class FakeCollector(collector_pb2_grpc.CollectorServiceServicer):
    """Stands in for the collector at the gRPC seam and records the calls (the test
    inserts the channel row the real TrackChannel would)."""

    pool: asyncpg.Pool
    tracked: list[str] = field(default_factory=list)
    paused: list[tuple[int, bool]] = field(default_factory=list)

    async def TrackChannel(
        self, request: collector_pb2.TrackChannelRequest, context: Context
    ) -> collector_pb2.TrackChannelResponse:
        self.tracked.append(request.reference)
        return collector_pb2.TrackChannelResponse(created=True)

    async def SetChannelPaused(
        self, request: collector_pb2.SetChannelPausedRequest, context: Context
    ) -> collector_pb2.SetChannelPausedResponse:
        self.paused.append((request.channel_id, request.paused))
        return collector_pb2.SetChannelPausedResponse()

    async def ListTrackedChannels(
        self, request: collector_pb2.ListTrackedChannelsRequest, context: Context
    ) -> collector_pb2.ListTrackedChannelsResponse:
        return collector_pb2.ListTrackedChannelsResponse()

    async def GetCollectionStatus(
        self, request: collector_pb2.GetCollectionStatusRequest, context: Context
    ) -> collector_pb2.GetCollectionStatusResponse:
        return collector_pb2.GetCollectionStatusResponse()


@dataclass
class Stack:
    dp: Dispatcher
    collector: FakeCollector


@pytest.fixture
async def stack(
    pool: asyncpg.Pool, bot: Bot, telegram: FakeTelegram, links: MiniAppLinks
) -> AsyncIterator[Stack]:
    policy = AuthPolicy(service_secrets={"bot": hashlib.sha256(BOT_SECRET.encode()).digest()})
    auth = build_auth(
        AuthService(
            pool,
            InitDataValidator(bot_token=BOT_TOKEN),
            TokenSigner([SigningKey.generate()]),
            policy,
        ),
        port=0,
    )
    collector = FakeCollector(pool)
    name = collector_pb2.DESCRIPTOR.services_by_name["CollectorService"].full_name
    collector_server = build_server(
        [(partial(collector_pb2_grpc.add_CollectorServiceServicer_to_server, collector), name)]
    )
    await auth.start()
    await collector_server.start()
    peers = Peers(
        auth_addr=f"127.0.0.1:{auth.port}",
        collector_addr=f"127.0.0.1:{collector_server.port}",
        analytics_addr="127.0.0.1:9",
        service_name="bot",
        service_secret=BOT_SECRET,
    )
    onboarding = Onboarding(bot=bot, pool=pool, peers=peers, links=links, limits=SendLimits())
    dp = build_dispatcher(pool=pool, peers=peers, links=links, onboarding=onboarding)
    try:
        yield Stack(dp=dp, collector=collector)
    finally:
        await peers.close()
        await collector_server.stop(0)
        await auth.stop(0)


@pytest.fixture
async def polling(stack: Stack, bot: Bot) -> AsyncIterator[Stack]:
    task = asyncio.create_task(
        stack.dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    yield stack
    await stack.dp.stop_polling()
    await task


def _user(user_id: int, name: str, language: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}


def start_update(user_id: int, text: str, language: str = "en") -> dict[str, Any]:
    command = text.split()[0]
    return {
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
            "from": _user(user_id, "Ann", language),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": True,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_send_welcome_messages": True,
}


def membership_update(
    chat: dict[str, Any], by: dict[str, Any], old: str, new: str
) -> dict[str, Any]:
    def member(status: str) -> dict[str, Any]:
        extra = _ADMIN_RIGHTS if status == "administrator" else {}
        return {"status": status, "user": BOT_USER, **extra}

    return {
        "my_chat_member": {
            "chat": chat,
            "from": by,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }


async def test_start_answers_in_the_users_language_with_the_mini_app_button(
    polling: Stack, telegram: FakeTelegram, unique_id: int
) -> None:
    telegram.push(start_update(unique_id, "/start channel_42", language="ru"))
    await telegram.wait_for(lambda: bool(telegram.sent()))
    reply = telegram.sent()[0]
    assert reply.chat_id == unique_id
    assert str(reply.params["text"]).startswith("Привет, Ann!")
    button = reply.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"]["url"] == f"{WEBAPP_URL}?startapp=channel_42"


async def test_menu_button_opens_the_mini_app(bot: Bot, telegram: FakeTelegram) -> None:
    await configure_bot(bot, WEBAPP_URL)
    menu = next(c for c in telegram.calls if c.method == "setChatMenuButton")
    assert menu.params["menu_button"]["web_app"]["url"] == WEBAPP_URL
    languages = {
        c.params.get("language_code") for c in telegram.calls if c.method == "setMyCommands"
    }
    assert {"en", "ru", "uz"} <= languages


async def test_adding_the_bot_registers_the_channel_and_grants_owner(
    polling: Stack, telegram: FakeTelegram, pool: asyncpg.Pool, unique_id: int
) -> None:
    channel_id, creator, adder, other = unique_id, unique_id + 1, unique_id + 2, unique_id + 3
    await pool.execute(
        "INSERT INTO channels (id, title, username) VALUES ($1, 'Mine', $2)",
        channel_id,
        f"mine{channel_id}",
    )
    chat_id = -(10**12 + channel_id)
    chat: dict[str, Any] = {
        "id": chat_id,
        "type": "channel",
        "title": "Mine",
        "username": f"mine{channel_id}",
    }
    telegram.admins[chat_id] = [
        {"status": "creator", "user": _user(creator, "Cleo"), "is_anonymous": False},
        {"status": "administrator", "user": _user(adder, "Adam"), **_ADMIN_RIGHTS},
        {"status": "administrator", "user": _user(other, "Olga"), **_ADMIN_RIGHTS},
        {"status": "administrator", "user": BOT_USER, **_ADMIN_RIGHTS},
    ]
    telegram.push(membership_update(chat, _user(adder, "Adam"), "left", "administrator"))
    await telegram.wait_for(lambda: any(c.chat_id == adder for c in telegram.sent()))
    assert polling.collector.tracked == [f"mine{channel_id}"]
    rows = await pool.fetch("SELECT user_id, role FROM grants WHERE channel_id = $1", channel_id)
    assert {r["user_id"]: r["role"] for r in rows} == {
        creator: "owner",
        adder: "owner",
        other: "admin",
    }
    told = next(c for c in telegram.sent() if c.chat_id == adder)
    button = told.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"]["url"].endswith(f"startapp=channel_{channel_id}")

    telegram.push(membership_update(chat, _user(creator, "Cleo"), "administrator", "left"))
    await telegram.wait_for(lambda: any(c.chat_id == creator for c in telegram.sent()))
    assert polling.collector.paused == [(channel_id, True)]
    assert "paused" in str(next(c for c in telegram.sent() if c.chat_id == creator).params["text"])


async def test_webhook_refuses_requests_without_the_secret_token(
    stack: Stack, bot: Bot, telegram: FakeTelegram, unique_id: int
) -> None:
    secret = "webhook-secret-" + "w" * 20
    runner = await start_webhook_server(build_webhook_app(stack.dp, bot, secret), "127.0.0.1", 0)
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    update = {"update_id": 1, **start_update(unique_id, "/start")}
    try:
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong" + secret}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
            assert telegram.sent() == []
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 200
        assert [c.chat_id for c in telegram.sent()] == [unique_id]
    finally:
        await runner.cleanup()
