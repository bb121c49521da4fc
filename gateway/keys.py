"""Local verification of access tokens with the auth service's public key set.

The key ring is the shared ``analyticbot.runtime.jwks.JwksKeyRing`` (fetched from auth
``GetJwks`` at startup, again on an unknown ``kid`` at most once per
``min_refresh_seconds``), with the gateway's HTTP errors and its published key set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analyticbot.runtime.errors import Unauthenticated
from analyticbot.runtime.jwks import JwksFetcher, JwksKeyRing
from analyticbot.runtime.tokens import Principal, TokenKind
from gateway.errors import APIError, unauthenticated

log = logging.getLogger(__name__)

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


class KeyRing(JwksKeyRing):
    """The shared key ring with the gateway's edges: errors are HTTP (401, or 503 while
    auth cannot give a first key set), the first key set is fetched on demand, and the
    public part of each key set is kept for ``/.well-known/jwks.json``."""

    fetch_errors = (APIError,)

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(fetch, min_refresh_seconds=min_refresh_seconds, clock=clock)
        self._published: list[dict[str, str]] = []

    def _loaded(self, jwks: Mapping[str, Any], accepted: set[str]) -> None:
        self._published = public_keys(jwks, accepted=accepted)

    async def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The key set tokens are verified with, public members only; fetched first
        while none is loaded (503 ``APIError`` when auth cannot answer)."""
        if not self.loaded:
            await self.refresh()
        return {"keys": [dict(key) for key in self._published]}

    async def verify(self, token: str, kinds: Iterable[TokenKind] = USER) -> Principal:
        """The principal of a valid token of one of ``kinds``; 401 ``APIError``
        otherwise, 503 while no key set could be loaded yet."""
        if not self.loaded:
            await self.refresh()
        try:
            return await super().verify(token, kinds)
        except Unauthenticated as exc:
            raise unauthenticated(str(exc), invalid_token=True) from None


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
    token = parse_bearer(authorization)
    if token is None:
        raise unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token


def parse_bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, None for any other."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
