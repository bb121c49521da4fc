"""JWT negative suite against TokenVerifier, plus rotation and the service-token cache."""

from __future__ import annotations

import time
from typing import Any

import jwt
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


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every full signature check the verifier makes."""
    checked: list[str] = []
    decode = jwt.decode

    def spy(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", spy)
    return checked


def test_a_verified_token_is_not_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = counting_decode(monkeypatch)
    ring = verifier()
    token = signed(KEY, claims(USER))
    for _ in range(3):
        assert ring.verify(token).user_id == USER
    assert len(checked) == 1


def test_an_expired_token_is_refused_even_when_remembered() -> None:
    clock = Clock()
    ring = TokenVerifier(TokenSigner([KEY]).jwks(), clock=clock, leeway_seconds=5)
    token, expires = TokenSigner([KEY]).issue("access", str(USER), 60, now=clock.now)
    assert ring.verify(token).user_id == USER
    clock.now = expires + 4  # within the leeway, as a full check would allow
    assert ring.verify(token).user_id == USER
    clock.now = expires + 5
    with pytest.raises(Unauthenticated, match="expired"):
        ring.verify(token)


def test_a_remembered_token_is_still_held_to_the_kinds_asked_for() -> None:
    token, _ = TokenSigner([KEY]).issue("share", "share:7", 60, extra={"cid": -100})
    ring = verifier()
    assert ring.verify(token, kinds=("access", "share")).channel_id == -100
    with pytest.raises(Unauthenticated, match="share token is not accepted"):
        ring.verify(token)


def test_a_retired_key_stops_verifying_remembered_tokens() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    token, _ = TokenSigner([old]).issue("access", "1", 60)
    ring = TokenVerifier(TokenSigner([new, old]).jwks())
    assert ring.verify(token).user_id == 1
    ring.replace_keys(TokenSigner([new]).jwks())
    with pytest.raises(Unauthenticated, match="unknown key"):
        ring.verify(token)


def test_failures_are_not_remembered_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = counting_decode(monkeypatch)
    ring = TokenVerifier(TokenSigner([KEY]).jwks(), cache_size=2)
    for name in ("wrong audience", "non-numeric subject"):
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                ring.verify(FORGERIES[name](KEY, USER))
    assert len(checked) == 4
    checked.clear()
    first, second, third = (signed(KEY, claims(n)) for n in (1, 2, 3))
    for token in (first, second, third, third, second, first):
        ring.verify(token)
    # Two entries: third pushed first out, so first was checked again.
    assert checked == [first, second, third, first]
