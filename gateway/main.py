"""Composition root of the gateway: settings, logging, the app, hypercorn, signals."""

from __future__ import annotations

import asyncio
import logging
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from analyticbot.runtime.gc_tuning import tune_gc
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.telemetry import configure_tracing
from gateway.app import create_app
from gateway.config import GatewaySettings

log = logging.getLogger(__name__)
GRACE_SECONDS = 10.0


def hypercorn_config(settings: GatewaySettings) -> Config:
    config = Config()
    host = settings.http_host
    config.bind = [
        f"[{host}]:{settings.http_port}" if ":" in host else f"{host}:{settings.http_port}"
    ]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # JSON, like every other log
    config.graceful_timeout = GRACE_SECONDS
    config.include_server_header = False
    # The request head (line and headers) has a ceiling in both protocols; the app
    # refines it (414 for long query strings, 431 for large header blocks).
    config.h11_max_incomplete_size = settings.max_header_bytes + settings.max_query_bytes
    config.h2_max_header_list_size = settings.max_header_bytes + settings.max_query_bytes
    return config


async def main() -> None:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and stop."""
    settings = load_settings(GatewaySettings)
    secrets = [settings.redis_url.get_secret_value()]
    if settings.dev_bot_token is not None:
        secrets.append(settings.dev_bot_token.get_secret_value())
    configure_logging("gateway", settings.log_level, secrets=secrets)
    configure_tracing("gateway", settings.otlp_endpoint)
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.dev_login:
        log.warning("development login is ON: /api/v1/dev/init-data signs launches")
    log.info("serving HTTP on %s:%d", settings.http_host, settings.http_port)
    tune_gc()
    await serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)
    log.info("stopped")


def run() -> None:
    asyncio.run(main())


if __name__ == "__main__":
    run()
