"""Which analytics answers may be kept until the data changes (kept_answers)."""

from __future__ import annotations

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2, posts_pb2
from analyticbot.runtime.kept_answers import KEPT_READS, may_keep, post_settled, settled

YOUNG = metric_pb2.Metric(unavailable_reason=metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG)
NO_SAMPLES = metric_pb2.Metric(unavailable_reason=metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES)


def _detail() -> posts_pb2.GetPostResponse:
    answer = posts_pb2.GetPostResponse()
    answer.post.views.value = 800
    answer.post.reach_12h.value = 430
    answer.post.reach_24h.CopyFrom(NO_SAMPLES)
    answer.post.reach_48h.value = 790
    answer.view_curve.add(age_seconds=3600, views=400)
    answer.channel_median_curve.add(age_seconds=3600, views=NO_SAMPLES, posts=3)
    return answer


def test_a_closed_period_and_a_post_may_be_kept_until_now_may_not() -> None:
    overview = analytics_pb2.GetChannelOverviewRequest(channel_id=1)
    assert not may_keep("GetChannelOverview", overview)
    overview.period_end.GetCurrentTime()
    assert may_keep("GetChannelOverview", overview)
    assert may_keep("GetPost", posts_pb2.GetPostRequest(channel_id=1, message_id=2))
    assert not may_keep("ListPosts", overview)
    assert {"GetChannelOverview", "GetBestTime", "GetPost"} == KEPT_READS


def test_a_post_detail_is_settled_unless_some_metric_waits_for_the_post_to_age() -> None:
    assert post_settled(_detail())
    assert settled("GetPost", _detail())
    for field in ("reach_12h", "reach_24h", "reach_48h"):
        young = _detail()
        getattr(young.post, field).CopyFrom(YOUNG)
        assert not post_settled(young), field
    # At any depth, in repeated fields too.
    nested = _detail()
    nested.channel_median_curve.add(age_seconds=7200, views=YOUNG, posts=1)
    assert not settled("GetPost", nested)


def test_closed_period_answers_are_settled() -> None:
    assert settled("GetChannelOverview", analytics_pb2.GetChannelOverviewResponse())
