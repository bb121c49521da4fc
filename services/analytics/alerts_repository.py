"""SQL of alert rules and raised alerts: free functions whose first argument is a
connection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.analytics.repository import Connection


@dataclass(frozen=True, slots=True)
class Rule:
    """A stored alert rule."""

    id: int
    user_id: int
    channel_id: int
    kind: str
    threshold: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to raise; ``key`` makes it idempotent (rule and subject)."""

    key: str
    rule: Rule
    message_id: int | None
    text: str
    data: dict[str, Any]
    deep_link: str


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A raised alert."""

    id: int
    key: str
    rule_id: int
    user_id: int
    channel_id: int
    kind: str
    message_id: int | None
    text: str
    data: dict[str, Any]
    deep_link: str
    created_at: datetime


_RULE_COLUMNS = "id, user_id, channel_id, kind, threshold, created_at"
_ALERT_COLUMNS = (
    "id, alert_key, rule_id, user_id, channel_id, kind, message_id, text, data, deep_link, "
    "created_at"
)


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(
        id=row["id"],
        user_id=row["user_id"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        threshold=row["threshold"],
        created_at=row["created_at"],
    )


def _alert(row: asyncpg.Record) -> StoredAlert:
    data = row["data"]
    return StoredAlert(
        id=row["id"],
        key=row["alert_key"],
        rule_id=row["rule_id"],
        user_id=row["user_id"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        message_id=row["message_id"],
        text=row["text"],
        data=json.loads(data) if isinstance(data, str) else dict(data),
        deep_link=row["deep_link"],
        created_at=row["created_at"],
    )


async def create_rule(
    conn: Connection, user_id: int, channel_id: int, kind: str, threshold: float
) -> Rule:
    """Store a rule, or return the identical one the user already has."""
    row = await conn.fetchrow(
        f"""INSERT INTO alert_rules (user_id, channel_id, kind, threshold)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, channel_id, kind, threshold) DO UPDATE SET kind = EXCLUDED.kind
            RETURNING {_RULE_COLUMNS}""",
        user_id,
        channel_id,
        kind,
        threshold,
    )
    assert row is not None
    return _rule(row)


async def user_rules(conn: Connection, user_id: int, channel_id: int) -> list[Rule]:
    """The user's rules on the channel, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE user_id = $1 AND channel_id = $2 "
        "ORDER BY id",
        user_id,
        channel_id,
    )
    return [_rule(row) for row in rows]


async def delete_rule(conn: Connection, user_id: int, channel_id: int, rule_id: int) -> bool:
    """Delete the user's rule; False when there is no such rule of theirs."""
    deleted = await conn.fetchval(
        "DELETE FROM alert_rules WHERE id = $1 AND user_id = $2 AND channel_id = $3 RETURNING id",
        rule_id,
        user_id,
        channel_id,
    )
    return deleted is not None


async def channel_rules(conn: Connection, channel_id: int) -> list[Rule]:
    """Every rule on the channel (of every user)."""
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE channel_id = $1 ORDER BY id", channel_id
    )
    return [_rule(row) for row in rows]


async def stalled_rules(conn: Connection, now: datetime) -> list[tuple[Rule, datetime]]:
    """Each "collection stalled" rule whose channel (not paused) had no refresh for
    ``threshold`` hours at ``now``, with the channel's last refresh time."""
    rows = await conn.fetch(
        f"""SELECT {", ".join("r." + c.strip() for c in _RULE_COLUMNS.split(","))},
                   cs.last_refresh_at
            FROM alert_rules AS r
            JOIN collection_state AS cs ON cs.channel_id = r.channel_id
            JOIN channels AS c ON c.id = r.channel_id
            WHERE r.kind = 'collection_stalled' AND NOT c.paused
              AND cs.last_refresh_at < $1::timestamptz - r.threshold * interval '1 hour'""",
        now,
    )
    return [(_rule(row), row["last_refresh_at"]) for row in rows]


async def insert_alerts(conn: Connection, alerts: list[NewAlert]) -> int:
    """Store the alerts not raised before (by key); returns how many were new."""
    inserted = 0
    for alert in alerts:
        done = await conn.fetchval(
            """INSERT INTO alerts (alert_key, rule_id, user_id, channel_id, kind, message_id,
                                   text, data, deep_link)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
               ON CONFLICT (alert_key) DO NOTHING
               RETURNING id""",
            alert.key,
            alert.rule.id,
            alert.rule.user_id,
            alert.rule.channel_id,
            alert.rule.kind,
            alert.message_id,
            alert.text,
            json.dumps(alert.data),
            alert.deep_link,
        )
        inserted += done is not None
    return inserted


async def claim_unpublished(conn: Connection, limit: int) -> list[StoredAlert]:
    """Alerts not yet in the stream, oldest first, locked for this transaction (other
    replicas skip them)."""
    rows = await conn.fetch(
        f"""SELECT {_ALERT_COLUMNS} FROM alerts WHERE published_at IS NULL
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [_alert(row) for row in rows]


async def mark_published(conn: Connection, ids: list[int], at: datetime) -> None:
    """Record that these alerts are in the stream."""
    await conn.execute("UPDATE alerts SET published_at = $2 WHERE id = ANY($1)", ids, at)


async def user_alerts(
    conn: Connection, user_id: int, channel_id: int, before_id: int, limit: int
) -> list[StoredAlert]:
    """The user's alerts on the channel, newest first, with id below ``before_id``
    (0: no bound)."""
    rows = await conn.fetch(
        f"""SELECT {_ALERT_COLUMNS} FROM alerts
            WHERE user_id = $1 AND channel_id = $2 AND ($3 = 0 OR id < $3)
            ORDER BY id DESC LIMIT $4""",
        user_id,
        channel_id,
        before_id,
        limit,
    )
    return [_alert(row) for row in rows]
