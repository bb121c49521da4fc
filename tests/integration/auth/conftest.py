"""A real auth gRPC server on port 0 over the session's test database."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import asyncpg
import grpc
import pytest

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.initdata import InitDataValidator, sign_init_data
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.auth.main import build
from services.auth.service import AuthPolicy, AuthService

BOT_TOKEN = "555000111:AAH-integration-test-bot-token"
GATEWAY_SECRET = "gateway-secret-" + "x" * 32


Metadata = Sequence[tuple[str, str]]


class AuthClient(Protocol):
    """The async view of the generated stub (its stubs type calls as synchronous)."""

    async def ExchangeInitData(
        self, request: auth_pb2.ExchangeInitDataRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.ExchangeInitDataResponse: ...

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.GetJwksResponse: ...

    async def ListMyChannels(
        self, request: auth_pb2.ListMyChannelsRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.ListMyChannelsResponse: ...

    async def CheckAccess(
        self, request: auth_pb2.CheckAccessRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.CheckAccessResponse: ...

    async def RefreshTokens(
        self, request: auth_pb2.RefreshTokensRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.RefreshTokensResponse: ...

    async def RevokeRefreshToken(
        self, request: auth_pb2.RevokeRefreshTokenRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.RevokeRefreshTokenResponse: ...

    async def IssueServiceToken(
        self, request: auth_pb2.IssueServiceTokenRequest, *, metadata: Metadata = ()
    ) -> auth_pb2.IssueServiceTokenResponse: ...


@dataclass
class AuthHarness:
    """The running server, a stub to it, and what the tests need to forge and seed."""

    stub: AuthClient
    key: SigningKey
    pool: asyncpg.Pool
    superadmin: int
    port: int

    def init_data(self, user_id: int, **extra: str) -> str:
        user = {"id": user_id, "first_name": "Test", "username": f"u{user_id}"}
        fields = {
            "auth_date": str(int(time.time())),
            "query_id": "AAQ" + uuid.uuid4().hex[:8],
            "user": json.dumps(user, separators=(",", ":")),
            **extra,
        }
        return sign_init_data(fields, BOT_TOKEN)

    async def login(self, user_id: int) -> auth_pb2.ExchangeInitDataResponse:
        request = auth_pb2.ExchangeInitDataRequest(init_data=self.init_data(user_id))
        return await self.stub.ExchangeInitData(request)

    async def add_channel(self, channel_id: int, title: str) -> None:
        await self.pool.execute(
            "INSERT INTO channels (id, title, username) VALUES ($1, $2, $3)",
            channel_id,
            title,
            f"c{channel_id}",
        )

    async def grant(self, user_id: int, channel_id: int, role: str) -> None:
        await self.pool.execute(
            """INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, $3)
               ON CONFLICT (user_id, channel_id) DO UPDATE SET role = EXCLUDED.role""",
            user_id,
            channel_id,
            role,
        )


def auth_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def auth(pool: asyncpg.Pool, unique_id: int) -> AsyncIterator[AuthHarness]:
    key = SigningKey.generate()
    superadmin = unique_id + 1
    policy = AuthPolicy(
        superadmins=frozenset({superadmin}),
        service_secrets={"gateway": hashlib.sha256(GATEWAY_SECRET.encode()).digest()},
    )
    service = AuthService(pool, InitDataValidator(bot_token=BOT_TOKEN), TokenSigner([key]), policy)
    server = build(service, port=0)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    make_stub: Callable[[grpc.aio.Channel], object] = auth_pb2_grpc.AuthServiceStub
    try:
        yield AuthHarness(
            stub=cast(AuthClient, make_stub(channel)),
            key=key,
            pool=pool,
            superadmin=superadmin,
            port=server.port,
        )
    finally:
        await channel.close()
        await server.stop(0)


@dataclass
class ShareHarness:
    """An auth server for share link tests, typed with every RPC (the async stub)."""

    stub: auth_pb2_grpc.AuthServiceAsyncStub
    harness: AuthHarness
    pool: asyncpg.Pool
    superadmin: int

    async def user(self, user_id: int) -> tuple[tuple[str, str], ...]:
        """Log ``user_id`` in through initData; their access token as call metadata."""
        return auth_metadata((await self.harness.login(user_id)).access_token)

    async def channel(self, channel_id: int, **roles: int) -> None:
        """Track a channel and grant ``role=user_id`` on it (users must have logged in)."""
        await self.harness.add_channel(channel_id, f"Shared {channel_id}")
        for role, user_id in roles.items():
            await self.harness.grant(user_id, channel_id, role)


@pytest.fixture
async def share(pool: asyncpg.Pool, unique_id: int) -> AsyncIterator[ShareHarness]:
    key = SigningKey.generate()
    superadmin = unique_id + 999
    policy = AuthPolicy(superadmins=frozenset({superadmin}))
    service = AuthService(pool, InitDataValidator(bot_token=BOT_TOKEN), TokenSigner([key]), policy)
    server = build(service, port=0)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    harness = AuthHarness(
        stub=cast(AuthClient, stub), key=key, pool=pool, superadmin=superadmin, port=server.port
    )
    try:
        yield ShareHarness(stub=stub, harness=harness, pool=pool, superadmin=superadmin)
    finally:
        await channel.close()
        await server.stop(0)
