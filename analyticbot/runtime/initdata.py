"""Telegram Mini App initData: signing (tests, development login) and validation.

See core.telegram.org/bots/webapps, "Validating data received via the Mini App" and
"Validating data for third-party use".

- HMAC path (needs the bot token): secret = HMAC-SHA256(key ``WebAppData``, bot token);
  hash = hex HMAC-SHA256(secret, check string) where the check string is every received
  field but ``hash`` (``signature`` stays in), ``key=value``, sorted by key, joined by
  newlines.
- Ed25519 path (needs only the bot id): Telegram signs ``"<bot_id>:WebAppData\\n"`` plus
  the check string of every field but ``hash`` and ``signature``; the ``signature``
  field is base64url. Telegram publishes one public key for production and one for its
  test environment.

Validation decodes each key and value exactly once and hashes the values as received
(the ``user`` JSON text is never re-serialised), rejects duplicate keys, and bounds
``auth_date`` on both sides.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from analyticbot.runtime.errors import InvalidArgument, Unauthenticated

# Telegram's Ed25519 keys for third-party validation (core.telegram.org/bots/webapps).
PRODUCTION_PUBLIC_KEY_HEX = "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d"
TEST_PUBLIC_KEY_HEX = "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec"

DEFAULT_MAX_AGE_SECONDS = 3600
DEFAULT_FUTURE_SKEW_SECONDS = 30
# Real initData is well under 4 KiB; anything far larger is not from Telegram.
MAX_INIT_DATA_LENGTH = 16 * 1024
_MAX_FIELDS = 64

Method = Literal["hmac", "ed25519"]


class MalformedInitData(InvalidArgument):
    """initData is not a well-formed query string of Telegram's shape."""


class InvalidInitData(Unauthenticated):
    """initData is well formed but not signed by Telegram for us, or not fresh."""


# --- signing ---------------------------------------------------------------------------


def secret_key(bot_token: str) -> bytes:
    """The HMAC key derived from a bot token."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: Mapping[str, str]) -> str:
    """The HMAC check string: every field but ``hash``, sorted, ``key=value`` lines."""
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def ed25519_check_string(fields: Mapping[str, str], bot_id: int) -> str:
    """The third-party check string: bot id header, then every field but ``hash`` and
    ``signature``, sorted, ``key=value`` lines."""
    body = "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("hash", "signature"))
    return f"{bot_id}:WebAppData\n{body}"


def hmac_hash(fields: Mapping[str, str], bot_token: str) -> str:
    """The hex ``hash`` Telegram would send for ``fields`` and this bot token."""
    message = data_check_string(fields).encode()
    return hmac.new(secret_key(bot_token), message, hashlib.sha256).hexdigest()


def ed25519_signature(fields: Mapping[str, str], bot_id: int, key: Ed25519PrivateKey) -> str:
    """The unpadded base64url ``signature`` for ``fields`` (Telegram's side; tests)."""
    raw = key.sign(ed25519_check_string(fields, bot_id).encode())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """A URL-encoded initData string for ``fields`` (values as Telegram sends them,
    e.g. ``user`` as JSON text) with a valid ``hash``."""
    signed = dict(fields)
    signed["hash"] = hmac_hash(fields, bot_token)
    return urlencode(signed)


def telegram_public_key(*, test_environment: bool = False) -> Ed25519PublicKey:
    """Telegram's published Ed25519 key for production or for its test environment."""
    hex_key = TEST_PUBLIC_KEY_HEX if test_environment else PRODUCTION_PUBLIC_KEY_HEX
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(hex_key))


# --- validation ------------------------------------------------------------------------


