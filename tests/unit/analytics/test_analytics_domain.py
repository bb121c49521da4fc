"""Periods and metric values: what a request may ask for and what an answer may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.analytics.domain import (
    ChannelNotFound,
    InvalidPeriod,
    Metric,
    Period,
    UnavailableReason,
)

NOW = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)


def test_default_period_is_the_last_seven_days_ending_now() -> None:
    assert Period.resolve(None, None, NOW) == Period(NOW - timedelta(days=7), NOW)


def test_only_an_end_gives_the_seven_days_before_it() -> None:
    end = datetime(2025, 1, 10, tzinfo=UTC)
    assert Period.resolve(None, end, NOW) == Period(datetime(2025, 1, 3, tzinfo=UTC), end)


def test_only_a_start_runs_until_now() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    assert Period.resolve(start, None, NOW) == Period(start, NOW)


def test_previous_period_is_the_equal_span_before_start() -> None:
    period = Period(datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 3, 15, 12, tzinfo=UTC))
    assert period.previous() == Period(
        datetime(2025, 2, 28, 12, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC)
    )


def test_start_must_be_before_end() -> None:
    with pytest.raises(InvalidPeriod, match="must be before"):
        Period(NOW, NOW)
    with pytest.raises(InvalidPeriod, match="must be before"):
        Period(NOW, NOW - timedelta(seconds=1))


def test_period_spans_at_most_366_days() -> None:
    assert Period(NOW - timedelta(days=366), NOW).length == timedelta(days=366)
    with pytest.raises(InvalidPeriod, match="366 days"):
        Period(NOW - timedelta(days=366, microseconds=1), NOW)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidPeriod, match="timezone-aware"):
        Period(datetime(2025, 3, 1), NOW)  # noqa: DTZ001 - the point of the test


def test_periods_in_other_offsets_compare_by_instant() -> None:
    plus_three = timezone(timedelta(hours=3))
    start = datetime(2025, 3, 8, 3, tzinfo=plus_three)
    assert Period(start, NOW).start == datetime(2025, 3, 8, tzinfo=UTC)


def test_previous_period_before_year_one_is_invalid() -> None:
    period = Period(datetime(1, 1, 1, 12, tzinfo=UTC), datetime(1, 1, 3, tzinfo=UTC))
    with pytest.raises(InvalidPeriod, match="out of range"):
        period.previous()


def test_metric_has_a_value_or_a_reason_never_both() -> None:
    assert Metric.of(0).available
    assert not Metric.unavailable(UnavailableReason.NO_POSTS).available
    with pytest.raises(ValueError, match="exactly one"):
        Metric(value=1.0, reason=UnavailableReason.NO_POSTS)
    with pytest.raises(ValueError, match="exactly one"):
        Metric(value=None)


def test_channel_not_found_names_the_channel() -> None:
    assert str(ChannelNotFound(42)) == "channel 42 is not tracked"
