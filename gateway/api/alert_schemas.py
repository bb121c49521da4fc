"""Request and response models of alert rules and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertKindName = Literal[
    "post_viral",
    "post_underperforming",
    "subscriber_drop",
    "subscriber_milestone",
    "collection_stalled",
]


class NewAlertRule(BaseModel):
    """A rule to create; no threshold takes the kind's default."""

    kind: AlertKindName
    threshold: float | None = Field(
        default=None, gt=0, le=1e12, description="In the kind's unit (see docs/api.md)."
    )


class AlertRule(BaseModel):
    rule_id: int
    channel_id: int
    kind: AlertKindName | None
    threshold: float
    created_at: datetime


class AlertRuleList(BaseModel):
    rules: list[AlertRule]


class AlertsQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,17}$")


class Alert(BaseModel):
    alert_id: str
    sequence: int
    rule_id: int
    kind: AlertKindName | None
    channel_id: int
    message_id: int | None
    text: str
    data: dict[str, Any]
    deep_link: str
    created_at: datetime


class AlertList(BaseModel):
    alerts: list[Alert]
    next_cursor: str | None
