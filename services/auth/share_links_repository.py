"""SQL of share links. Every function takes a connection; the use case owns the
transaction. Links are found by the SHA-256 of their token (``token_hash``, unique), so
the secret itself never reaches the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from analyticbot.runtime.rbac import Connection
from services.auth.domain import ShareLink

_COLUMNS = "id, channel_id, created_by, created_at, expires_at, revoked_at, last_used_at"
# How many ended (revoked or expired) links a listing shows at most.
INACTIVE_LISTED = 100


@dataclass(frozen=True)
class LinkWithChannel:
    """A link found by its token hash, with what the shared dashboard shows first."""

    link: ShareLink
    title: str
    username: str


async def lock_channel(conn: Connection, channel_id: int) -> bool:
    """Lock the channel row until the transaction ends (creations on one channel
    serialize, so the live-link cap holds); False when the channel is not tracked."""
    found = await conn.fetchval(
        "SELECT true FROM channels WHERE id = $1 FOR NO KEY UPDATE", channel_id
    )
    return found is not None


async def count_live(conn: Connection, channel_id: int, now: datetime) -> int:
    count: int = await conn.fetchval(
        """SELECT count(*) FROM share_links
           WHERE channel_id = $1 AND revoked_at IS NULL AND expires_at > $2""",
        channel_id,
        now,
    )
    return count


async def insert(
    conn: Connection,
    *,
    token_hash: bytes,
    channel_id: int,
    created_by: int,
    created_at: datetime,
    expires_at: datetime,
) -> ShareLink:
    row = await conn.fetchrow(
        f"""INSERT INTO share_links (token_hash, channel_id, created_by, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}""",
        token_hash,
        channel_id,
        created_by,
        created_at,
        expires_at,
    )
    assert row is not None
    return _link(row)


async def find_by_hash(conn: Connection, token_hash: bytes) -> LinkWithChannel | None:
    """The link whose token hashes to ``token_hash``, live or not; None when unknown."""
    row = await conn.fetchrow(
        """SELECT s.id, s.channel_id, s.created_by, s.created_at, s.expires_at,
                  s.revoked_at, s.last_used_at, c.title, coalesce(c.username, '') AS username
           FROM share_links s JOIN channels c ON c.id = s.channel_id
           WHERE s.token_hash = $1""",
        token_hash,
    )
    if row is None:
        return None
    return LinkWithChannel(link=_link(row), title=row["title"], username=row["username"])


async def mark_used(conn: Connection, link_id: int, at: datetime) -> None:
    await conn.execute("UPDATE share_links SET last_used_at = $2 WHERE id = $1", link_id, at)


async def link_channel(conn: Connection, link_id: int) -> int | None:
    channel_id: int | None = await conn.fetchval(
        "SELECT channel_id FROM share_links WHERE id = $1", link_id
    )
    return channel_id


async def revoke(conn: Connection, link_id: int, at: datetime) -> bool:
    """Revoke a link; False when it already was."""
    status = await conn.execute(
        "UPDATE share_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        link_id,
        at,
    )
    return status.endswith(" 1")


async def channel_links(
    conn: Connection, channel_id: int, now: datetime, *, include_inactive: bool
) -> list[ShareLink]:
    """A channel's live links, and with ``include_inactive`` the most recent ended ones,
    newest first."""
    rows = await conn.fetch(
        f"""(SELECT {_COLUMNS} FROM share_links
             WHERE channel_id = $1 AND revoked_at IS NULL AND expires_at > $2)
            UNION ALL
            (SELECT {_COLUMNS} FROM share_links
             WHERE $3 AND channel_id = $1 AND (revoked_at IS NOT NULL OR expires_at <= $2)
             ORDER BY created_at DESC, id DESC LIMIT {INACTIVE_LISTED})
            ORDER BY created_at DESC, id DESC""",
        channel_id,
        now,
        include_inactive,
    )
    return [_link(row) for row in rows]


def _link(row: asyncpg.Record) -> ShareLink:
    return ShareLink(
        id=row["id"],
        channel_id=row["channel_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )
