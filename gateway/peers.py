"""gRPC clients of the gateway's peers (auth, analytics), typed and with deadlines.

Channels are opened in the app's startup hook and closed on shutdown; nothing connects
at import time. Every call carries a deadline, and calls made for a user forward the
user's token as ``authorization: Bearer`` metadata so the service authorizes too.
A failed call leaves this module as an ``APIError`` (see ``errors.from_grpc``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from analyticbot.analytics.v1 import analytics_pb2
from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.telemetry import insecure_channel
from gateway.errors import APIError, from_grpc
from gateway.resilience import AnalyticsGuard

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_AUTH = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
_ANALYTICS = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
CHANNEL_CODES = {grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND"}
INIT_DATA_CODES = {
    grpc.StatusCode.UNAUTHENTICATED: "INVALID_INIT_DATA",
    grpc.StatusCode.INVALID_ARGUMENT: "INVALID_INIT_DATA",
}


@dataclass(frozen=True)
class PeerChannels:
    """One ``grpc.aio`` channel per peer."""

    auth: grpc.aio.Channel
    analytics: grpc.aio.Channel

    @classmethod
    def open(cls, auth_addr: str, analytics_addr: str) -> PeerChannels:
        """Insecure channels: peers are reached inside the cluster network only. Each
        call carries the request's trace (``traceparent``)."""
        return cls(auth=insecure_channel(auth_addr), analytics=insecure_channel(analytics_addr))

    async def close(self) -> None:
        await self.auth.close()
        await self.analytics.close()


def _method(
    channel: grpc.aio.Channel, path: str, request: type[Req], response: type[Resp]
) -> grpc.aio.UnaryUnaryMultiCallable[Req, Resp]:
    return channel.unary_unary(
        path,
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )


def _metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class Peers:
    """The calls the gateway makes; each returns a message or raises ``APIError``."""

    def __init__(
        self,
        channels: PeerChannels,
        *,
        deadline_seconds: float,
        analytics_guard: AnalyticsGuard | None = None,
    ) -> None:
        self._deadline = deadline_seconds
        self._guard = analytics_guard
        auth, analytics = channels.auth, channels.analytics
        self._exchange = _method(
            auth,
            f"/{_AUTH}/ExchangeInitData",
            auth_pb2.ExchangeInitDataRequest,
            auth_pb2.ExchangeInitDataResponse,
        )
        self._jwks = _method(
            auth, f"/{_AUTH}/GetJwks", auth_pb2.GetJwksRequest, auth_pb2.GetJwksResponse
        )
        self._my_channels = _method(
            auth,
            f"/{_AUTH}/ListMyChannels",
            auth_pb2.ListMyChannelsRequest,
            auth_pb2.ListMyChannelsResponse,
        )
        self._check_access = _method(
            auth, f"/{_AUTH}/CheckAccess", auth_pb2.CheckAccessRequest, auth_pb2.CheckAccessResponse
        )
        self._overview = _method(
            analytics,
            f"/{_ANALYTICS}/GetChannelOverview",
            analytics_pb2.GetChannelOverviewRequest,
            analytics_pb2.GetChannelOverviewResponse,
        )
        self._health = {
            name: _method(
                channel,
                _HEALTH_CHECK,
                health_pb2.HealthCheckRequest,
                health_pb2.HealthCheckResponse,
            )
            for name, channel in (("auth", auth), ("analytics", analytics))
        }

    async def _call(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
        request: Req,
        *,
        token: str | None = None,
        codes: Mapping[grpc.StatusCode, str] | None = None,
    ) -> Resp:
        try:
            return await method(
                request,
                timeout=self._deadline,
                metadata=_metadata(token) if token is not None else None,
            )
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc, codes=codes) from None

    async def exchange_init_data(self, init_data: str) -> auth_pb2.ExchangeInitDataResponse:
        request = auth_pb2.ExchangeInitDataRequest(init_data=init_data)
        return await self._call(self._exchange, request, codes=INIT_DATA_CODES)

    async def get_jwks(self) -> dict[str, Any]:
        response = await self._call(self._jwks, auth_pb2.GetJwksRequest())
        try:
            document = json.loads(response.jwks_json)
        except ValueError:
            raise APIError(503, "UNAVAILABLE", "the key set is malformed") from None
        if not isinstance(document, dict):
            raise APIError(503, "UNAVAILABLE", "the key set is malformed")
        return document

    async def list_my_channels(self, token: str) -> auth_pb2.ListMyChannelsResponse:
        return await self._call(self._my_channels, auth_pb2.ListMyChannelsRequest(), token=token)

    async def check_access(
        self, token: str, channel_id: int, permission: str
    ) -> auth_pb2.CheckAccessResponse:
        request = auth_pb2.CheckAccessRequest(channel_id=channel_id, permission=permission)
        return await self._call(self._check_access, request, token=token, codes=CHANNEL_CODES)

    async def channel_overview(
        self,
        token: str,
        channel_id: int,
        start: datetime | None,
        end: datetime | None,
    ) -> analytics_pb2.GetChannelOverviewResponse:
        request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
        if start is not None:
            request.period_start.FromDatetime(start)
        if end is not None:
            request.period_end.FromDatetime(end)
        if self._guard is None:
            return await self._call(self._overview, request, token=token, codes=CHANNEL_CODES)
        guard = self._guard

        async def send() -> analytics_pb2.GetChannelOverviewResponse:
            return await self._overview(request, timeout=self._deadline, metadata=_metadata(token))

        try:
            return await guard.call(
                "GetChannelOverview", request, analytics_pb2.GetChannelOverviewResponse, send
            )
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc, codes=CHANNEL_CODES) from None

    async def health(self, peer: str, *, deadline: float = 1.0) -> str:
        """The peer's overall ``grpc.health.v1`` status name, or the failure's code."""
        try:
            response = await self._health[peer](health_pb2.HealthCheckRequest(), timeout=deadline)
        except grpc.aio.AioRpcError as exc:
            return str(exc.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
