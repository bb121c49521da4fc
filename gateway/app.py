"""Composition of the gateway's Quart app: settings in, a ready app out.

Peer channels are opened in the startup hook and closed on shutdown; the first key set
is fetched in the background so the process is live (``/healthz``) while auth starts.
Tests pass their own ``channels`` to reach in-process gRPC servers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from quart import Quart
from quart_schema import Info, QuartSchema, Server

from gateway import miniapp
from gateway.api import (
    alerts,
    auth,
    dev,
    export,
    export_links,
    invites,
    live,
    members,
    ops,
    posts,
    series,
    share_links,
    wellknown,
)
from gateway.api import channels as channels_api
from gateway.config import GatewaySettings
from gateway.errors import register_error_handlers
from gateway.guards import install_guards
from gateway.keys import KeyRing
from gateway.metrics import install_metrics
from gateway.openapi import GatewayOpenAPI
from gateway.peers import PeerChannels
from gateway.resilience import install_stale_headers
from gateway.security import DOCS_PATH, install_security
from gateway.state import EXTENSION, GatewayState
from gateway.tracing import install_tracing


def create_app(settings: GatewaySettings, *, channels: PeerChannels | None = None) -> Quart:
    """Build the gateway; ``channels`` (optional) are used instead of opening new ones and
    stay open when the app stops."""
    app = Quart(__name__)
    QuartSchema(
        app,
        info=Info(title="AnalyticBot API", version="1"),
        openapi_path="/openapi.json",
        swagger_ui_path=DOCS_PATH,
        redoc_ui_path=None,
        scalar_ui_path=None,
        servers=[Server(url=settings.public_url)] if settings.public_url else None,
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"}},
        openapi_provider_class=GatewayOpenAPI,
    )

    async def fetch_jwks() -> Mapping[str, Any]:
        return await state.peers.get_jwks()

    state = GatewayState(settings=settings, keys=KeyRing(fetch_jwks), given_channels=channels)
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    install_security(app, public_url=settings.public_url, max_body_bytes=settings.max_body_bytes)
    install_metrics(app)
    install_stale_headers(app)
    install_tracing(app)
    install_guards(
        app, max_query_bytes=settings.max_query_bytes, max_header_bytes=settings.max_header_bytes
    )

    app.register_blueprint(ops.blueprint)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(channels_api.blueprint)
    for resource in (
        posts,
        series,
        export,
        export_links,
        alerts,
        live,
        members,
        invites,
        share_links,
    ):
        app.register_blueprint(resource.blueprint)
    app.register_blueprint(wellknown.blueprint)
    if settings.dev_login:
        app.register_blueprint(dev.blueprint)
    miniapp.install(app)

    background: list[asyncio.Task[None]] = []

    @app.before_serving
    async def start() -> None:
        state.start()
        background.append(asyncio.create_task(state.keys.load_until_ready()))
        if state.access_cache is not None:
            background.append(asyncio.create_task(state.access_cache.run()))
        if state.answer_memo is not None:
            background.append(asyncio.create_task(state.answer_memo.run()))

    @app.after_serving
    async def stop() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        await state.stop()

    return app
