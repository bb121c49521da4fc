"""Share links over real gRPC: who may create, list and revoke them, and what a link's
token may do once exchanged."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from google.protobuf.duration_pb2 import Duration

from analyticbot.auth.v1 import auth_pb2
from tests.integration.auth.conftest import ShareHarness, auth_metadata

Metadata = tuple[tuple[str, str], ...]
SHARE_TOKEN = re.compile(r"shr_[A-Za-z0-9_-]{43}")


def _ttl(delta: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(delta)
    return duration


async def _create(
    share: ShareHarness, channel_id: int, caller: Metadata, ttl: timedelta | None = None
) -> auth_pb2.CreateShareLinkResponse:
    request = auth_pb2.CreateShareLinkRequest(channel_id=channel_id)
    if ttl is not None:
        request.ttl.CopyFrom(_ttl(ttl))
    return await share.stub.CreateShareLink(request, metadata=caller)


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    return failure.value.code(), failure.value.details() or ""


async def _check(
    share: ShareHarness, caller: Metadata, channel_id: int, permission: str
) -> auth_pb2.CheckAccessResponse:
    request = auth_pb2.CheckAccessRequest(channel_id=channel_id, permission=permission)
    return await share.stub.CheckAccess(request, metadata=caller)


async def test_admins_owners_and_superadmins_create_links_viewers_and_analysts_cannot(
    share: ShareHarness, unique_id: int
) -> None:
    channel = unique_id
    owner, admin, analyst, viewer, stranger = (unique_id + n for n in range(1, 6))
    callers = {u: await share.user(u) for u in (owner, admin, analyst, viewer, stranger)}
    await share.channel(channel, owner=owner, admin=admin, analyst=analyst, viewer=viewer)
    superadmin = await share.user(share.superadmin)
    before = datetime.now(UTC)
    for caller in (callers[owner], callers[admin], superadmin):
        created = await _create(share, channel, caller, timedelta(hours=2))
        assert SHARE_TOKEN.fullmatch(created.token)
        link = created.link
        assert link.channel_id == channel
        assert link.link_id > 0
        assert not link.HasField("revoked_at")
        assert not link.HasField("last_used_at")
        lifetime = link.expires_at.ToDatetime(UTC) - link.created_at.ToDatetime(UTC)
        assert lifetime == timedelta(hours=2)
        assert link.created_at.ToDatetime(UTC) >= before - timedelta(seconds=1)
    default = await _create(share, channel, callers[admin])
    assert default.link.expires_at.ToDatetime(UTC) - default.link.created_at.ToDatetime(
        UTC
    ) == timedelta(days=7)
    for user in (analyst, viewer):
        code, details = await _code(_create(share, channel, callers[user]))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert "may not manage share links" in details
    assert (await _code(_create(share, channel, callers[stranger])))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    # Superadmins pass authorization everywhere; an untracked channel is still not found.
    assert (await _code(_create(share, unique_id + 77, superadmin)))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    count = await share.pool.fetchval(
        "SELECT count(*) FROM share_links WHERE channel_id = $1", channel
    )
    assert count == 4


async def test_lifetime_limits_and_the_live_link_cap(share: ShareHarness, unique_id: int) -> None:
    channel, admin = unique_id, unique_id + 1
    caller = await share.user(admin)
    await share.channel(channel, admin=admin)
    for ttl in (timedelta(seconds=30), timedelta(days=31)):
        code, details = await _code(_create(share, channel, caller, ttl))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "between 60 and 2592000 seconds" in details
    await _create(share, channel, caller, timedelta(days=30))
    await share.pool.execute(
        """INSERT INTO share_links (token_hash, channel_id, expires_at)
           SELECT sha256(convert_to($1 || n, 'UTF8')), $2, now() + interval '1 day'
           FROM generate_series(1, 99) AS n""",
        f"filler-{unique_id}-",
        channel,
    )
    code, details = await _code(_create(share, channel, caller))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "at most 100 live share links" in details
    # Ended links do not count against the cap.
    await share.pool.execute(
        "UPDATE share_links SET revoked_at = now() WHERE channel_id = $1 AND created_by IS NULL",
        channel,
    )
    await _create(share, channel, caller)


async def test_list_and_revoke_need_manage_share_links_on_the_links_channel(
    share: ShareHarness, unique_id: int
) -> None:
    channel, other = unique_id, unique_id + 50
    admin, analyst, other_owner = unique_id + 1, unique_id + 2, unique_id + 3
    admin_md, analyst_md, other_md = [await share.user(u) for u in (admin, analyst, other_owner)]
    await share.channel(channel, admin=admin, analyst=analyst)
    await share.channel(other, owner=other_owner)
    first = await _create(share, channel, admin_md)
    second = await _create(share, channel, admin_md)
    listing = await share.stub.ListShareLinks(
        auth_pb2.ListShareLinksRequest(channel_id=channel), metadata=admin_md
    )
    assert [link.link_id for link in listing.links] == [second.link.link_id, first.link.link_id]
    assert all(link.created_by == admin for link in listing.links)
    wire = listing.SerializeToString()
    assert first.token.encode() not in wire
    assert second.token.encode() not in wire
    list_request = auth_pb2.ListShareLinksRequest(channel_id=channel)
    assert (await _code(share.stub.ListShareLinks(list_request, metadata=analyst_md)))[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert (await _code(share.stub.ListShareLinks(list_request, metadata=other_md)))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    revoke = auth_pb2.RevokeShareLinkRequest(link_id=first.link.link_id)
    # The owner of another channel learns nothing about this link: as for an unknown id.
    assert (await _code(share.stub.RevokeShareLink(revoke, metadata=other_md)))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    unknown = auth_pb2.RevokeShareLinkRequest(link_id=2**62)
    assert (await _code(share.stub.RevokeShareLink(unknown, metadata=admin_md)))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    assert (await _code(share.stub.RevokeShareLink(revoke, metadata=analyst_md)))[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert (await share.stub.RevokeShareLink(revoke, metadata=admin_md)).revoked
    assert not (await share.stub.RevokeShareLink(revoke, metadata=admin_md)).revoked
    live = await share.stub.ListShareLinks(list_request, metadata=admin_md)
    assert [link.link_id for link in live.links] == [second.link.link_id]
    everything = await share.stub.ListShareLinks(
        auth_pb2.ListShareLinksRequest(channel_id=channel, include_inactive=True),
        metadata=admin_md,
    )
    revoked = {link.link_id: link.HasField("revoked_at") for link in everything.links}
    assert revoked == {first.link.link_id: True, second.link.link_id: False}


async def test_an_exchanged_token_reads_its_own_channel_and_nothing_else(
    share: ShareHarness, unique_id: int
) -> None:
    channel, elsewhere, admin = unique_id, unique_id + 50, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    await share.channel(elsewhere, admin=admin)
    created = await _create(share, channel, admin_md)
    # No caller token: the link's secret is the whole credential.
    shared = await share.stub.ExchangeShareLink(
        auth_pb2.ExchangeShareLinkRequest(token=created.token)
    )
    assert (shared.channel_id, shared.title, shared.username) == (
        channel,
        f"Shared {channel}",
        f"c{channel}",
    )
    assert shared.link_expires_at == created.link.expires_at
    claims = jwt.decode(shared.access_token, options={"verify_signature": False})
    assert claims["typ"] == "share"
    assert claims["sub"] == f"share:{created.link.link_id}"
    assert claims["cid"] == channel
    assert claims["exp"] - claims["iat"] == 900
    as_link = auth_metadata(shared.access_token)
    viewing = await _check(share, as_link, channel, "view_analytics")
    assert (viewing.allowed, viewing.role, viewing.superadmin) == (
        True,
        auth_pb2.ROLE_VIEWER,
        False,
    )
    for permission in ("export_data", "manage_alerts", "manage_share_links", "manage_channel"):
        assert not (await _check(share, as_link, channel, permission)).allowed
    other = await _check(share, as_link, elsewhere, "view_analytics")
    assert (other.allowed, other.role) == (False, auth_pb2.ROLE_UNSPECIFIED)
    # A share token is no user: it lists no channels and manages no links.
    assert (
        await _code(share.stub.ListMyChannels(auth_pb2.ListMyChannelsRequest(), metadata=as_link))
    )[0] == grpc.StatusCode.UNAUTHENTICATED
    assert (await _code(_create(share, channel, as_link)))[0] == grpc.StatusCode.UNAUTHENTICATED
    listing = await share.stub.ListShareLinks(
        auth_pb2.ListShareLinksRequest(channel_id=channel), metadata=admin_md
    )
    assert listing.links[0].HasField("last_used_at")


async def test_a_token_never_outlives_its_link(share: ShareHarness, unique_id: int) -> None:
    channel, admin = unique_id, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    created = await _create(share, channel, admin_md, timedelta(seconds=60))
    shared = await share.stub.ExchangeShareLink(
        auth_pb2.ExchangeShareLinkRequest(token=created.token)
    )
    claims = jwt.decode(shared.access_token, options={"verify_signature": False})
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert claims["exp"] <= created.link.expires_at.seconds
    assert shared.access_token_expires_at.seconds == claims["exp"]


async def test_unknown_and_malformed_links_are_unauthenticated(share: ShareHarness) -> None:
    for token, message in (
        ("shr_" + "A" * 43, "unknown share link"),
        ("shr_short", "malformed share link"),
        ("", "malformed share link"),
    ):
        request = auth_pb2.ExchangeShareLinkRequest(token=token)
        code, details = await _code(share.stub.ExchangeShareLink(request))
        assert (code, details) == (grpc.StatusCode.UNAUTHENTICATED, message)
