"""Development-only seeding for ``analyticbot run``.

In development the gateway's login signs initData for one development user. So that
this user sees something, they are made owner of every simulated channel once the
collector has registered them. In production the bot does this from Telegram's own
admin lists; this module is never used there.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

DEV_USER_ID = 1_000_001
SIMULATED_CHANNEL_IDS = (9_000_000_000, 10_000_000_000)


def simulated_channel_count(collector_env: Mapping[str, str]) -> int:
    """How many simulated channels the collector with this environment will register
    (0 when it collects real channels)."""
    from services.collector.config import CollectorSettings

    fields = CollectorSettings.model_fields
    source = collector_env.get("ANALYTICBOT_COLLECTOR_SOURCE", fields["source"].default)
    if source != "simulator":
        return 0
    default = fields["simulator_channels"].default
    return int(collector_env.get("ANALYTICBOT_COLLECTOR_SIMULATOR_CHANNELS", default))


async def seed_dev_grants(database_url: str) -> int:
    """Make the development user owner of the simulated channels registered so far;
    returns how many they own. Idempotent: called again as the collector registers more."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO users (id, first_name, username, language_code)
                   VALUES ($1, 'Dev', 'dev', 'en') ON CONFLICT (id) DO NOTHING""",
                DEV_USER_ID,
            )
            await conn.execute(
                """INSERT INTO grants (user_id, channel_id, role)
                   SELECT $1, id, 'owner' FROM channels WHERE id >= $2 AND id < $3
                   ON CONFLICT (user_id, channel_id) DO NOTHING""",
                DEV_USER_ID,
                *SIMULATED_CHANNEL_IDS,
            )
            owned: int = await conn.fetchval(
                "SELECT count(*) FROM grants WHERE user_id = $1"
                " AND channel_id >= $2 AND channel_id < $3",
                DEV_USER_ID,
                *SIMULATED_CHANNEL_IDS,
            )
        return owned
    finally:
        await conn.close()
