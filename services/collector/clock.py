"""Clocks: the collector asks a ``Clock`` for "now" instead of reading the wall clock.

``SystemClock`` is the wall clock. ``SimClock`` replays the past at ``speed`` times real
time until it catches up with the wall clock and then follows it, so a demo lives
through weeks of simulated collection in minutes. ``ManualClock`` moves only when a
test says so. All return timezone-aware UTC datetimes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utc_now() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


class Clock(Protocol):
    """The collector's notion of time."""

    def now(self) -> datetime:
        """The current instant (UTC)."""
        ...

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until this clock reads ``when`` (0 if already past)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return utc_now()

    def real_seconds_until(self, when: datetime) -> float:
        return max((when - utc_now()).total_seconds(), 0.0)


class SimClock:
    """Starts at ``start`` (in the past) and runs ``speed`` times faster than real time
    until it reaches the wall clock; from then on it reads the wall clock."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        wall: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        if speed < 1:
            raise ValueError("SimClock speed must be at least 1")
        self._start = start
        self._speed = speed
        self._wall = wall
        self._monotonic = monotonic
        self._origin = monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._origin) * self._speed
        simulated = self._start + timedelta(seconds=elapsed)
        return min(simulated, self._wall())

    def caught_up(self) -> bool:
        """True once the simulated time has reached the wall clock."""
        return self.now() >= self._wall()

    def real_seconds_until(self, when: datetime) -> float:
        now = self.now()
        if when <= now:
            return 0.0
        wall = self._wall()
        if now >= wall:
            return (when - now).total_seconds()
        # Accelerated up to the wall clock, real time beyond it (conservatively).
        return (min(when, wall) - now).total_seconds() / self._speed + max(
            (when - wall).total_seconds(), 0.0
        )


class ManualClock:
    """A clock that moves only through ``advance`` or ``set``; for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (never backwards)."""
        if when < self._now:
            raise ValueError("ManualClock cannot go backwards")
        self._now = when

    def real_seconds_until(self, when: datetime) -> float:
        return 0.0
