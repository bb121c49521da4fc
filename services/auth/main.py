"""Composition root of the auth service: settings, keys, pool, server."""

from __future__ import annotations

import asyncio

import asyncpg

from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.dependencies import watch_dependencies
from analyticbot.runtime.grant_cache import GrantCache, grant_cache
from analyticbot.runtime.grpc_server import GrpcServer, build_server, run_until_signal
from analyticbot.runtime.initdata import InitDataValidator, telegram_public_key
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.metrics import serve_metrics
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.telemetry import configure_tracing
from analyticbot.runtime.tokens import TokenSigner
from services.auth.config import AuthSettings
from services.auth.grant_relay import GrantRelay
from services.auth.grpc_api import registrar
from services.auth.keys import load_key_ring
from services.auth.service import AuthPolicy, AuthService


def build_validator(settings: AuthSettings) -> InitDataValidator:
    """The initData validator the settings ask for (HMAC or Ed25519)."""
    max_age = settings.initdata_max_age_seconds
    skew = settings.initdata_future_skew_seconds
    if settings.initdata_method == "hmac":
        return InitDataValidator(
            bot_token=settings.effective_bot_token(),
            max_age_seconds=max_age,
            future_skew_seconds=skew,
        )
    return InitDataValidator(
        bot_id=settings.effective_bot_id(),
        public_key=telegram_public_key(test_environment=settings.telegram_test_env),
        max_age_seconds=max_age,
        future_skew_seconds=skew,
    )


def build_service(
    settings: AuthSettings, pool: asyncpg.Pool, grants: GrantCache | None = None
) -> AuthService:
    """The use cases wired from settings; raises ConfigError on a bad combination."""
    settings.check()
    policy = AuthPolicy(
        access_ttl_seconds=settings.access_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_ttl_seconds,
        service_token_ttl_seconds=settings.service_token_ttl_seconds,
        share_link_max_ttl_seconds=settings.share_link_max_ttl_seconds,
        superadmins=settings.superadmins,
        service_secrets=settings.service_secret_digests(),
    )
    signer = TokenSigner(load_key_ring(settings))
    return AuthService(pool, build_validator(settings), signer, policy, grants=grants)


def build(service: AuthService, *, port: int = 0) -> GrpcServer:
    """The gRPC server for ``service``; tests pass ``port=0``."""
    return build_server([registrar(service)], port=port)


def _secrets(settings: AuthSettings) -> list[str]:
    values = [settings.database_url.get_secret_value(), settings.redis_url.get_secret_value()]
    for secret in (
        settings.bot_token,
        settings.dev_bot_token,
        settings.auth_signing_keys,
        settings.service_secrets,
    ):
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


async def main() -> None:
    """``analyticbot serve auth``."""
    settings = load_settings(AuthSettings)
    configure_logging("auth", settings.log_level, secrets=_secrets(settings))
    configure_tracing("auth", settings.otlp_endpoint)
    settings.check()
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    grants = grant_cache(
        pool, settings.database_url.get_secret_value(), settings.grant_cache_seconds
    )
    client = create_redis(settings.redis_url.get_secret_value())
    background = []
    if grants.listens:
        relay = GrantRelay(grants, client, settings.redis_name(settings.grants_topic))
        background = [asyncio.create_task(grants.run()), asyncio.create_task(relay.run())]
    try:
        server = build(build_service(settings, pool, grants), port=settings.grpc_port)
        serve_metrics(settings.metrics_port)
        watcher = watch_dependencies(server, pool)
        try:
            await run_until_signal(server)
        finally:
            watcher.cancel()
    finally:
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background, timeout=5.0)
        await client.aclose()
        await pool.close()
