"""A share token is checked against its link on every request, in the auth service's
CheckAccess and in ``rbac.authorize`` (what analytics runs locally): revocation and expiry
take effect on the next request. The link's secret is never stored or logged."""

from __future__ import annotations

import hashlib
import logging

import grpc
import pytest

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.errors import NotFound, Unauthenticated
from analyticbot.runtime.rbac import Permission, authorize
from analyticbot.runtime.tokens import Principal, TokenSigner, TokenVerifier
from tests.integration.auth.conftest import ShareHarness, auth_metadata

Metadata = tuple[tuple[str, str], ...]


async def _link(share: ShareHarness, channel_id: int, admin: Metadata) -> tuple[int, str]:
    created = await share.stub.CreateShareLink(
        auth_pb2.CreateShareLinkRequest(channel_id=channel_id), metadata=admin
    )
    return created.link.link_id, created.token


async def _exchange(share: ShareHarness, token: str) -> str:
    request = auth_pb2.ExchangeShareLinkRequest(token=token)
    return (await share.stub.ExchangeShareLink(request)).access_token


def _principal(share: ShareHarness, access_token: str) -> Principal:
    verifier = TokenVerifier(TokenSigner([share.harness.key]).jwks())
    return verifier.verify(access_token, kinds=("share",))


async def _view(share: ShareHarness, access_token: str, channel_id: int) -> bool:
    request = auth_pb2.CheckAccessRequest(channel_id=channel_id, permission="view_analytics")
    answer = await share.stub.CheckAccess(request, metadata=auth_metadata(access_token))
    return answer.allowed


async def _authorize(share: ShareHarness, principal: Principal, channel_id: int) -> None:
    async with share.pool.acquire() as conn:
        await authorize(conn, principal, channel_id, Permission.VIEW_ANALYTICS)


async def _refused(call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return failure.value.details() or ""


async def test_revocation_takes_effect_on_the_next_request(
    share: ShareHarness, unique_id: int
) -> None:
    channel, admin = unique_id, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    (link_id, secret), (_, kept_secret) = [await _link(share, channel, admin_md) for _ in "ab"]
    token, kept = await _exchange(share, secret), await _exchange(share, kept_secret)
    principal = _principal(share, token)
    assert await _view(share, token, channel)
    await _authorize(share, principal, channel)

    await share.stub.RevokeShareLink(
        auth_pb2.RevokeShareLinkRequest(link_id=link_id), metadata=admin_md
    )
    request = auth_pb2.CheckAccessRequest(channel_id=channel, permission="view_analytics")
    check = share.stub.CheckAccess(request, metadata=auth_metadata(token))
    assert await _refused(check) == "share link revoked"
    with pytest.raises(Unauthenticated, match="share link revoked"):
        await _authorize(share, principal, channel)
    exchange = share.stub.ExchangeShareLink(auth_pb2.ExchangeShareLinkRequest(token=secret))
    assert await _refused(exchange) == "share link revoked"
    # Other links of the channel are untouched.
    assert await _view(share, kept, channel)
    await _authorize(share, _principal(share, kept), channel)


async def test_expiry_takes_effect_on_the_next_request(share: ShareHarness, unique_id: int) -> None:
    channel, admin = unique_id, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    link_id, secret = await _link(share, channel, admin_md)
    token = await _exchange(share, secret)
    principal = _principal(share, token)
    await _authorize(share, principal, channel)
    await share.pool.execute(
        "UPDATE share_links SET expires_at = now() - interval '1 second' WHERE id = $1", link_id
    )
    request = auth_pb2.CheckAccessRequest(channel_id=channel, permission="view_analytics")
    check = share.stub.CheckAccess(request, metadata=auth_metadata(token))
    assert await _refused(check) == "share link expired"
    with pytest.raises(Unauthenticated, match="share link expired"):
        await _authorize(share, principal, channel)
    exchange = share.stub.ExchangeShareLink(auth_pb2.ExchangeShareLinkRequest(token=secret))
    assert await _refused(exchange) == "share link expired"


async def test_a_link_stored_already_expired_is_refused_and_listed_as_inactive(
    share: ShareHarness, unique_id: int
) -> None:
    channel, admin = unique_id, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    secret = "shr_" + hashlib.sha256(str(unique_id).encode()).hexdigest()[:43]
    link_id = await share.pool.fetchval(
        """INSERT INTO share_links (token_hash, channel_id, created_by, created_at, expires_at)
           VALUES ($1, $2, $3, now() - interval '2 days', now() - interval '1 day')
           RETURNING id""",
        hashlib.sha256(secret.encode()).digest(),
        channel,
        admin,
    )
    exchange = share.stub.ExchangeShareLink(auth_pb2.ExchangeShareLinkRequest(token=secret))
    assert await _refused(exchange) == "share link expired"
    live = await share.stub.ListShareLinks(
        auth_pb2.ListShareLinksRequest(channel_id=channel), metadata=admin_md
    )
    assert list(live.links) == []
    everything = await share.stub.ListShareLinks(
        auth_pb2.ListShareLinksRequest(channel_id=channel, include_inactive=True),
        metadata=admin_md,
    )
    assert [link.link_id for link in everything.links] == [link_id]


async def test_authorize_binds_a_share_token_to_its_links_channel(
    share: ShareHarness, unique_id: int
) -> None:
    channel, elsewhere, admin = unique_id, unique_id + 50, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    await share.channel(elsewhere, admin=admin)
    link_id, secret = await _link(share, channel, admin_md)
    principal = _principal(share, await _exchange(share, secret))
    # Outside its scope a share token finds nothing, as a stranger would.
    with pytest.raises(NotFound):
        await _authorize(share, principal, elsewhere)
    async with share.pool.acquire() as conn:
        with pytest.raises(NotFound):
            await authorize(conn, principal, channel, Permission.EXPORT_DATA)
    # Tokens signed by our key but naming a link of another channel, an unknown link, or
    # no link at all are refused (only a key holder could mint them; defence in depth).
    signer = TokenSigner([share.harness.key])
    for subject in (f"share:{link_id}", "share:999999999999", "link"):
        forged, _ = signer.issue("share", subject, 60, extra={"cid": elsewhere})
        with pytest.raises(Unauthenticated, match="share"):
            await _authorize(share, _principal(share, forged), elsewhere)


async def test_the_secret_is_never_stored_or_logged(
    share: ShareHarness, unique_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel, admin = unique_id, unique_id + 1
    admin_md = await share.user(admin)
    await share.channel(channel, admin=admin)
    link_id, secret = await _link(share, channel, admin_md)
    await _exchange(share, secret)
    await share.stub.RevokeShareLink(
        auth_pb2.RevokeShareLinkRequest(link_id=link_id), metadata=admin_md
    )
    await _refused(share.stub.ExchangeShareLink(auth_pb2.ExchangeShareLinkRequest(token=secret)))

    row = await share.pool.fetchrow(
        "SELECT token_hash, s::text AS everything FROM share_links s WHERE id = $1", link_id
    )
    assert row is not None
    assert bytes(row["token_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert secret not in row["everything"]
    assert secret.encode().hex() not in row["everything"]
    messages = {r.getMessage() for r in caplog.records}
    assert {"share link created", "share link used", "share link revoked"} <= messages
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in repr(record.__dict__)
