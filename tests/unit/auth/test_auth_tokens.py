"""JWT negative suite against TokenVerifier, plus rotation and the service-token cache."""

from __future__ import annotations

import pytest

from analyticbot.runtime.errors import Unauthenticated
from analyticbot.runtime.tokens import CachedToken, SigningKey, TokenSigner, TokenVerifier, bearer
from tests.unit.auth.auth_jwt_forgeries import FORGERIES, claims, signed

KEY = SigningKey.generate()
USER = 4242


def verifier() -> TokenVerifier:
    return TokenVerifier(TokenSigner([KEY]).jwks())


def test_a_genuine_token_verifies() -> None:
    principal = verifier().verify(signed(KEY, claims(USER)))
    assert principal.user_id == USER
    assert principal.kind == "access"


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_token_is_rejected(name: str) -> None:
    token = FORGERIES[name](KEY, USER)
    with pytest.raises(Unauthenticated):
        verifier().verify(token)


def test_kind_not_accepted_here_is_rejected() -> None:
    token, _ = TokenSigner([KEY]).issue("service", "svc:gateway", 60)
    with pytest.raises(Unauthenticated, match="service token is not accepted"):
        verifier().verify(token)
    assert verifier().verify(token, kinds=("service",)).service == "gateway"


def test_two_live_keys_during_rotation_both_verify_then_the_old_one_stops() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    old_token, _ = TokenSigner([old]).issue("access", "1", 60)
    rotated = TokenSigner([new, old])
    new_token, _ = rotated.issue("access", "2", 60)
    during = TokenVerifier(rotated.jwks())
    assert during.verify(old_token).user_id == 1
    assert during.verify(new_token).user_id == 2
    after = TokenVerifier(TokenSigner([new]).jwks())
    with pytest.raises(Unauthenticated, match="unknown key"):
        after.verify(old_token)
    assert after.verify(new_token).user_id == 2


def test_bearer_reads_the_authorization_metadata() -> None:
    assert bearer([("x", "y"), ("authorization", "Bearer abc")]) == "abc"
    with pytest.raises(Unauthenticated, match="missing bearer"):
        bearer([("authorization", "Basic abc")])
    with pytest.raises(Unauthenticated, match="missing bearer"):
        bearer([])


async def test_cached_token_is_reused_until_shortly_before_expiry() -> None:
    now = [1000.0]
    fetched: list[int] = []

    async def fetch() -> tuple[str, int]:
        fetched.append(1)
        return f"t{len(fetched)}", int(now[0]) + 600

    cache = CachedToken(fetch, refresh_before_seconds=60, clock=lambda: now[0])
    assert await cache.get() == "t1"
    now[0] += 500
    assert await cache.get() == "t1"
    now[0] += 50
    assert await cache.get() == "t2"
    assert await cache.metadata() == (("authorization", "Bearer t2"),)
