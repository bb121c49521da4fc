"""Domain values become protobuf messages without losing "not enough data"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2
from services.analytics.domain import InvalidPeriod, Metric, UnavailableReason
from services.analytics.proto_mapping import metric_to_proto, timestamp_to_datetime


def test_a_zero_value_is_sent_as_a_value() -> None:
    message = metric_to_proto(Metric.of(0))
    assert message.HasField("value")
    assert message.value == 0.0
    assert message.unavailable_reason == metric_pb2.UNAVAILABLE_REASON_UNSPECIFIED


@pytest.mark.parametrize("reason", list(UnavailableReason))
def test_an_unavailable_metric_has_no_value_and_its_reason(reason: UnavailableReason) -> None:
    message = metric_to_proto(Metric.unavailable(reason))
    assert not message.HasField("value")
    name = metric_pb2.UnavailableReason.Name(message.unavailable_reason)
    assert name == f"UNAVAILABLE_REASON_{reason.name}"


def test_unset_timestamps_are_none_and_set_ones_are_aware_utc() -> None:
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=1)
    assert timestamp_to_datetime(request, "period_start") is None
    request.period_end.FromDatetime(datetime(2025, 3, 15, tzinfo=UTC))
    assert timestamp_to_datetime(request, "period_end") == datetime(2025, 3, 15, tzinfo=UTC)


def test_a_timestamp_beyond_datetime_range_is_an_invalid_period() -> None:
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=1)
    request.period_end.seconds = 300_000_000_000  # year ~11,500
    with pytest.raises(InvalidPeriod, match="period_end is out of range"):
        timestamp_to_datetime(request, "period_end")
