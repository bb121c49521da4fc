"""Refresh tokens over real gRPC: rotation, reuse detection, logout, storage."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from analyticbot.auth.v1 import auth_pb2
from tests.integration.auth.conftest import AuthHarness


async def refresh(auth: AuthHarness, token: str) -> auth_pb2.RefreshTokensResponse:
    return await auth.stub.RefreshTokens(auth_pb2.RefreshTokensRequest(refresh_token=token))


async def refused(auth: AuthHarness, token: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await refresh(auth, token)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return failure.value.details() or ""


async def test_rotation_issues_a_new_pair_and_spends_the_old_token(
    auth: AuthHarness, unique_id: int
) -> None:
    first = (await auth.login(unique_id)).refresh_token
    second = await refresh(auth, first)
    assert second.refresh_token != first
    assert second.access_token
    third = await refresh(auth, second.refresh_token)
    assert third.refresh_token not in (first, second.refresh_token)


async def test_reusing_a_rotated_token_revokes_the_whole_family(
    auth: AuthHarness, unique_id: int
) -> None:
    first = (await auth.login(unique_id)).refresh_token
    other_session = (await auth.login(unique_id)).refresh_token
    second = (await refresh(auth, first)).refresh_token
    assert "already used" in await refused(auth, first)
    # The legitimate successor is revoked too: the thief and the owner both log in again.
    assert "revoked" in await refused(auth, second)
    # Another launch's family is untouched.
    assert (await refresh(auth, other_session)).refresh_token


async def test_logout_revokes_the_session(auth: AuthHarness, unique_id: int) -> None:
    token = (await auth.login(unique_id)).refresh_token
    answer = await auth.stub.RevokeRefreshToken(
        auth_pb2.RevokeRefreshTokenRequest(refresh_token=token)
    )
    assert answer.revoked
    assert "revoked" in await refused(auth, token)
    unknown = await auth.stub.RevokeRefreshToken(
        auth_pb2.RevokeRefreshTokenRequest(refresh_token="abr_unknown")
    )
    assert not unknown.revoked


async def test_unknown_malformed_and_expired_tokens_are_refused(
    auth: AuthHarness, unique_id: int
) -> None:
    assert "unknown" in await refused(auth, "abr_" + "A" * 43)
    assert "malformed" in await refused(auth, "not-ours")
    token = (await auth.login(unique_id)).refresh_token
    await auth.pool.execute(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    assert "expired" in await refused(auth, token)


async def test_only_a_hash_of_the_token_is_stored(auth: AuthHarness, unique_id: int) -> None:
    token = (await auth.login(unique_id)).refresh_token
    rows = await auth.pool.fetch(
        "SELECT token_hash FROM refresh_tokens WHERE user_id = $1", unique_id
    )
    assert [bytes(r["token_hash"]) for r in rows] == [hashlib.sha256(token.encode()).digest()]
