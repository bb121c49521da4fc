"""Types of the bot: channel ids, alerts from the stream."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_CHANNEL_OFFSET = 1_000_000_000_000


def channel_id_from_chat(chat_id: int) -> int:
    """The bare channel id of a Bot API channel chat id ("-100" followed by that id)."""
    if chat_id >= -_CHANNEL_OFFSET:
        raise ValueError(f"{chat_id} is not a channel chat id")
    return -chat_id - _CHANNEL_OFFSET


def chat_id_from_channel(channel_id: int) -> int:
    return -(channel_id + _CHANNEL_OFFSET)


class InvalidAlert(ValueError):
    """A stream entry that is not an alert; acknowledged and logged, never retried."""


@dataclass(frozen=True)
class Alert:
    """One entry of the alerts stream (written by the analytics service)."""

    alert_id: str
    user_id: int
    channel_id: int
    rule: str
    text: str = ""
    message_id: int = 0
    target: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def deep_link(self) -> str:
        """The Mini App payload of the exact chart: given, else derived."""
        if self.target:
            return self.target
        if self.message_id:
            return f"channel_{self.channel_id}_post_{self.message_id}"
        return f"channel_{self.channel_id}"


# Field names the analytics outbox uses (alerts table) beside the stream's own names.
_ALIASES = {"alert_key": "alert_id", "kind": "rule", "deep_link": "target"}


def parse_alert(fields: Mapping[bytes, bytes]) -> Alert:
    """An Alert from raw stream fields; InvalidAlert when required fields are missing."""
    values: dict[str, str] = {}
    for raw_key, raw_value in fields.items():
        key = raw_key.decode(errors="replace")
        values[_ALIASES.get(key, key)] = raw_value.decode(errors="replace")
    try:
        alert_id = values["alert_id"]
        user_id = int(values["user_id"])
        channel_id = int(values["channel_id"])
        message_id = int(values.get("message_id") or 0)
        data = json.loads(values["data"]) if values.get("data") else {}
    except (KeyError, ValueError) as exc:
        raise InvalidAlert(f"not an alert: {exc}") from None
    if not alert_id or user_id <= 0 or channel_id <= 0 or not isinstance(data, dict):
        raise InvalidAlert("not an alert: empty id, bad user, channel or data")
    return Alert(
        alert_id=alert_id,
        user_id=user_id,
        channel_id=channel_id,
        rule=values.get("rule", ""),
        text=values.get("text", ""),
        message_id=message_id,
        target=values.get("target", ""),
        data=data,
    )
