"""Export links: a CSV export that Telegram's ``downloadFile`` fetches without our
``Authorization`` header.

A link's token is ``exl_`` and 32 random bytes (43 URL-safe characters). Redis keeps,
under the SHA-256 of those bytes, who made the link, the channel, the period and the
creator's access token, encrypted with AES-256-GCM under the bytes themselves: Redis
alone yields nothing usable, and a changed URL finds nothing. The gateway holds no
signing key (auth does), and the download must reach auth and analytics as the user so
both authorize again; hence a server-side record rather than a self-contained token.

A link is valid for ``ttl_seconds`` and never beyond the access token it carries. Its
record outlives it by ``EXPIRED_GRACE_SECONDS`` so that a late download is told
``EXPORT_LINK_EXPIRED`` rather than ``EXPORT_LINK_INVALID``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.exceptions import RedisError

from analyticbot.runtime.tokens import Principal
from gateway.errors import RETRY_AFTER_SECONDS, APIError
from gateway.keys import Caller

PREFIX = "exl_"
TOKEN = re.compile(r"exl_[A-Za-z0-9_-]{43}")
EXPIRED_GRACE_SECONDS = 300
_NONCE_BYTES = 12


@dataclass(frozen=True)
class ExportLink:
    """What a link downloads, for whom, until when."""

    user_id: int
    channel_id: int
    start: datetime | None
    end: datetime | None
    access_token: str
    expires_at: datetime

    @property
    def file_name(self) -> str:
        return file_name(self.channel_id)

    def caller(self) -> Caller:
        """The link's creator, as the peers will see them (their own access token)."""
        principal = Principal(kind="access", subject=str(self.user_id), user_id=self.user_id)
        return Caller(principal=principal, token=self.access_token)


def file_name(channel_id: int) -> str:
    return f"channel-{channel_id}-posts.csv"


def invalid() -> APIError:
    return APIError(401, "EXPORT_LINK_INVALID", "the export link is not valid")


def expired() -> APIError:
    return APIError(401, "EXPORT_LINK_EXPIRED", "the export link has expired; export again")


def _unavailable() -> APIError:
    return APIError(
        503,
        "UNAVAILABLE",
        "a service is temporarily unavailable, retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _secret(token: str) -> bytes | None:
    """The 32 bytes of a well-formed token. Only the canonical spelling is accepted: the
    last of the 43 characters carries 2 unused bits, and four spellings of it would
    otherwise decode to the same secret (one link, several URLs)."""
    if not TOKEN.fullmatch(token):
        return None
    body = token.removeprefix(PREFIX)
    secret = base64.urlsafe_b64decode(body + "=")
    if len(secret) != 32 or base64.urlsafe_b64encode(secret).rstrip(b"=").decode() != body:
        return None
    return secret


def _encode(link: ExportLink) -> bytes:
    return json.dumps(
        {
            "user_id": link.user_id,
            "channel_id": link.channel_id,
            "start": link.start.isoformat() if link.start else None,
            "end": link.end.isoformat() if link.end else None,
            "access_token": link.access_token,
            "expires_at": link.expires_at.timestamp(),
        }
    ).encode()


def _decode(data: bytes) -> ExportLink:
    fields = json.loads(data)
    return ExportLink(
        user_id=int(fields["user_id"]),
        channel_id=int(fields["channel_id"]),
        start=datetime.fromisoformat(fields["start"]) if fields["start"] else None,
        end=datetime.fromisoformat(fields["end"]) if fields["end"] else None,
        access_token=str(fields["access_token"]),
        expires_at=datetime.fromtimestamp(float(fields["expires_at"]), UTC),
    )


class ExportLinks:
    """Creates and resolves export links in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def _key(self, secret: bytes) -> str:
        return f"{self._prefix}:{hashlib.sha256(secret).hexdigest()}"

    async def create(
        self,
        caller: Caller,
        channel_id: int,
        start: datetime | None,
        end: datetime | None,
        token_expires_at: datetime,
    ) -> tuple[str, ExportLink]:
        """A new link's token and record; 503 ``APIError`` when Redis cannot store it."""
        assert caller.principal.user_id is not None
        now = self.clock()
        expires = min(int(now) + self.ttl_seconds, int(token_expires_at.timestamp()))
        link = ExportLink(
            user_id=caller.principal.user_id,
            channel_id=channel_id,
            start=start,
            end=end,
            access_token=caller.token,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
        secret = secrets.token_bytes(32)
        key = self._key(secret)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = nonce + AESGCM(secret).encrypt(nonce, _encode(link), key.encode())
        keep_ms = int((expires - now + EXPIRED_GRACE_SECONDS) * 1000)
        try:
            await self._redis.set(key, sealed, px=keep_ms)
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        token = PREFIX + base64.urlsafe_b64encode(secret).decode().rstrip("=")
        return token, link

    async def resolve(self, token: str) -> ExportLink:
        """The link of ``token``: 401 ``EXPORT_LINK_INVALID`` for a malformed, unknown or
        altered one, 401 ``EXPORT_LINK_EXPIRED`` past its expiry, 503 without Redis."""
        secret = _secret(token)
        if secret is None:
            raise invalid()
        key = self._key(secret)
        try:
            sealed = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        if not isinstance(sealed, bytes) or len(sealed) <= _NONCE_BYTES:
            raise invalid()
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            link = _decode(AESGCM(secret).decrypt(nonce, ciphertext, key.encode()))
        except InvalidTag:
            raise invalid() from None
        if link.expires_at.timestamp() <= self.clock():
            raise expired()
        return link

    async def close(self) -> None:
        await self._redis.aclose()
