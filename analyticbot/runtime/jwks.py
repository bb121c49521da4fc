"""Keep a token verifier fresh with the auth service's public key set.

``JwksKeyRing`` fetches the key set (auth ``GetJwks``) at startup, retrying until auth
answers, and again when a token names a key it does not know (rotation), at most once
per ``min_refresh_seconds`` so forged ``kid`` values cannot hammer the auth service.
Verification itself is local (``TokenVerifier``). Any service that verifies tokens
can use it: ``JwksKeyRing(grpc_jwks_fetcher(channel))``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import grpc
import jwt

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.errors import Unauthenticated, Unavailable
from analyticbot.runtime.tokens import Principal, TokenKind, TokenVerifier

log = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
_FETCH_ERRORS: tuple[type[BaseException], ...] = (grpc.aio.AioRpcError, ValueError, OSError)


def grpc_jwks_fetcher(channel: grpc.aio.Channel, *, timeout: float = 5.0) -> JwksFetcher:
    """A fetcher calling auth ``GetJwks`` on ``channel`` (a public RPC)."""
    service = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
    call = channel.unary_unary(
        f"/{service}/GetJwks",
        request_serializer=auth_pb2.GetJwksRequest.SerializeToString,
        response_deserializer=auth_pb2.GetJwksResponse.FromString,
    )

    async def fetch() -> Mapping[str, Any]:
        response: auth_pb2.GetJwksResponse = await call(auth_pb2.GetJwksRequest(), timeout=timeout)
        document = json.loads(response.jwks_json)
        if not isinstance(document, dict):
            raise ValueError("the key set is not a JSON object")
        return document

    return fetch


class JwksKeyRing:
    """The current key set and local verification against it.

    Subclasses may widen ``fetch_errors`` (what a failed fetch raises) and override
    ``_loaded`` to see each key set loaded (the gateway republishes its public part).
    """

    fetch_errors: tuple[type[BaseException], ...] = _FETCH_ERRORS

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
        self._last_refresh: float | None = None
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether a key set has been loaded."""
        return self._verifier is not None

    async def refresh(self) -> None:
        """Fetch the key set now."""
        async with self._lock:
            jwks = await self._fetch()
            if self._verifier is None:
                self._verifier = TokenVerifier(jwks)
            else:
                self._verifier.replace_keys(jwks)
            self._loaded(jwks, set(self._verifier.key_ids))
            log.info("key set loaded: %d key(s)", len(list(self._verifier.key_ids)))

    def _loaded(self, jwks: Mapping[str, Any], accepted: set[str]) -> None:
        """Called with each key set loaded and the key ids the verifier accepted."""

    async def load_until_ready(self, *, first_delay: float = 0.2, max_delay: float = 5.0) -> None:
        """Retry with backoff until the first key set is loaded."""
        delay = first_delay
        while not self.loaded:
            try:
                await self.refresh()
            except self.fetch_errors as exc:
                log.warning("auth key set not available yet (%s), retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)

    def remembered(self, token: str) -> Principal | None:
        """``TokenVerifier.remembered``: a token already verified and not expired."""
        verifier = self._verifier
        return verifier.remembered(token) if verifier is not None else None

    async def verify(self, token: str, kinds: Iterable[TokenKind]) -> Principal:
        """The principal of a valid token of one of ``kinds``; Unauthenticated
        otherwise, Unavailable while no key set could be loaded.

        The verifier remembers tokens it verified, so a known token costs a lookup; only
        a token it refuses is parsed for its ``kid``, and one naming an unknown key
        triggers a refresh (rotation) before the last word."""
        verifier = self._verifier
        if verifier is None:
            raise Unavailable("the key set is not loaded yet, retry later")
        wanted = tuple(kinds)
        try:
            return verifier.verify(token, kinds=wanted)
        except Unauthenticated:
            if not self._names_unknown_key(token, verifier) or not self._may_refresh():
                raise
        self._last_refresh = self._clock()
        try:
            await self.refresh()
        except self.fetch_errors as exc:
            log.warning("key set refresh failed (%s)", type(exc).__name__)
        return verifier.verify(token, kinds=wanted)

    @staticmethod
    def _names_unknown_key(token: str, verifier: TokenVerifier) -> bool:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError:
            return False
        return kid not in verifier.key_ids

    def _may_refresh(self) -> bool:
        return self._last_refresh is None or self._clock() - self._last_refresh >= self._min_refresh
