"""Development-only seeding for ``analyticbot run``.

In development the gateway's login signs initData for one development user. So that
this user sees something, they are made owner of every simulated channel once the
collector has registered them. In production the bot does this from Telegram's own
admin lists; this module is never used there.
"""

from __future__ import annotations

import asyncpg

DEV_USER_ID = 1_000_001
SIMULATED_CHANNEL_IDS = (9_000_000_000, 10_000_000_000)


async def seed_dev_grants(database_url: str) -> bool:
    """Make the development user owner of the simulated channels; True once some exist."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO users (id, first_name, username, language_code)
                   VALUES ($1, 'Dev', 'dev', 'en') ON CONFLICT (id) DO NOTHING""",
                DEV_USER_ID,
            )
            status = await conn.execute(
                """INSERT INTO grants (user_id, channel_id, role)
                   SELECT $1, id, 'owner' FROM channels WHERE id >= $2 AND id < $3
                   ON CONFLICT (user_id, channel_id) DO NOTHING""",
                DEV_USER_ID,
                *SIMULATED_CHANNEL_IDS,
            )
            total = await conn.fetchval(
                "SELECT count(*) FROM grants WHERE user_id = $1", DEV_USER_ID
            )
        del status
        return bool(total)
    finally:
        await conn.close()
