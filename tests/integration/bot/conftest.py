"""A fake Bot API and a real aiogram Bot pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from services.bot.app import create_bot
from services.bot.keyboards import MiniAppLinks
from tests.integration.bot.fake_telegram import BOT_USER, FakeTelegram

BOT_TOKEN = f"{BOT_USER['id']}:AAF-fake-bot-token-for-tests"
WEBAPP_URL = "https://miniapp.example.test/app"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    instance = create_bot(BOT_TOKEN, telegram.url)
    yield instance
    await instance.session.close()


@pytest.fixture
def links() -> MiniAppLinks:
    return MiniAppLinks(WEBAPP_URL, str(BOT_USER["username"]))


@pytest.fixture
def stream_name() -> str:
    return f"ab:test:alerts:{uuid.uuid4().hex}"
