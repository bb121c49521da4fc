"""Composition root of the bot: ``analyticbot serve bot``.

Runs, until SIGTERM: the updates (webhook on port 8081 or long polling), the alerts
stream consumer, the periodic administrator re-sync and the digest scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher

from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.gc_tuning import tune_gc
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.telemetry import configure_tracing
from services.bot import repository as repo
from services.bot.alerts import AlertConsumer
from services.bot.app import build_dispatcher, configure_bot, create_bot
from services.bot.config import WEBHOOK_PATH, BotSettings
from services.bot.digests import DigestScheduler
from services.bot.keyboards import MiniAppLinks
from services.bot.limits import SendLimits
from services.bot.onboarding import Onboarding
from services.bot.peers import Peers
from services.bot.webhook import build_webhook_app, start_webhook_server

log = logging.getLogger(__name__)
DELIVERY_RETENTION = timedelta(days=30)


async def _updates(settings: BotSettings, dp: Dispatcher, bot: Bot, stop: asyncio.Event) -> None:
    """Receive updates until ``stop``: webhook in production, polling in development."""
    allowed = dp.resolve_used_update_types()
    if settings.mode == "webhook":
        assert settings.webhook_secret is not None
        secret = settings.webhook_secret.get_secret_value()
        app = build_webhook_app(dp, bot, secret)
        runner = await start_webhook_server(app, settings.webhook_host, settings.webhook_port)
        await bot.set_webhook(
            settings.webhook_url.rstrip("/") + WEBHOOK_PATH,
            secret_token=secret,
            allowed_updates=allowed,
        )
        log.info("webhook serving on port %d", settings.webhook_port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
        return
    await bot.delete_webhook()
    polling = asyncio.create_task(
        dp.start_polling(
            bot, handle_signals=False, close_bot_session=False, allowed_updates=allowed
        )
    )
    await stop.wait()
    await dp.stop_polling()
    await polling


async def _prune(pool: Any, stop: asyncio.Event) -> None:
    while not stop.is_set():
        async with pool.acquire() as conn:
            await repo.prune_deliveries(conn, datetime.now(UTC) - DELIVERY_RETENTION)
        try:
            await asyncio.wait_for(stop.wait(), timeout=3600)
        except TimeoutError:
            continue


async def main() -> None:
    """``analyticbot serve bot``."""
    settings = load_settings(BotSettings)
    configure_logging("bot", settings.log_level, secrets=settings.secrets())
    configure_tracing("bot", settings.otlp_endpoint)
    serve_metrics(settings.metrics_port)
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    redis_client = create_redis(settings.redis_url.get_secret_value())
    bot = create_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url)
    peers = Peers(
        auth_addr=settings.auth_addr,
        collector_addr=settings.collector_addr,
        analytics_addr=settings.analytics_addr,
        service_name=settings.service_name,
        service_secret=settings.service_secret.get_secret_value(),
        deadline_seconds=settings.grpc_deadline_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tune_gc()
    try:
        me = await bot.get_me()
        links = MiniAppLinks(settings.webapp_url, me.username or "", settings.app_short_name)
        limits = SendLimits(
            global_limit=settings.global_limit,
            period=settings.limit_period_seconds,
            chat_interval=settings.chat_interval_seconds,
        )
        onboarding = Onboarding(bot=bot, pool=pool, peers=peers, links=links, limits=limits)
        dp = build_dispatcher(pool=pool, peers=peers, links=links, onboarding=onboarding)
        await configure_bot(bot, settings.webapp_url)
        consumer = AlertConsumer(
            redis_client=redis_client,
            pool=pool,
            bot=bot,
            limits=limits,
            links=links,
            stream=settings.redis_name(settings.alerts_stream),
            group=settings.alerts_group,
            consumer=settings.consumer_name,
            claim_idle_seconds=settings.claim_idle_seconds,
        )
        digests = DigestScheduler(
            pool=pool,
            peers=peers,
            bot=bot,
            limits=limits,
            links=links,
            consumer=settings.consumer_name,
            lease_seconds=settings.claim_idle_seconds,
        )
        jobs: list[Coroutine[Any, Any, None]] = [
            _updates(settings, dp, bot, stop),
            consumer.run(stop),
            onboarding.resync_loop(stop, settings.admin_resync_seconds),
            digests.run(stop, settings.digest_check_seconds),
            _prune(pool, stop),
        ]
        log.info("bot @%s running (%s)", me.username, settings.mode)
        tasks = [asyncio.create_task(job) for job in jobs]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure
    finally:
        await bot.session.close()
        await peers.close()
        await redis_client.aclose()
        await pool.close()
