"""Request and response models of the JSON API; quart-schema validates and documents them.

Field names are snake_case on the wire. The overview's shape is a contract with the
Mini App: change it only by adding fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

UnavailableReason = Literal[
    "NO_POSTS", "NO_SAMPLES", "TOO_FEW_POSTS", "POST_TOO_YOUNG", "ZERO_DENOMINATOR"
]
RoleName = Literal["owner", "admin", "analyst", "viewer", "unspecified"]


class ErrorBody(BaseModel):
    """Every error response."""

    code: str = Field(description="Stable machine-readable code, e.g. CHANNEL_NOT_FOUND.")
    message: str = Field(description="Human-readable explanation, safe to show.")


class ExchangeRequest(BaseModel):
    """A Mini App launch to exchange for an access token."""

    init_data: str = Field(
        min_length=1, max_length=8192, description="Telegram.WebApp.initData as received."
    )


class User(BaseModel):
    user_id: int
    first_name: str
    last_name: str
    username: str
    language_code: str


class ExchangeResponse(BaseModel):
    """An access token for ``Authorization: Bearer``."""

    access_token: str
    expires_at: datetime
    user: User
    start_param: str


class DevInitData(BaseModel):
    """initData signed for the development user (development only)."""

    init_data: str


class Channel(BaseModel):
    channel_id: int
    title: str
    username: str
    role: RoleName
    shared: bool = Field(
        description="True when seen through a share link: read-only, this channel only."
    )


class ChannelList(BaseModel):
    channels: list[Channel]


def plus_from_query(value: Any) -> Any:
    """An unencoded "+01:00" offset arrives as " 01:00" after query-string decoding."""
    return value.replace(" ", "+") if isinstance(value, str) else value


class PeriodQuery(BaseModel):
    """Period [start, end) in ISO 8601 with an offset; both optional (each endpoint has
    its default)."""

    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _plus_from_query(cls, value: Any) -> Any:
        return plus_from_query(value)


class OverviewQuery(PeriodQuery):
    """Period [start, end); both optional (default: the last 7 days)."""


class Metric(BaseModel):
    """A number that may be unavailable; unavailable is never shown as 0."""

    value: float | None
    unavailable_reason: UnavailableReason | None


class PeriodStats(BaseModel):
    start: datetime
    end: datetime
    posts: int
    subscribers_start: Metric
    subscribers_end: Metric
    subscriber_growth: Metric
    subscriber_growth_percent: Metric
    views_per_post: Metric
    forwards_per_post: Metric
    reactions_per_post: Metric
    replies_per_post: Metric
    posts_with_samples: int = Field(description="Posts with a counter sample at end.")
    err: Metric = Field(description="ERR at end, percent.")
    err24: Metric = Field(description="ERR24 at end, percent.")
    er: Metric = Field(description="ER of the period's posts, percent.")
    reach_12h: Metric
    reach_24h: Metric
    reach_48h: Metric


class Overview(BaseModel):
    channel_id: int
    title: str
    data_as_of: datetime | None
    current: PeriodStats
    previous: PeriodStats


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str]


class Jwk(BaseModel):
    """A public Ed25519 signing key (RFC 8037)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="Key id; tokens name it in their header.")
    alg: str | None = None
    use: str | None = None


class Jwks(BaseModel):
    """The keys access tokens are verified with; two during a rotation."""

    keys: list[Jwk]
