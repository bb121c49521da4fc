"""Proto → JSON mapping of the gateway: the shape promised to the Mini App."""

from __future__ import annotations

from datetime import UTC, datetime

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2
from analyticbot.auth.v1 import auth_pb2
from gateway.api import mapping


def test_a_set_metric_has_a_value_and_no_reason() -> None:
    out = mapping.metric(metric_pb2.Metric(value=0.0)).model_dump()
    assert out == {"value": 0.0, "unavailable_reason": None}


def test_an_unavailable_metric_is_null_with_its_reason_without_prefix() -> None:
    for reason, name in (
        (metric_pb2.UNAVAILABLE_REASON_NO_POSTS, "NO_POSTS"),
        (metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES, "NO_SAMPLES"),
        (metric_pb2.UNAVAILABLE_REASON_TOO_FEW_POSTS, "TOO_FEW_POSTS"),
        (metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG, "POST_TOO_YOUNG"),
        (metric_pb2.UNAVAILABLE_REASON_ZERO_DENOMINATOR, "ZERO_DENOMINATOR"),
    ):
        out = mapping.metric(metric_pb2.Metric(unavailable_reason=reason)).model_dump()
        assert out == {"value": None, "unavailable_reason": name}


def test_an_unspecified_or_future_reason_is_still_never_a_zero() -> None:
    unknown = metric_pb2.Metric()
    unknown.ParseFromString(b"\x10\x63")  # unavailable_reason = 99, unknown to this build
    for message in (metric_pb2.Metric(), unknown):
        assert mapping.metric(message).model_dump() == {"value": None, "unavailable_reason": None}


def test_overview_maps_every_field_and_an_unset_data_as_of_to_null() -> None:
    response = analytics_pb2.GetChannelOverviewResponse(channel_id=-100123, title="News")
    response.current.start.FromDatetime(datetime(2025, 3, 1, tzinfo=UTC))
    response.current.end.FromDatetime(datetime(2025, 3, 8, tzinfo=UTC))
    response.current.posts = 3
    response.current.views_per_post.value = 812.5
    response.current.subscribers_start.value = 1000
    response.previous.views_per_post.unavailable_reason = metric_pb2.UNAVAILABLE_REASON_NO_POSTS
    response.current.posts_with_samples = 2
    response.current.err.value = 73.5
    response.current.err24.unavailable_reason = metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG
    response.current.er.value = 5.25
    response.current.reach_48h.unavailable_reason = metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG
    out = mapping.overview(response).model_dump(mode="json")
    assert out["channel_id"] == -100123
    assert out["data_as_of"] is None
    assert out["current"]["start"] == "2025-03-01T00:00:00Z"
    assert out["current"]["posts"] == 3
    assert out["current"]["views_per_post"] == {"value": 812.5, "unavailable_reason": None}
    assert out["current"]["subscribers_start"]["value"] == 1000
    assert out["previous"]["views_per_post"] == {"value": None, "unavailable_reason": "NO_POSTS"}
    assert out["current"]["posts_with_samples"] == 2
    assert out["current"]["err"] == {"value": 73.5, "unavailable_reason": None}
    assert out["current"]["err24"] == {"value": None, "unavailable_reason": "POST_TOO_YOUNG"}
    assert out["current"]["er"]["value"] == 5.25
    assert out["current"]["reach_48h"]["unavailable_reason"] == "POST_TOO_YOUNG"
    assert set(out["current"]) == {
        "start",
        "end",
        "posts",
        "subscribers_start",
        "subscribers_end",
        "subscriber_growth",
        "subscriber_growth_percent",
        "views_per_post",
        "forwards_per_post",
        "reactions_per_post",
        "replies_per_post",
        "posts_with_samples",
        "err",
        "err24",
        "er",
        "reach_12h",
        "reach_24h",
        "reach_48h",
    }


def test_data_as_of_is_an_aware_iso_time_when_set() -> None:
    response = analytics_pb2.GetChannelOverviewResponse(channel_id=1)
    response.data_as_of.FromDatetime(datetime(2025, 3, 7, 12, 30, tzinfo=UTC))
    assert mapping.overview(response).model_dump(mode="json")["data_as_of"] == (
        "2025-03-07T12:30:00Z"
    )


def test_roles_are_lowercase_names() -> None:
    assert mapping.role(auth_pb2.ROLE_OWNER) == "owner"
    assert mapping.role(auth_pb2.ROLE_VIEWER) == "viewer"
    assert mapping.role(auth_pb2.ROLE_UNSPECIFIED) == "unspecified"
    assert mapping.role(42) == "unspecified"
    channels = auth_pb2.ListMyChannelsResponse(
        channels=[auth_pb2.ChannelAccess(channel_id=5, title="A", role=auth_pb2.ROLE_ANALYST)]
    )
    assert mapping.channels(channels).model_dump() == {
        "channels": [
            {"channel_id": 5, "title": "A", "username": "", "role": "analyst", "shared": False}
        ]
    }


def test_exchange_maps_the_token_expiry_and_user() -> None:
    response = auth_pb2.ExchangeInitDataResponse(
        access_token="a.b.c",
        user=auth_pb2.TelegramUser(user_id=7, first_name="Ann", username="ann"),
        start_param="ch_5",
    )
    response.access_token_expires_at.FromSeconds(1_741_392_000)
    out = mapping.exchange(response).model_dump(mode="json")
    assert out["expires_at"] == "2025-03-08T00:00:00Z"
    assert out["user"]["username"] == "ann"
    assert out["start_param"] == "ch_5"
