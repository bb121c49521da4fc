"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, Response
from quart_schema import hide, tag_blueprint, validate_response

from gateway.api.schemas import Health, Readiness
from gateway.state import gateway_state

blueprint = Blueprint("ops", __name__)
tag_blueprint(blueprint, ["operations"])

_SERVING = "SERVING"


@blueprint.get("/healthz")
@validate_response(Health, 200)
async def healthz() -> Health:
    """Liveness: the process answers HTTP."""
    return Health(status="ok")


@blueprint.get("/readyz")
@validate_response(Readiness, 200)
@validate_response(Readiness, 503)
async def readyz() -> tuple[Readiness, int]:
    """Readiness: the key set is loaded, so this gateway can verify tokens and answer —
    fresh, from a stale copy, or with a clean 503. The peers and Redis are reported
    (``status`` "degraded" unless auth and analytics are SERVING) but do not gate: when a
    peer is down for every gateway, taking them all out of the Service would turn stale
    copies and clean errors into refused connections."""
    state = gateway_state()
    guard = state.guard
    assert guard is not None
    auth, analytics, redis = await asyncio.gather(
        state.peers.health("auth"), state.peers.health("analytics"), guard.redis_status()
    )
    checks = {
        "auth": auth,
        "analytics": analytics,
        "keys": "LOADED" if state.keys.loaded else "NOT_LOADED",
        "redis": redis,
    }
    if not state.keys.loaded:
        return Readiness(status="unavailable", checks=checks), 503
    healthy = auth == _SERVING and analytics == _SERVING
    return Readiness(status="ok" if healthy else "degraded", checks=checks), 200


@blueprint.get("/metrics")
@hide
async def metrics() -> Response:
    """Prometheus text exposition of this process's registry."""
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
