"""Request and response models of the channel analytics beyond the overview: period
comparison, posts, post detail, best time, subscriber series and native statistics.

Enumerated values are lower_snake_case without proto prefixes (see docs/api.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from gateway.api.schemas import Metric, PeriodQuery, PeriodStats, plus_from_query

PostSortName = Literal[
    "published_at",
    "views",
    "forwards",
    "replies",
    "reactions",
    "er",
    "virality",
    "reach_12h",
    "reach_24h",
    "reach_48h",
    "performance_index",
]
RatingName = Literal["normal", "viral", "underperforming"]
GranularityName = Literal["hour", "day"]


class CompareQuery(BaseModel):
    """Two periods [start, end), all four bounds required."""

    first_start: AwareDatetime
    first_end: AwareDatetime
    second_start: AwareDatetime
    second_end: AwareDatetime

    @field_validator("first_start", "first_end", "second_start", "second_end", mode="before")
    @classmethod
    def _plus_from_query(cls, value: Any) -> Any:
        return plus_from_query(value)


class Comparison(BaseModel):
    channel_id: int
    first: PeriodStats
    second: PeriodStats


class PostsQuery(PeriodQuery):
    """Publication period (default: the last 30 days), order, filter and page."""

    sort: PostSortName = "published_at"
    order: Literal["desc", "asc"] = "desc"
    media_type: str | None = Field(
        default=None,
        max_length=256,
        pattern=r"^[a-z0-9_]{1,32}(,[a-z0-9_]{1,32})*$",
        description="Comma-separated media types, e.g. photo,video.",
    )
    cursor: str | None = Field(default=None, min_length=1, max_length=1024)
    limit: int = Field(default=50, ge=1, le=200)


class PostSummary(BaseModel):
    message_id: int
    published_at: datetime
    media_type: str
    text_preview: str
    views: Metric
    forwards: Metric
    replies: Metric
    reactions: Metric
    er: Metric
    virality: Metric
    reach_12h: Metric
    reach_24h: Metric
    reach_48h: Metric
    performance_index: Metric
    rating: RatingName | None


class PostPage(BaseModel):
    posts: list[PostSummary]
    next_cursor: str | None
    total: int


class ViewSample(BaseModel):
    age_seconds: int
    views: int


class CurvePoint(BaseModel):
    age_seconds: int
    views: Metric
    posts: int


class ReactionCount(BaseModel):
    emoji: str
    count: int


class PostDetail(BaseModel):
    post: PostSummary
    view_curve: list[ViewSample]
    channel_median_curve: list[CurvePoint]
    reactions: list[ReactionCount]


class BestTimeSlot(BaseModel):
    weekday: int = Field(ge=1, le=7, description="ISO weekday, 1 Monday … 7 Sunday.")
    hour: int = Field(ge=0, le=23)
    posts: int
    score: Metric


class BestTime(BaseModel):
    time_zone: str
    slots: list[BestTimeSlot]


class SubscribersQuery(PeriodQuery):
    """Period (default: the last 30 days) and step."""

    granularity: Literal["auto", "hour", "day"] = "auto"


class SubscriberPoint(BaseModel):
    at: datetime
    subscribers: Metric


class SubscriberSeries(BaseModel):
    granularity: GranularityName
    points: list[SubscriberPoint]


class NativeStatsQuery(PeriodQuery):
    """Collection period (default: the last 30 days) and page size."""

    limit: int = Field(default=100, ge=1, le=500)


class NativeStatsEntry(BaseModel):
    collected_at: datetime
    period: str
    payload: dict[str, Any]


class NativeStatsList(BaseModel):
    entries: list[NativeStatsEntry]
