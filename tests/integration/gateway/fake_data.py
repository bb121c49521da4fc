"""Fixed data of the fake peers: ids, grants, and builders of analytics messages with
values and with "not enough data"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2, posts_pb2
from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.tokens import bearer

BOT_TOKEN = "123456:dev-bot-token-for-tests"
USER_ID = 1_000_001
OTHER_USER_ID = 2_000_002
VIEWER_USER_ID = 3_000_003
ANALYST_USER_ID = 4_000_004
ADMIN_USER_ID = 5_000_005
CHANNEL_ID = -1001234567890
VIEWER_ONLY_CHANNEL_ID = -1009999
UNKNOWN_CHANNEL_ID = -1005555
PERIOD_END = datetime(2025, 3, 8, tzinfo=UTC)
VIRAL_POST_ID = 101
YOUNG_POST_ID = 102

# user → channel → role. VIEWER_ONLY_CHANNEL_ID exists but USER_ID's role there is too
# low for the fake (it requires "analyst" even to view, for the test's sake);
# VIEWER_USER_ID may view CHANNEL_ID but not export or manage alerts; ANALYST_USER_ID
# may export but not manage the team; ADMIN_USER_ID manages the team and share links.
GRANTS: dict[int, dict[int, auth_pb2.Role]] = {
    USER_ID: {CHANNEL_ID: auth_pb2.ROLE_OWNER, VIEWER_ONLY_CHANNEL_ID: auth_pb2.ROLE_VIEWER},
    VIEWER_USER_ID: {CHANNEL_ID: auth_pb2.ROLE_VIEWER},
    ANALYST_USER_ID: {CHANNEL_ID: auth_pb2.ROLE_ANALYST},
    ADMIN_USER_ID: {CHANNEL_ID: auth_pb2.ROLE_ADMIN},
}
MINIMUM_ROLE = {CHANNEL_ID: auth_pb2.ROLE_VIEWER, VIEWER_ONLY_CHANNEL_ID: auth_pb2.ROLE_ANALYST}


@dataclass
class PeerLog:
    """What the fakes saw: the bearer token of every call, by method."""

    tokens: dict[str, list[str]] = field(default_factory=dict)
    jwks_fetches: int = 0
    # Secrets presented to ExchangeShareLink, in order.
    exchanged: list[str] = field(default_factory=list)

    def record(self, method: str, context: Any) -> str:
        token = bearer(context.invocation_metadata() or ())
        self.tokens.setdefault(method, []).append(token)
        return token


def value(number: float) -> metric_pb2.Metric:
    return metric_pb2.Metric(value=number)


def missing(reason: metric_pb2.UnavailableReason) -> metric_pb2.Metric:
    return metric_pb2.Metric(unavailable_reason=reason)


def period_stats(start: datetime, end: datetime, *, empty: bool) -> analytics_pb2.PeriodStats:
    """14 posts with every number, or an empty period with "not enough data"."""
    stats = analytics_pb2.PeriodStats(
        subscribers_start=value(1000),
        subscribers_end=value(1100),
        subscriber_growth=value(100),
        subscriber_growth_percent=value(10.0),
        posts=0 if empty else 14,
        posts_with_samples=0 if empty else 14,
    )
    for name, number, reason in (
        ("views_per_post", 812.5, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("forwards_per_post", 3.25, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("reactions_per_post", 40.0, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("replies_per_post", 1.5, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("err", 73.86, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("err24", 61.2, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("er", 5.6, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("reach_12h", 540.0, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("reach_24h", 673.0, metric_pb2.UNAVAILABLE_REASON_NO_POSTS),
        ("reach_48h", 760.0, metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG),
    ):
        getattr(stats, name).CopyFrom(missing(reason) if empty else value(number))
    stats.start.FromDatetime(start)
    stats.end.FromDatetime(end)
    return stats


def viral_post() -> posts_pb2.PostSummary:
    post = posts_pb2.PostSummary(
        message_id=VIRAL_POST_ID,
        media_type="photo",
        text_preview="Big news",
        views=value(2400),
        forwards=value(60),
        replies=value(12),
        reactions=value(168),
        er=value(10.0),
        virality=value(0.025),
        reach_12h=value(1500),
        reach_24h=value(2000),
        reach_48h=value(2300),
        performance_index=value(2.5),
        rating=posts_pb2.POST_RATING_VIRAL,
    )
    post.published_at.FromDatetime(datetime(2025, 3, 1, 9, tzinfo=UTC))
    return post


def young_post() -> posts_pb2.PostSummary:
    """Published an hour before the end: reach and the performance index are unknown."""
    too_young = missing(metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG)
    post = posts_pb2.PostSummary(
        message_id=YOUNG_POST_ID,
        media_type="video",
        text_preview="Just out",
        views=value(90),
        forwards=value(0),
        replies=value(0),
        reactions=value(3),
        er=value(3.3333333333),
        virality=value(0.0),
        reach_12h=too_young,
        reach_24h=too_young,
        reach_48h=too_young,
        performance_index=too_young,
        rating=posts_pb2.POST_RATING_UNSPECIFIED,
    )
    post.published_at.FromDatetime(datetime(2025, 3, 7, 23, tzinfo=UTC))
    return post
