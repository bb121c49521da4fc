"""The auth service over real gRPC: login, key set, channels and access from grants."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.tokens import TokenVerifier
from tests.integration.auth.conftest import GATEWAY_SECRET, AuthHarness, Metadata, auth_metadata
from tests.unit.auth.auth_jwt_forgeries import FORGERIES


async def test_exchange_issues_a_token_the_published_key_set_verifies(
    auth: AuthHarness, unique_id: int
) -> None:
    request = auth_pb2.ExchangeInitDataRequest(
        init_data=auth.init_data(unique_id, start_param="ch_42")
    )
    response = await auth.stub.ExchangeInitData(request)
    assert response.user.user_id == unique_id
    assert response.user.username == f"u{unique_id}"
    assert response.start_param == "ch_42"
    assert response.refresh_token.startswith("abr_")
    jwks = json.loads((await auth.stub.GetJwks(auth_pb2.GetJwksRequest())).jwks_json)
    assert [k["kid"] for k in jwks["keys"]] == [auth.key.kid]
    assert all("d" not in k for k in jwks["keys"])
    principal = TokenVerifier(jwks).verify(response.access_token)
    assert principal.user_id == unique_id
    stored = await auth.pool.fetchrow("SELECT username FROM users WHERE id = $1", unique_id)
    assert stored is not None
    assert stored["username"] == f"u{unique_id}"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda raw: raw.replace("Test", "Evil"), grpc.StatusCode.UNAUTHENTICATED),
        (lambda raw: raw.split("&hash=")[0], grpc.StatusCode.UNAUTHENTICATED),
        (lambda raw: raw + "&auth_date=1", grpc.StatusCode.INVALID_ARGUMENT),
        (lambda raw: "garbage", grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
async def test_bad_init_data_is_refused(
    auth: AuthHarness, unique_id: int, mutate: object, code: grpc.StatusCode
) -> None:
    assert callable(mutate)
    request = auth_pb2.ExchangeInitDataRequest(init_data=mutate(auth.init_data(unique_id)))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await auth.stub.ExchangeInitData(request)
    assert failure.value.code() == code
    assert "initData" in (failure.value.details() or "")


async def test_channels_and_access_follow_grants_on_the_next_call(
    auth: AuthHarness, unique_id: int
) -> None:
    user, mine, theirs = unique_id, unique_id + 10, unique_id + 11
    token = (await auth.login(user)).access_token
    meta = auth_metadata(token)
    await auth.add_channel(mine, f"Mine {mine}")
    await auth.add_channel(theirs, f"Theirs {theirs}")
    listed = await auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta)
    assert list(listed.channels) == []

    await auth.grant(user, mine, "viewer")
    listed = await auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta)
    assert [(c.channel_id, c.role) for c in listed.channels] == [(mine, auth_pb2.ROLE_VIEWER)]
    assert not listed.superadmin

    async def check(channel: int, permission: str) -> auth_pb2.CheckAccessResponse:
        request = auth_pb2.CheckAccessRequest(channel_id=channel, permission=permission)
        return await auth.stub.CheckAccess(request, metadata=meta)

    assert (await check(mine, "view_analytics")).allowed
    assert not (await check(mine, "export_data")).allowed
    denied = await check(theirs, "view_analytics")
    assert not denied.allowed
    assert denied.role == auth_pb2.ROLE_UNSPECIFIED

    await auth.grant(user, mine, "analyst")
    promoted = await check(mine, "export_data")
    assert promoted.allowed
    assert promoted.role == auth_pb2.ROLE_ANALYST
    assert not (await check(mine, "manage_members")).allowed

    await auth.pool.execute("DELETE FROM grants WHERE user_id = $1", user)
    assert not (await check(mine, "view_analytics")).allowed
    listed = await auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta)
    assert list(listed.channels) == []


async def test_superadmin_sees_every_channel(auth: AuthHarness, unique_id: int) -> None:
    channel = unique_id + 20
    await auth.add_channel(channel, f"Any {channel}")
    meta = auth_metadata((await auth.login(auth.superadmin)).access_token)
    listed = await auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta)
    assert listed.superadmin
    assert (channel, auth_pb2.ROLE_OWNER) in [(c.channel_id, c.role) for c in listed.channels]
    request = auth_pb2.CheckAccessRequest(channel_id=channel, permission="manage_channel")
    decision = await auth.stub.CheckAccess(request, metadata=meta)
    assert decision.allowed
    assert decision.superadmin


async def test_unknown_permission_is_an_invalid_argument(auth: AuthHarness, unique_id: int) -> None:
    meta = auth_metadata((await auth.login(unique_id)).access_token)
    request = auth_pb2.CheckAccessRequest(channel_id=1, permission="launch_rockets")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await auth.stub.CheckAccess(request, metadata=meta)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def protected_calls(auth: AuthHarness, meta: Metadata) -> list[Callable[[], Awaitable[object]]]:
    """Every RPC that needs a bearer token, called with ``meta``."""
    check = auth_pb2.CheckAccessRequest(channel_id=1, permission="view_analytics")
    return [
        lambda: auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta),
        lambda: auth.stub.CheckAccess(check, metadata=meta),
    ]


@pytest.mark.parametrize("meta", [(), (("authorization", "Basic abc"),)])
async def test_rpcs_without_a_token_are_unauthenticated(auth: AuthHarness, meta: Metadata) -> None:
    for call in protected_calls(auth, meta):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call()
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("name", sorted(FORGERIES))
async def test_forged_tokens_are_unauthenticated_over_grpc(
    auth: AuthHarness, unique_id: int, name: str
) -> None:
    await auth.login(unique_id)
    meta = auth_metadata(FORGERIES[name](auth.key, unique_id))
    for call in protected_calls(auth, meta):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call()
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_service_token_for_the_right_secret_only(auth: AuthHarness) -> None:
    issued = await auth.stub.IssueServiceToken(
        auth_pb2.IssueServiceTokenRequest(service="gateway", secret=GATEWAY_SECRET)
    )
    jwks = json.loads((await auth.stub.GetJwks(auth_pb2.GetJwksRequest())).jwks_json)
    principal = TokenVerifier(jwks).verify(issued.access_token, kinds=("service",))
    assert principal.service == "gateway"
    meta = auth_metadata(issued.access_token)
    request = auth_pb2.CheckAccessRequest(channel_id=1, permission="view_analytics")
    assert (await auth.stub.CheckAccess(request, metadata=meta)).allowed
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await auth.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=meta)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for service, secret in (("gateway", GATEWAY_SECRET + "x"), ("collector", GATEWAY_SECRET)):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await auth.stub.IssueServiceToken(
                auth_pb2.IssueServiceTokenRequest(service=service, secret=secret)
            )
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_reports_serving(auth: AuthHarness) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{auth.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = await health.Check(
            health_pb2.HealthCheckRequest(service="analyticbot.auth.v1.AuthService")
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
