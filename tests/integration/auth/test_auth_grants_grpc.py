"""Grants from Telegram and invites over real gRPC: who may sync, invite, list, revoke."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.initdata import InitDataValidator
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.auth.main import build
from services.auth.service import AuthPolicy, AuthService
from tests.integration.auth.conftest import BOT_TOKEN, GATEWAY_SECRET, AuthHarness, auth_metadata

BOT_SECRET = "bot-secret-" + "y" * 32


@dataclass
class Grants:
    stub: auth_pb2_grpc.AuthServiceAsyncStub
    harness: AuthHarness
    bot: tuple[tuple[str, str], ...]
    gateway: tuple[tuple[str, str], ...]

    async def user(self, user_id: int) -> tuple[tuple[str, str], ...]:
        return auth_metadata((await self.harness.login(user_id)).access_token)


@pytest.fixture
async def grants(pool: asyncpg.Pool, unique_id: int) -> AsyncIterator[Grants]:
    key = SigningKey.generate()
    policy = AuthPolicy(
        service_secrets={
            "gateway": hashlib.sha256(GATEWAY_SECRET.encode()).digest(),
            "bot": hashlib.sha256(BOT_SECRET.encode()).digest(),
        },
    )
    service = AuthService(pool, InitDataValidator(bot_token=BOT_TOKEN), TokenSigner([key]), policy)
    server = build(service, port=0)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    harness = AuthHarness(stub=stub, key=key, pool=pool, superadmin=0, port=server.port)  # type: ignore[arg-type]

    async def service_token(name: str, secret: str) -> tuple[tuple[str, str], ...]:
        request = auth_pb2.IssueServiceTokenRequest(service=name, secret=secret)
        return auth_metadata((await stub.IssueServiceToken(request)).access_token)

    try:
        yield Grants(
            stub=stub,
            harness=harness,
            bot=await service_token("bot", BOT_SECRET),
            gateway=await service_token("gateway", GATEWAY_SECRET),
        )
    finally:
        await channel.close()
        await server.stop(0)


def _admin(user_id: int, *, creator: bool = False) -> auth_pb2.ChannelAdmin:
    return auth_pb2.ChannelAdmin(user_id=user_id, first_name=f"A{user_id}", is_creator=creator)


async def _roles(pool: asyncpg.Pool, channel_id: int) -> dict[int, tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT user_id, role, source FROM grants WHERE channel_id = $1", channel_id
    )
    return {r["user_id"]: (r["role"], r["source"]) for r in rows}


async def test_sync_grants_creator_and_adder_owner_admins_admin_and_drops_former_admins(
    grants: Grants, unique_id: int
) -> None:
    channel, creator, adder, other = unique_id, unique_id + 1, unique_id + 2, unique_id + 3
    await grants.harness.add_channel(channel, "Synced")
    request = auth_pb2.SyncChannelAdminsRequest(
        channel_id=channel,
        admins=[_admin(creator, creator=True), _admin(adder), _admin(other)],
        added_by_user_id=adder,
    )
    response = await grants.stub.SyncChannelAdmins(request, metadata=grants.bot)
    assert sorted(response.owner_user_ids) == [creator, adder]
    assert await _roles(grants.harness.pool, channel) == {
        creator: ("owner", "telegram"),
        adder: ("owner", "telegram"),
        other: ("admin", "telegram"),
    }
    # A periodic re-sync: `other` left the admins; the adder stays owner while an admin.
    resync = auth_pb2.SyncChannelAdminsRequest(
        channel_id=channel, admins=[_admin(creator, creator=True), _admin(adder)]
    )
    response = await grants.stub.SyncChannelAdmins(resync, metadata=grants.bot)
    assert response.removed == 1
    assert set(await _roles(grants.harness.pool, channel)) == {creator, adder}


async def test_only_the_bot_may_sync_or_list_a_users_channels(
    grants: Grants, unique_id: int
) -> None:
    await grants.harness.add_channel(unique_id, "Guarded")
    request = auth_pb2.SyncChannelAdminsRequest(
        channel_id=unique_id, admins=[_admin(unique_id + 1, creator=True)]
    )
    for metadata in (grants.gateway, await grants.user(unique_id + 1)):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await grants.stub.SyncChannelAdmins(request, metadata=metadata)
        assert failure.value.code() in {
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
        }
        with pytest.raises(grpc.aio.AioRpcError):
            await grants.stub.ListUserChannels(
                auth_pb2.ListUserChannelsRequest(user_id=unique_id + 1), metadata=metadata
            )
    assert await _roles(grants.harness.pool, unique_id) == {}
    unknown = auth_pb2.SyncChannelAdminsRequest(channel_id=unique_id + 99, admins=[])
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.SyncChannelAdmins(unknown, metadata=grants.bot)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


async def test_invite_single_use_grants_once_and_is_revocable(
    grants: Grants, unique_id: int
) -> None:
    channel, owner, guest, late = unique_id, unique_id + 1, unique_id + 2, unique_id + 3
    await grants.harness.add_channel(channel, "Invites")
    owner_md = await grants.user(owner)
    await grants.harness.grant(owner, channel, "owner")
    created = await grants.stub.CreateInvite(
        auth_pb2.CreateInviteRequest(
            channel_id=channel, role=auth_pb2.ROLE_ANALYST, single_use=True
        ),
        metadata=owner_md,
    )
    assert created.start_param.startswith("inv_")
    accepted = await grants.stub.AcceptInvite(
        auth_pb2.AcceptInviteRequest(start_param=created.start_param),
        metadata=await grants.user(guest),
    )
    assert (accepted.channel_id, accepted.role) == (channel, auth_pb2.ROLE_ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.AcceptInvite(
            auth_pb2.AcceptInviteRequest(start_param=created.start_param),
            metadata=await grants.user(late),
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    members = await grants.stub.ListMembers(
        auth_pb2.ListMembersRequest(channel_id=channel), metadata=owner_md
    )
    assert [(m.user_id, m.role, m.source) for m in members.members] == [
        (owner, auth_pb2.ROLE_OWNER, auth_pb2.GRANT_SOURCE_MANUAL),
        (guest, auth_pb2.ROLE_ANALYST, auth_pb2.GRANT_SOURCE_INVITE),
    ]
    revoked = await grants.stub.RevokeGrant(
        auth_pb2.RevokeGrantRequest(channel_id=channel, user_id=guest), metadata=owner_md
    )
    assert revoked.revoked
    assert guest not in await _roles(grants.harness.pool, channel)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.RevokeGrant(
            auth_pb2.RevokeGrantRequest(channel_id=channel, user_id=owner), metadata=owner_md
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_multi_use_invite_until_revoked_and_roles_that_may_not_invite(
    grants: Grants, unique_id: int
) -> None:
    channel, admin, viewer = unique_id, unique_id + 1, unique_id + 2
    await grants.harness.add_channel(channel, "Multi")
    admin_md, viewer_md = await grants.user(admin), await grants.user(viewer)
    await grants.harness.grant(admin, channel, "admin")
    await grants.harness.grant(viewer, channel, "viewer")
    valid_for = Duration()
    valid_for.FromTimedelta(timedelta(hours=1))
    request = auth_pb2.CreateInviteRequest(
        channel_id=channel, role=auth_pb2.ROLE_VIEWER, valid_for=valid_for
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.CreateInvite(request, metadata=viewer_md)
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    owner_role = auth_pb2.CreateInviteRequest(channel_id=channel, role=auth_pb2.ROLE_OWNER)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.CreateInvite(owner_role, metadata=admin_md)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    created = await grants.stub.CreateInvite(request, metadata=admin_md)
    for guest in (unique_id + 3, unique_id + 4):
        await grants.stub.AcceptInvite(
            auth_pb2.AcceptInviteRequest(start_param=created.start_param),
            metadata=await grants.user(guest),
        )
    listed = await grants.stub.ListInvites(
        auth_pb2.ListInvitesRequest(channel_id=channel), metadata=admin_md
    )
    assert [(i.invite_id, i.uses) for i in listed.invites] == [(created.invite.invite_id, 2)]
    await grants.stub.RevokeInvite(
        auth_pb2.RevokeInviteRequest(invite_id=created.invite.invite_id), metadata=admin_md
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.AcceptInvite(
            auth_pb2.AcceptInviteRequest(start_param=created.start_param),
            metadata=await grants.user(unique_id + 5),
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    outsider = await grants.user(unique_id + 6)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await grants.stub.ListMembers(
            auth_pb2.ListMembersRequest(channel_id=channel), metadata=outsider
        )
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
