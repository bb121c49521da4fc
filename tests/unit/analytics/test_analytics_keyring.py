"""The key ring loads the auth service's key set and refetches it, rate-limited, when a
token names a key it does not know (rotation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from analyticbot.runtime.errors import Unauthenticated, Unavailable
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.analytics.auth import KeyRing


class FakeAuth:
    """Serves whatever key set it holds and counts the fetches."""

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer
        self.fetches = 0

    async def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        return self.signer.jwks()


async def test_a_rotated_key_is_fetched_once_then_rate_limited() -> None:
    old, new, forged = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    auth = FakeAuth(TokenSigner([old]))
    now = [1000.0]
    ring = KeyRing(auth.fetch, min_refresh_seconds=30, clock=lambda: now[0])
    with pytest.raises(Unavailable):
        await ring.verify(TokenSigner([old]).issue("access", "1", 60)[0])
    await ring.refresh()
    assert (await ring.verify(TokenSigner([old]).issue("access", "1", 60)[0])).user_id == 1

    auth.signer = TokenSigner([new, old])  # rotation
    rotated, _ = TokenSigner([new]).issue("access", "2", 60)
    assert (await ring.verify(rotated)).user_id == 2
    assert auth.fetches == 2

    bogus, _ = TokenSigner([forged]).issue("access", "3", 60)
    with pytest.raises(Unauthenticated, match="unknown key"):
        await ring.verify(bogus)
    with pytest.raises(Unauthenticated, match="unknown key"):
        await ring.verify(bogus)
    assert auth.fetches == 2  # within 30 s of the last refetch: none
    now[0] += 31
    with pytest.raises(Unauthenticated):
        await ring.verify(bogus)
    assert auth.fetches == 3
