"""SQL of grants and invites. Every function takes a connection; the use case owns the
transaction."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from analyticbot.runtime.rbac import Connection, Role
from services.auth.domain import Invite, Member, TelegramUser

_INVITE_COLUMNS = "id, channel_id, role, single_use, expires_at, created_at, created_by, uses"


async def channel_title(conn: Connection, channel_id: int) -> str | None:
    """The channel's title, or None when the channel is not tracked."""
    title: str | None = await conn.fetchval("SELECT title FROM channels WHERE id = $1", channel_id)
    return title


async def ensure_users(conn: Connection, users: list[TelegramUser]) -> None:
    """Create users we have not met yet; known users keep their profile from the last
    signed launch (a Bot API profile is less authoritative than their own initData)."""
    await conn.executemany(
        """INSERT INTO users (id, first_name, last_name, username)
           VALUES ($1, $2, $3, NULLIF($4, ''))
           ON CONFLICT (id) DO NOTHING""",
        [(u.id, u.first_name, u.last_name, u.username) for u in users],
    )


async def lock_channel_grants(conn: Connection, channel_id: int) -> dict[int, tuple[Role, str]]:
    """Every grant of a channel (role, source) by user id, locked until the transaction
    ends; the channel row is locked too so concurrent syncs of one channel serialize."""
    await conn.execute("SELECT 1 FROM channels WHERE id = $1 FOR UPDATE", channel_id)
    rows = await conn.fetch(
        "SELECT user_id, role, source FROM grants WHERE channel_id = $1 FOR UPDATE", channel_id
    )
    return {row["user_id"]: (Role.parse(row["role"]), row["source"]) for row in rows}


async def put_grant(
    conn: Connection,
    *,
    user_id: int,
    channel_id: int,
    role: Role,
    source: str,
    granted_by: int | None,
    at: datetime,
) -> None:
    """Create or replace a user's grant on a channel."""
    await conn.execute(
        """INSERT INTO grants (user_id, channel_id, role, source, granted_by, granted_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_id, channel_id) DO UPDATE SET
               role = EXCLUDED.role, source = EXCLUDED.source,
               granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at""",
        user_id,
        channel_id,
        role.label,
        source,
        granted_by,
        at,
    )


async def delete_grants(conn: Connection, channel_id: int, user_ids: list[int]) -> int:
    """Remove the grants of ``user_ids`` on a channel; returns how many existed."""
    status = await conn.execute(
        "DELETE FROM grants WHERE channel_id = $1 AND user_id = ANY($2::bigint[])",
        channel_id,
        user_ids,
    )
    return int(status.rsplit(" ", 1)[-1])


async def insert_invite(
    conn: Connection,
    *,
    token_hash: bytes,
    channel_id: int,
    role: Role,
    single_use: bool,
    created_by: int | None,
    expires_at: datetime,
) -> Invite:
    row = await conn.fetchrow(
        f"""INSERT INTO invites (token_hash, channel_id, role, single_use, created_by, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_INVITE_COLUMNS}""",
        token_hash,
        channel_id,
        role.label,
        single_use,
        created_by,
        expires_at,
    )
    assert row is not None
    return _invite(row)


async def lock_live_invite(conn: Connection, token_hash: bytes, now: datetime) -> Invite | None:
    """The invite with this hash if it still works, locked; None otherwise."""
    row = await conn.fetchrow(
        f"""SELECT {_INVITE_COLUMNS} FROM invites
            WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2
              AND NOT (single_use AND uses > 0)
            FOR UPDATE""",
        token_hash,
        now,
    )
    return _invite(row) if row is not None else None


async def count_use(conn: Connection, invite_id: int) -> None:
    await conn.execute("UPDATE invites SET uses = uses + 1 WHERE id = $1", invite_id)


async def invite_channel(conn: Connection, invite_id: int) -> int | None:
    channel_id: int | None = await conn.fetchval(
        "SELECT channel_id FROM invites WHERE id = $1", invite_id
    )
    return channel_id


async def revoke_invite(conn: Connection, invite_id: int, at: datetime) -> bool:
    status = await conn.execute(
        "UPDATE invites SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", invite_id, at
    )
    return status.endswith(" 1")


async def live_invites(conn: Connection, channel_id: int, now: datetime) -> list[Invite]:
    rows = await conn.fetch(
        f"""SELECT {_INVITE_COLUMNS} FROM invites
            WHERE channel_id = $1 AND revoked_at IS NULL AND expires_at > $2
              AND NOT (single_use AND uses > 0)
            ORDER BY created_at DESC, id DESC""",
        channel_id,
        now,
    )
    return [_invite(row) for row in rows]


async def members(conn: Connection, channel_id: int) -> list[Member]:
    rows = await conn.fetch(
        """SELECT g.user_id, u.first_name, u.last_name, coalesce(u.username, '') AS username,
                  g.role, g.source, g.granted_at
           FROM grants g JOIN users u ON u.id = g.user_id
           WHERE g.channel_id = $1
           ORDER BY CASE g.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1
                                WHEN 'analyst' THEN 2 ELSE 3 END, g.granted_at, g.user_id""",
        channel_id,
    )
    return [
        Member(
            user_id=row["user_id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            username=row["username"],
            role=Role.parse(row["role"]),
            source=row["source"],
            granted_at=row["granted_at"],
        )
        for row in rows
    ]


def _invite(row: asyncpg.Record) -> Invite:
    return Invite(
        id=row["id"],
        channel_id=row["channel_id"],
        role=Role.parse(row["role"]),
        single_use=row["single_use"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        uses=row["uses"],
    )
