"""Clocks: accelerated replay catches up with the wall clock and then follows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.collector.clock import ManualClock, SimClock

WALL = datetime(2026, 3, 10, 12, tzinfo=UTC)


class Ticks:
    """Real time for the clock under test: a wall clock and a monotonic counter."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def wall(self) -> datetime:
        return WALL + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed


def test_sim_clock_runs_fast_until_it_meets_the_wall_clock() -> None:
    ticks = Ticks()
    clock = SimClock(WALL - timedelta(hours=10), 3600, wall=ticks.wall, monotonic=ticks.monotonic)
    assert clock.now() == WALL - timedelta(hours=10)
    ticks.elapsed = 2.0
    assert clock.now() == WALL - timedelta(hours=8)
    assert clock.real_seconds_until(WALL - timedelta(hours=7)) == pytest.approx(1.0)
    assert not clock.caught_up()
    ticks.elapsed = 20.0
    assert clock.now() == ticks.wall()
    assert clock.caught_up()
    assert clock.real_seconds_until(ticks.wall() + timedelta(seconds=5)) == pytest.approx(5.0)


def test_clocks_refuse_naive_times_and_manual_clock_never_goes_back() -> None:
    with pytest.raises(ValueError, match="timezone"):
        SimClock(datetime(2026, 1, 1), 10)  # noqa: DTZ001 - the point of the test
    clock = ManualClock(WALL)
    assert clock.advance(timedelta(minutes=5)) == WALL + timedelta(minutes=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(WALL)
