"""Pure pieces of the new resources: enum names, stored JSON, live messages and close
codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2, posts_pb2
from gateway.api import insight_mapping
from gateway.api.live_protocol import (
    Close,
    close_for_api_error,
    close_for_grpc,
    overview_message,
    parse_client_message,
)
from gateway.errors import APIError


def test_enum_values_are_lowercase_without_prefix_and_unknown_is_none() -> None:
    assert insight_mapping.alert_kind(alerts_pb2.ALERT_KIND_COLLECTION_STALLED) == (
        "collection_stalled"
    )
    assert insight_mapping.alert_kind(alerts_pb2.ALERT_KIND_UNSPECIFIED) is None
    assert insight_mapping.alert_kind(99) is None
    summary = insight_mapping.post_summary(
        posts_pb2.PostSummary(rating=posts_pb2.POST_RATING_UNDERPERFORMING)
    )
    assert summary.rating == "underperforming"
    assert insight_mapping.SORTS["reach_12h"] == "POST_SORT_REACH_12H"


def test_a_malformed_stored_json_is_an_internal_error_not_a_leak() -> None:
    with pytest.raises(APIError) as info:
        insight_mapping.json_object("[1, 2]")
    assert (info.value.status, info.value.message) == (500, "internal error")
    assert insight_mapping.json_object("") == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\x00", Close(4400, "messages must be JSON text")),
        ('{"type": "subscribe"}', Close(4400, "malformed message")),
        ('{"type": "auth", "token": ""}', Close(4401, "missing token")),
    ],
)
def test_bad_client_messages_close_the_socket(raw: str | bytes, expected: Close) -> None:
    assert parse_client_message(raw) == expected


def test_close_codes_follow_the_contract() -> None:
    assert close_for_grpc(grpc.StatusCode.PERMISSION_DENIED).code == 4403
    assert close_for_grpc(grpc.StatusCode.UNAVAILABLE).code == 1013
    assert close_for_grpc(grpc.StatusCode.INTERNAL).code == 1011
    assert close_for_api_error(APIError(429, "RATE_LIMITED", "slow down")).code == 4429
    assert close_for_api_error(APIError(404, "CHANNEL_NOT_FOUND", "x")).code == 4404


def test_an_overview_message_is_the_http_overview_with_its_kind() -> None:
    message = analytics_pb2.WatchChannelResponse(kind=analytics_pb2.INGEST_KIND_SUBSCRIBERS)
    message.event_at.FromDatetime(datetime(2025, 3, 8, tzinfo=UTC))
    message.overview.channel_id = -100
    body = json.loads(overview_message(message))
    assert (body["type"], body["kind"], body["event_at"]) == (
        "overview",
        "subscribers",
        "2025-03-08T00:00:00Z",
    )
    assert body["overview"]["channel_id"] == -100
    assert body["overview"]["current"]["err"] == {"value": None, "unavailable_reason": None}
