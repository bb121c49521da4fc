"""SQL of the bot: users' preferences, the channels it administers, the delivery ledger.

Every function takes a connection; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

import asyncpg

from analyticbot.runtime.rbac import Connection
from services.bot.i18n import Language

DigestFrequency = Literal["off", "daily", "weekly"]
DeliveryKind = Literal["alert", "digest"]
Claim = Literal["claimed", "done", "busy"]

_USER_COLUMNS = (
    "user_id, language, alerts_enabled, digest_frequency, digest_hour, time_zone, "
    "blocked_at IS NOT NULL AS blocked"
)


@dataclass(frozen=True)
class Prefs:
    """A bot user's preferences."""

    user_id: int
    language: Language
    alerts_enabled: bool
    digest_frequency: DigestFrequency
    digest_hour: int
    time_zone: str
    blocked: bool


def _prefs(row: asyncpg.Record) -> Prefs:
    return Prefs(
        user_id=row["user_id"],
        language=cast(Language, row["language"]),
        alerts_enabled=row["alerts_enabled"],
        digest_frequency=cast(DigestFrequency, row["digest_frequency"]),
        digest_hour=row["digest_hour"],
        time_zone=row["time_zone"],
        blocked=row["blocked"],
    )


async def ensure_user(conn: Connection, user_id: int, language: Language) -> Prefs:
    """The user's preferences, creating them (with ``language``) on first contact. A user
    who writes to the bot has unblocked it."""
    row = await conn.fetchrow(
        f"""INSERT INTO bot_users (user_id, language) VALUES ($1, $2)
            ON CONFLICT (user_id) DO UPDATE SET blocked_at = NULL,
                updated_at = CASE WHEN bot_users.blocked_at IS NULL
                                  THEN bot_users.updated_at ELSE now() END
            RETURNING {_USER_COLUMNS}""",
        user_id,
        language,
    )
    assert row is not None
    return _prefs(row)


async def get_user(conn: Connection, user_id: int) -> Prefs | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM bot_users WHERE user_id = $1", user_id)
    return _prefs(row) if row is not None else None


_UPDATABLE = frozenset(
    {"language", "alerts_enabled", "digest_frequency", "digest_hour", "time_zone"}
)


async def update_user(conn: Connection, user_id: int, **changes: object) -> Prefs:
    """Change some preferences; the names are columns of ``bot_users``."""
    unknown = set(changes) - _UPDATABLE
    if unknown or not changes:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row = await conn.fetchrow(
        f"""UPDATE bot_users SET {assignments}, updated_at = now() WHERE user_id = $1
            RETURNING {_USER_COLUMNS}""",
        user_id,
        *(changes[name] for name in names),
    )
    if row is None:
        raise LookupError(f"no bot user {user_id}")
    return _prefs(row)


async def set_blocked(conn: Connection, user_id: int, at: datetime | None) -> None:
    """Mark (``at``) or clear (None) that the user blocked the bot."""
    await conn.execute(
        """INSERT INTO bot_users (user_id, blocked_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET blocked_at = EXCLUDED.blocked_at,
               updated_at = now()""",
        user_id,
        at,
    )


async def digest_candidates(conn: Connection) -> list[Prefs]:
    """Users who want a digest and have not blocked the bot."""
    rows = await conn.fetch(
        f"""SELECT {_USER_COLUMNS} FROM bot_users
            WHERE digest_frequency <> 'off' AND blocked_at IS NULL"""
    )
    return [_prefs(row) for row in rows]


async def upsert_channel(
    conn: Connection,
    *,
    channel_id: int,
    title: str,
    username: str | None,
    is_admin: bool,
    added_by: int | None,
) -> None:
    await conn.execute(
        """INSERT INTO bot_channels (channel_id, title, username, is_admin, added_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (channel_id) DO UPDATE SET title = EXCLUDED.title,
               username = EXCLUDED.username, is_admin = EXCLUDED.is_admin,
               added_by = coalesce(EXCLUDED.added_by, bot_channels.added_by),
               updated_at = now()""",
        channel_id,
        title,
        username,
        is_admin,
        added_by,
    )


async def channels_to_resync(conn: Connection, older_than: datetime) -> list[int]:
    """Channels the bot administers whose admins were last synced before ``older_than``."""
    rows = await conn.fetch(
        """SELECT channel_id FROM bot_channels
           WHERE is_admin AND (last_synced_at IS NULL OR last_synced_at < $1)
           ORDER BY last_synced_at NULLS FIRST""",
        older_than,
    )
    return [row["channel_id"] for row in rows]


async def mark_synced(conn: Connection, channel_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE bot_channels SET last_synced_at = $2 WHERE channel_id = $1", channel_id, at
    )


async def claim_delivery(
    conn: Connection,
    key: str,
    user_id: int,
    kind: DeliveryKind,
    *,
    consumer: str,
    lease_seconds: float,
) -> Claim:
    """Claim a notification right before sending it.

    - 'claimed': send it now. The key is new, or a previous attempt never recorded
      Telegram's answer and its claim is ours or older than the lease (its process died).
    - 'done': it was sent or settled already; acknowledge without sending.
    - 'busy': another live consumer is sending it; leave it pending.
    """
    row = await conn.fetchrow(
        """INSERT INTO bot_deliveries (delivery_key, user_id, kind, state, claimed_by)
           VALUES ($1, $2, $3, 'sending', $4)
           ON CONFLICT (delivery_key) DO UPDATE SET
               attempts = bot_deliveries.attempts + 1, claimed_by = $4, claimed_at = now()
           WHERE bot_deliveries.state = 'sending'
             AND (bot_deliveries.claimed_by = $4
                  OR bot_deliveries.claimed_at < now() - make_interval(secs => $5))
           RETURNING state""",
        key,
        user_id,
        kind,
        consumer,
        lease_seconds,
    )
    if row is not None:
        return "claimed"
    state = await conn.fetchval("SELECT state FROM bot_deliveries WHERE delivery_key = $1", key)
    return "busy" if state == "sending" else "done"


async def finish_delivery(
    conn: Connection,
    key: str,
    state: Literal["sent", "skipped", "failed"],
    *,
    message_id: int | None = None,
    detail: str = "",
) -> None:
    await conn.execute(
        """UPDATE bot_deliveries SET state = $2, message_id = $3, detail = $4,
               finished_at = now()
           WHERE delivery_key = $1""",
        key,
        state,
        message_id,
        detail,
    )


async def prune_deliveries(conn: Connection, before: datetime) -> int:
    """Forget settled deliveries finished before ``before`` (stream entries that old are
    long acknowledged and trimmed)."""
    status = await conn.execute(
        "DELETE FROM bot_deliveries WHERE finished_at < $1 AND state <> 'sending'", before
    )
    return int(status.rsplit(" ", 1)[-1])
