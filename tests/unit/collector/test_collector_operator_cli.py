"""``mtproto login`` prompts against real Telethon errors, and the status view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from telethon import TelegramClient, errors  # type: ignore[import-untyped]
from telethon.sessions import StringSession  # type: ignore[import-untyped]
from telethon.tl import types  # type: ignore[import-untyped]

from analyticbot.collector.v1 import collector_pb2
from services.collector.login import LoginFailed, sign_in
from services.collector.status_view import backfilling, progress_bar, render


class ScriptedClient(TelegramClient):  # type: ignore[misc]
    """A real TelegramClient (never connected) whose sign-in answers are scripted."""

    def __init__(self, answers: list[Any]) -> None:
        super().__init__(StringSession(), 1, "0" * 32)
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def send_code_request(self, phone: str, **kwargs: Any) -> None:
        self.calls.append(("send_code_request", {"phone": phone}))

    async def sign_in(self, **kwargs: Any) -> None:
        self.calls.append(("sign_in", kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer

    async def get_me(self, input_peer: bool = False) -> types.User:
        return types.User(id=555, is_self=True)


def _script(*replies: str) -> Any:
    queue = list(replies)
    return lambda prompt: queue.pop(0)


async def test_login_asks_for_the_2fa_password_after_a_wrong_code() -> None:
    client = ScriptedClient(
        [
            errors.PhoneCodeInvalidError(request=None),
            errors.SessionPasswordNeededError(request=None),
            errors.PasswordHashInvalidError(request=None),
            None,
        ]
    )
    said: list[str] = []
    session, user_id = await sign_in(
        client, _script("+15550001"), _script("11111", "22222", "bad", "good"), said.append
    )
    assert user_id == 555
    assert isinstance(session, str)
    assert [c[1] for c in client.calls if c[0] == "sign_in"] == [
        {"phone": "+15550001", "code": "11111"},
        {"phone": "+15550001", "code": "22222"},
        {"password": "bad"},
        {"password": "good"},
    ]
    assert len(said) == 2
    assert not any("good" in line or "22222" in line for line in said)


async def test_login_gives_up_after_three_wrong_codes() -> None:
    client = ScriptedClient([errors.PhoneCodeInvalidError(request=None)] * 3)
    with pytest.raises(LoginFailed, match="no valid code"):
        await sign_in(client, _script("+1555"), _script("1", "2", "3"), lambda line: None)


def test_progress_bar() -> None:
    assert progress_bar(0, 0, 10) == "[..........]   0%"
    assert progress_bar(45, 100, 10) == "[####......]  45%"
    assert progress_bar(120, 100, 10) == "[##########] 100%"


def test_render_shows_backfill_progress_and_resting_accounts() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    until = Timestamp()
    until.FromDatetime(now + timedelta(minutes=5))
    lag = Duration()
    lag.FromTimedelta(timedelta(seconds=42))
    reply = collector_pb2.GetCollectionStatusResponse(
        channels=[
            collector_pb2.ChannelCollectionStatus(
                channel_id=1,
                backfill_state=collector_pb2.BACKFILL_STATE_RUNNING,
                posts_collected=250,
                history_total=1000,
            ),
            collector_pb2.ChannelCollectionStatus(
                channel_id=2,
                backfill_state=collector_pb2.BACKFILL_STATE_DONE,
                posts_collected=80,
                lag=lag,
            ),
        ],
        accounts=[
            collector_pb2.AccountStatus(
                label="main",
                state=collector_pb2.ACCOUNT_STATE_FLOOD_WAIT,
                flood_wait_until=until,
                flood_waits=3,
            )
        ],
    )
    text = render(reply, now)
    assert "[######..................]  25% 250/1000 posts" in text
    assert "80 posts, refreshed 42s ago" in text
    assert "flood wait  rests 5m more; 3 flood waits" in text
    assert backfilling(reply)
