"""Messages and close codes of the live WebSocket (docs/api.md). Pure, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import grpc
from pydantic import BaseModel, Field, ValidationError

from analyticbot.analytics.v1 import analytics_pb2
from gateway.api import mapping
from gateway.errors import APIError

MAX_MESSAGE_CHARS = 16 * 1024


@dataclass(frozen=True)
class Close:
    """Why the server closes a socket; ``reason`` is short and safe to log and show."""

    code: int
    reason: str


class ClientMessage(BaseModel):
    type: Literal["auth", "ping"]
    token: str = Field(default="", max_length=8192)


_INGEST_KINDS = {
    analytics_pb2.INGEST_KIND_INITIAL: "initial",
    analytics_pb2.INGEST_KIND_BACKFILL: "backfill",
    analytics_pb2.INGEST_KIND_REFRESH: "refresh",
    analytics_pb2.INGEST_KIND_SUBSCRIBERS: "subscribers",
}
_GRPC_CLOSES = {
    grpc.StatusCode.UNAUTHENTICATED: Close(4401, "token rejected"),
    grpc.StatusCode.PERMISSION_DENIED: Close(4403, "access denied"),
    grpc.StatusCode.NOT_FOUND: Close(4404, "channel not found"),
    grpc.StatusCode.UNAVAILABLE: Close(1013, "a service is unavailable, retry later"),
    grpc.StatusCode.DEADLINE_EXCEEDED: Close(1013, "a service is unavailable, retry later"),
}


def parse_client_message(raw: str | bytes) -> ClientMessage | Close:
    """A valid client message, or the 4400 close it deserves."""
    if not isinstance(raw, str) or len(raw) > MAX_MESSAGE_CHARS:
        return Close(4400, "messages must be JSON text")
    try:
        message = ClientMessage.model_validate_json(raw)
    except ValidationError:
        return Close(4400, "malformed message")
    if message.type == "auth" and not message.token:
        return Close(4401, "missing token")
    return message


def close_for_grpc(code: grpc.StatusCode) -> Close:
    return _GRPC_CLOSES.get(code, Close(1011, "internal error"))


def close_for_api_error(error: APIError) -> Close:
    if error.status == 401:
        return Close(4401, "invalid or expired token")
    if error.status == 403:
        return Close(4403, "access denied")
    if error.status == 404:
        return Close(4404, "channel not found")
    if error.status == 429:
        return Close(4429, "rate limited")
    if error.status == 503:
        return Close(1013, "a service is unavailable, retry later")
    return Close(1011, "internal error")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def ready(channel_id: int, expires_at: datetime, heartbeat_seconds: float) -> str:
    return _dump(
        {
            "type": "ready",
            "channel_id": channel_id,
            "expires_at": _iso(expires_at),
            "heartbeat_seconds": heartbeat_seconds,
        }
    )


def heartbeat(at: datetime) -> str:
    return _dump({"type": "heartbeat", "at": _iso(at)})


def overview_message(message: analytics_pb2.WatchChannelResponse, *, initial: bool = False) -> str:
    """The ``overview`` message of ``message``; with ``initial``, as the first overview
    of a socket (kind ``initial``, no ``event_at``) whatever event produced it."""
    event_at = mapping.timestamp(message.event_at) if message.HasField("event_at") else None
    overview = mapping.overview(message.overview).model_dump(mode="json")
    return _dump(
        {
            "type": "overview",
            "kind": "initial" if initial else _INGEST_KINDS.get(message.kind, "unknown"),
            "event_at": _iso(event_at) if event_at is not None and not initial else None,
            "overview": overview,
        }
    )
