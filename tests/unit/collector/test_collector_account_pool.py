"""Flood control and routing of the account pool, with real Telethon errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from telethon import errors  # type: ignore[import-untyped]
from telethon.tl import functions  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

from services.collector.account_pool import AccountPool, deadline_scope
from services.collector.domain import AccountsResting
from services.collector.mtproto import MtprotoClient
from tests.unit.collector.fakes import FakeClient

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
REQUEST = functions.help.GetConfigRequest()


class Time:
    """A wall clock that moves only when the pool sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def _flood_count(label: str) -> float:
    value = REGISTRY.get_sample_value("collector_flood_waits_total", {"account": label})
    return value or 0.0


async def _ask(client: MtprotoClient) -> Any:
    return await client.call(REQUEST)


def _pool(time: Time, rests: list[tuple[int, datetime, str]]) -> AccountPool:
    async def on_rest(account_id: int, until: datetime, reason: str) -> None:
        rests.append((account_id, until, reason))

    return AccountPool(
        per_account_rate=1000,
        global_rate=1000,
        default_deadline=60,
        on_rest=on_rest,
        now=lambda: time.now,
        sleep=time.sleep,
    )


async def test_a_flood_wait_rests_the_account_and_moves_the_work() -> None:
    time = Time()
    rests: list[tuple[int, datetime, str]] = []
    pool = _pool(time, rests)
    flooded = FakeClient(101, lambda r, dc: errors.FloodWaitError(request=None, capture=300))
    healthy = FakeClient(102, lambda r, dc: "answer")
    pool.add(flooded)
    pool.add(healthy)
    before = _flood_count("acc101")

    assert await pool.run(_ask) == "answer"
    assert await pool.run(_ask) == "answer"

    assert len(flooded.sent) == 1  # resting: never asked again
    assert len(healthy.sent) == 2
    assert rests == [(101, NOW + timedelta(seconds=300), "FloodWait 300s")]
    assert pool.rest_until(101) == NOW + timedelta(seconds=300)
    assert _flood_count("acc101") == before + 1
    assert time.slept == []


async def test_a_wait_past_the_callers_deadline_fails_at_once() -> None:
    time = Time()
    pool = _pool(time, [])
    pool.add(FakeClient(103, lambda r, dc: errors.FloodWaitError(request=None, capture=120)))
    with deadline_scope(5.0, lambda: time.now), pytest.raises(AccountsResting) as caught:
        await pool.run(_ask)
    assert caught.value.retry_at == NOW + timedelta(seconds=120)
    assert time.slept == []


async def test_a_wait_within_the_deadline_is_slept_then_retried() -> None:
    time = Time()
    pool = _pool(time, [])
    answers: list[Any] = [errors.FloodWaitError(request=None, capture=20), "late answer"]

    def answer(request: TLRequest, dc: int | None) -> Any:
        return answers.pop(0)

    pool.add(FakeClient(104, answer))
    assert await pool.run(_ask) == "late answer"
    assert time.slept == [20.0]


async def test_no_account_means_unavailable_not_a_hang() -> None:
    pool = _pool(Time(), [])
    with pytest.raises(AccountsResting, match="no MTProto account"):
        await pool.run(_ask)


async def test_a_rejected_session_drops_the_account() -> None:
    time = Time()
    broken: list[tuple[int, str]] = []

    async def on_broken(account_id: int, reason: str) -> None:
        broken.append((account_id, reason))

    pool = AccountPool(on_broken=on_broken, now=lambda: time.now, sleep=time.sleep)
    pool.add(FakeClient(105, lambda r, dc: errors.AuthKeyUnregisteredError(request=None)))
    pool.add(FakeClient(106, lambda r, dc: "ok"))
    assert await pool.run(_ask) == "ok"
    assert pool.account_ids == [106]
    assert broken == [(105, "session rejected: AuthKeyUnregisteredError")]


async def test_the_per_account_rate_is_enforced() -> None:
    pool = AccountPool(per_account_rate=2, global_rate=100, default_deadline=0.2)
    pool.add(FakeClient(107, lambda r, dc: "ok"))
    await pool.run(_ask)
    await pool.run(_ask)
    with pytest.raises(AccountsResting, match="rate budget"):
        await pool.run(_ask)
