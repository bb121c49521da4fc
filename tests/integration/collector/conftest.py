"""Collector fixtures: a simulated channel of its own per test, a manual clock, real stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis

from services.collector.clock import ManualClock
from services.collector.events import EventPublisher
from services.collector.service import Collector
from services.collector.simulator import SIM_ID_SPAN, SimulatedSource, channel_id_of

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
HISTORY = timedelta(days=120)


@pytest.fixture
def number(unique_id: int) -> int:
    """A simulated channel number no other test uses."""
    return 1000 + unique_id % (SIM_ID_SPAN - 1000)


@pytest.fixture
def channel_id(number: int) -> int:
    return channel_id_of(number)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def source(unique_id: int, clock: ManualClock) -> SimulatedSource:
    return SimulatedSource(unique_id, clock, START - HISTORY)


@pytest.fixture
def collector(source: SimulatedSource, clock: ManualClock, redis_client: redis.Redis) -> Collector:
    return Collector(source, clock, EventPublisher(redis_client))
