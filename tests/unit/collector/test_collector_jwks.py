"""The shared key ring: startup retry, refetch on an unknown kid, rate-limited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from analyticbot.runtime.errors import Unauthenticated, Unavailable
from analyticbot.runtime.jwks import JwksKeyRing
from analyticbot.runtime.tokens import SigningKey, TokenSigner


class Auth:
    """An auth service whose key set rotates and which can be down."""

    def __init__(self) -> None:
        self.keys = [SigningKey.generate()]
        self.fetches = 0
        self.down = False

    async def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        if self.down:
            raise ValueError("auth is down")
        return TokenSigner(self.keys).jwks()


async def test_unknown_kid_refetches_once_per_interval() -> None:
    auth = Auth()
    now = [0.0]
    ring = JwksKeyRing(auth.fetch, min_refresh_seconds=30, clock=lambda: now[0])
    with pytest.raises(Unavailable):
        await ring.verify("x.y.z", ("service",))
    await ring.load_until_ready()
    rotated = SigningKey.generate()
    auth.keys.insert(0, rotated)
    token = TokenSigner([rotated]).issue("service", "svc:bot", 60)[0]
    principal = await ring.verify(token, ("service",))
    assert principal.service == "bot"
    assert auth.fetches == 2

    forged = TokenSigner([SigningKey.generate()]).issue("service", "svc:bot", 60)[0]
    with pytest.raises(Unauthenticated, match="unknown key"):
        await ring.verify(forged, ("service",))
    assert auth.fetches == 2  # the rotation refetch just now still counts
    now[0] = 31.0
    for _ in range(5):
        with pytest.raises(Unauthenticated, match="unknown key"):
            await ring.verify(forged, ("service",))
    assert auth.fetches == 3  # one refetch for the burst of forged kids
    now[0] = 62.0
    with pytest.raises(Unauthenticated):
        await ring.verify(forged, ("service",))
    assert auth.fetches == 4


async def test_startup_retries_until_auth_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Auth()
    auth.down = True
    ring = JwksKeyRing(auth.fetch)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            auth.down = False

    monkeypatch.setattr("analyticbot.runtime.jwks.asyncio.sleep", sleep)
    await ring.load_until_ready(first_delay=0.1, max_delay=0.3)
    assert ring.loaded
    assert slept == [0.1, 0.2, 0.3]
