"""Local verification of access tokens with the auth service's public key set.

The key set is fetched from auth ``GetJwks`` at startup (retrying until auth is up) and
again when a token names a key we do not know (rotation). Those refetches happen at most
once per ``min_refresh_seconds``, so forged ``kid`` values cannot hammer the auth service.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from analyticbot.runtime.errors import Unauthenticated
from analyticbot.runtime.tokens import Principal, TokenKind, TokenVerifier
from gateway.errors import APIError, unauthenticated

log = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
# What the gateway accepts: user access tokens everywhere, share tokens where a route
# says so (the read routes of one channel). Service tokens never come from outside.
USER: tuple[TokenKind, ...] = ("access",)
USER_OR_SHARE: tuple[TokenKind, ...] = ("access", "share")
# The public members of an Ed25519 JWK (RFC 8037) plus its metadata; anything else, a
# private "d" above all, is never republished.
PUBLIC_JWK_MEMBERS = ("kty", "crv", "x", "kid", "alg", "use")


@dataclass(frozen=True)
class Caller:
    """A verified user (or share link) and the token to forward to the services."""

    principal: Principal
    token: str

    @property
    def shared(self) -> bool:
        """True for a read-only share token (one channel, ``view_analytics`` only)."""
        return self.principal.kind == "share"


class KeyRing:
    """Holds the current key set and verifies tokens against it."""

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._verifier: TokenVerifier | None = None
        self._published: list[dict[str, str]] = []
        self._last_kid_refresh: float | None = None
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._verifier is not None

    async def refresh(self) -> None:
        """Fetch the key set now; raises ``APIError`` (503) when auth cannot answer."""
        async with self._lock:
            jwks = await self._fetch()
            if self._verifier is None:
                self._verifier = TokenVerifier(jwks)
            else:
                self._verifier.replace_keys(jwks)
            self._published = public_keys(jwks, accepted=set(self._verifier.key_ids))
            log.info("key set loaded: %d key(s)", len(list(self._verifier.key_ids)))

    async def load_until_ready(self, *, first_delay: float = 0.2, max_delay: float = 5.0) -> None:
        """Retry until the first key set is loaded (run as a startup background task)."""
        delay = first_delay
        while not self.loaded:
            try:
                await self.refresh()
            except APIError as exc:
                log.warning("auth key set not available yet (%s), retrying", exc.code)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)

    async def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The key set tokens are verified with, public members only; fetched first
        while none is loaded (503 ``APIError`` when auth cannot answer)."""
        if self._verifier is None:
            await self.refresh()
        return {"keys": [dict(key) for key in self._published]}

    def _may_refresh(self) -> bool:
        # Only refreshes for unknown kids count: the first load must not delay a rotation.
        return (
            self._last_kid_refresh is None
            or self._clock() - self._last_kid_refresh >= self._min_refresh
        )

    async def verify(self, token: str, kinds: Iterable[TokenKind] = USER) -> Principal:
        """The principal of a valid token of one of ``kinds``; 401 ``APIError`` otherwise,
        503 while no key set could be loaded yet.

        The verifier remembers tokens it verified, so a known token costs no parsing
        here either; a token it refuses for naming an unknown key triggers a refresh."""
        if self._verifier is None:
            await self.refresh()
        verifier = self._verifier
        assert verifier is not None
        try:
            return verifier.verify(token, kinds=kinds)
        except Unauthenticated as exc:
            if not self._names_unknown_key(token, verifier) or not self._may_refresh():
                raise unauthenticated(str(exc), invalid_token=True) from None
        self._last_kid_refresh = self._clock()
        try:
            await self.refresh()
        except APIError as exc:
            log.warning("key set refresh failed (%s)", exc.code)
        try:
            return verifier.verify(token, kinds=kinds)
        except Unauthenticated as exc:
            raise unauthenticated(str(exc), invalid_token=True) from None

    @staticmethod
    def _names_unknown_key(token: str, verifier: TokenVerifier) -> bool:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError:
            return False
        return kid not in verifier.key_ids


def public_keys(jwks: Mapping[str, Any], *, accepted: set[str]) -> list[dict[str, str]]:
    """The keys of ``jwks`` the verifier accepted, reduced to their public members."""
    published = []
    for jwk in jwks.get("keys", []):
        if isinstance(jwk, Mapping) and str(jwk.get("kid", "")) in accepted:
            published.append({m: str(jwk[m]) for m in PUBLIC_JWK_MEMBERS if m in jwk})
    return published


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or a 401."""
    if not authorization:
        raise unauthenticated("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token
