"""Kill the bot (SIGKILL, `analyticbot serve bot` in a subprocess) in the middle of a
burst, while Telegram holds some sends unanswered, and start another: every alert is
delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import asyncpg
import redis.asyncio as redis

from tests.integration.bot.conftest import BOT_TOKEN, WEBAPP_URL
from tests.integration.bot.fake_telegram import FakeTelegram
from tests.integration.bot.test_bot_alerts import alert_of, assert_within_limits, publish
from tests.support import ROOT


def start_bot(
    telegram: FakeTelegram, database_url: str, redis_url: str, stream: str, consumer: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ANALYTICBOT_ENV": "development",
        "ANALYTICBOT_LOG_LEVEL": "WARNING",
        "ANALYTICBOT_BOT_TOKEN": BOT_TOKEN,
        "ANALYTICBOT_BOT_WEBAPP_URL": WEBAPP_URL,
        "ANALYTICBOT_BOT_SERVICE_SECRET": "s" * 40,
        "ANALYTICBOT_BOT_TELEGRAM_API_URL": telegram.url,
        "ANALYTICBOT_BOT_ALERTS_STREAM": stream,
        "ANALYTICBOT_BOT_CONSUMER_NAME": consumer,
        "ANALYTICBOT_BOT_CLAIM_IDLE_SECONDS": "1",
        "ANALYTICBOT_BOT_LIMIT_PERIOD_SECONDS": "0.1",
        "ANALYTICBOT_BOT_CHAT_INTERVAL_SECONDS": "0.1",
        "ANALYTICBOT_BOT_DIGEST_CHECK_SECONDS": "3600",
        "ANALYTICBOT_BOT_ADMIN_RESYNC_SECONDS": "3600",
        "ANALYTICBOT_AUTH_ADDR": "127.0.0.1:9",
        "ANALYTICBOT_COLLECTOR_ADDR": "127.0.0.1:9",
        "ANALYTICBOT_ANALYTICS_ADDR": "127.0.0.1:9",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "analyticbot.cli", "serve", "bot"], cwd=ROOT, env=env
    )


async def test_sigkill_mid_burst_then_restart_delivers_the_rest_exactly_once(
    telegram: FakeTelegram,
    redis_client: redis.Redis,
    pool: asyncpg.Pool,
    database_url: str,
    redis_url: str,
    stream_name: str,
    unique_id: int,
) -> None:
    users = [unique_id + i for i in range(30)]
    prefix = f"k{unique_id}-"
    alerts = [(f"{prefix}{n}", users[n % 30], unique_id) for n in range(300)]
    await publish(redis_client, stream_name, alerts)
    first = start_bot(telegram, database_url, redis_url, stream_name, f"first-{unique_id}")
    second: subprocess.Popen[bytes] | None = None
    try:
        await telegram.wait_for(lambda: len(telegram.sent()) >= 120, within=60)
        telegram.hold()
        await telegram.wait_for(lambda: any(c.status == 0 for c in telegram.calls))
        await asyncio.sleep(0.5)  # answers already given reach the ledger
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        held = {alert_of(c) for c in telegram.calls if c.status == 0}
        telegram.release()
        delivered_before = len(telegram.sent())
        assert delivered_before < 300
        second = start_bot(telegram, database_url, redis_url, stream_name, f"second-{unique_id}")
        await telegram.wait_for(lambda: len(telegram.sent()) >= 300, within=60)
        await asyncio.sleep(0.5)  # anything doubled would show up now
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
    delivered = Counter(alert_of(c) for c in telegram.sent())
    assert set(delivered) == {a for a, _, _ in alerts}
    assert max(delivered.values()) == 1
    assert held, "the crash did not catch any send in flight"
    assert held <= set(delivered)
    assert_within_limits(
        [c for c in telegram.calls if c.method == "sendMessage" and c.status == 200],
        limit=30,
        period=0.1,
        interval=0.1,
    )
    retried = await pool.fetchval(
        "SELECT count(*) FROM bot_deliveries WHERE delivery_key LIKE $1 AND attempts > 1",
        prefix + "%",
    )
    assert retried >= len(held)
    pending = await redis_client.xpending(stream_name, "bot")
    assert pending["pending"] == 0