def parse_init_data(raw: str) -> dict[str, str]:
    """Decode ``raw`` once into fields; malformed strings and duplicate keys are errors."""
    if not raw:
        raise MalformedInitData("initData is empty")
    if len(raw) > MAX_INIT_DATA_LENGTH:
        raise MalformedInitData("initData is too long")
    try:
        pairs = parse_qsl(
            raw,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        raise MalformedInitData("initData is not a valid query string") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise MalformedInitData(f"initData repeats the field {key!r}")
        fields[key] = value
    return fields


@dataclass(frozen=True)
class InitData:
    """A validated launch: its fields as received, and the parsed parts we use."""

    fields: Mapping[str, str]
    auth_date: datetime
    method: Method
    user: Mapping[str, Any] | None

    @property
    def start_param(self) -> str:
        return self.fields.get("start_param", "")

    @property
    def query_id(self) -> str:
        return self.fields.get("query_id", "")


class InitDataValidator:
    """Validates initData for one bot, by HMAC (bot token) or Ed25519 (bot id only)."""

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        bot_id: int | None = None,
        public_key: Ed25519PublicKey | None = None,
        max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
        future_skew_seconds: int = DEFAULT_FUTURE_SKEW_SECONDS,
    ) -> None:
        """With ``bot_token`` the HMAC path is used; otherwise ``bot_id`` and
        ``public_key`` (Telegram's, see ``telegram_public_key``) are required."""
        if bot_token is None and (bot_id is None or public_key is None):
            raise ValueError("initData validation needs a bot token, or a bot id and a key")
        if max_age_seconds <= 0 or future_skew_seconds < 0:
            raise ValueError("max age must be positive and the skew not negative")
        self._secret = secret_key(bot_token) if bot_token is not None else None
        self._bot_id = bot_id
        self._public_key = public_key
        self._max_age = max_age_seconds
        self._skew = future_skew_seconds

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        """The Ed25519 key of the third-party path, None on the HMAC path."""
        return self._public_key

    @property
    def method(self) -> Method:
        return "hmac" if self._secret is not None else "ed25519"

    def validate(self, raw: str, *, now: float | None = None) -> InitData:
        """Return the validated launch, or raise MalformedInitData / InvalidInitData
        naming the rule that failed."""
        fields = parse_init_data(raw)
        auth_date = _auth_date(fields)
        if self._secret is not None:
            self._check_hmac(fields, self._secret)
        else:
            self._check_ed25519(fields)
        current = time.time() if now is None else now
        if auth_date > current + self._skew:
            raise InvalidInitData("initData auth_date is in the future")
        if current - auth_date > self._max_age:
            raise InvalidInitData(f"initData is older than {self._max_age} seconds")
        return InitData(
            fields=fields,
            auth_date=datetime.fromtimestamp(auth_date, UTC),
            method=self.method,
            user=_json_object(fields, "user"),
        )

    @staticmethod
    def _check_hmac(fields: Mapping[str, str], secret: bytes) -> None:
        received = fields.get("hash")
        if not received:
            raise InvalidInitData("initData has no hash")
        expected = hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), received):
            raise InvalidInitData("initData hash does not match")

    def _check_ed25519(self, fields: Mapping[str, str]) -> None:
        assert self._bot_id is not None
        assert self._public_key is not None
        received = fields.get("signature")
        if not received:
            raise InvalidInitData("initData has no signature")
        try:
            padded = received + "=" * (-len(received) % 4)
            signature = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInitData("initData signature is not base64url") from None
        if len(signature) != 64:
            raise InvalidInitData("initData signature is not an Ed25519 signature")
        message = ed25519_check_string(fields, self._bot_id).encode()
        try:
            self._public_key.verify(signature, message)
        except InvalidSignature:
            raise InvalidInitData("initData signature does not verify") from None


def _auth_date(fields: Mapping[str, str]) -> int:
    text = fields.get("auth_date")
    if text is None:
        raise MalformedInitData("initData has no auth_date")
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise MalformedInitData("initData auth_date is not a unix time")
    return int(text)


def _json_object(fields: Mapping[str, str], name: str) -> Mapping[str, Any] | None:
    text = fields.get(name)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedInitData(f"initData {name} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedInitData(f"initData {name} is not a JSON object")
    return value
