"""Webhook mode: an aiohttp server on ``/telegram/webhook`` that refuses requests without
the secret token Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token`` (401)."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from services.bot.config import WEBHOOK_PATH


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_webhook_app(dp: Dispatcher, bot: Bot, secret: str) -> web.Application:
    """The webhook application. Updates are handled before the answer (not in the
    background), so a failed update gets a 500 and Telegram delivers it again."""
    if not secret:
        raise ValueError("a webhook without a secret token would accept forged updates")
    app = web.Application(client_max_size=1024 * 1024)
    handler = SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token=secret)
    handler.register(app, path=WEBHOOK_PATH)
    app.router.add_get("/healthz", _health)
    return app


async def start_webhook_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app``; returns the runner (``runner.addresses`` tells the bound port)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
