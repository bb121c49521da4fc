"""Telegram Mini App initData: signing with a bot token (HMAC-SHA256).

See core.telegram.org/bots/webapps, "Validating data received via the Mini App". The
secret key is HMAC-SHA256 with key ``WebAppData`` over the bot token; the hash is
HMAC-SHA256 with that secret over the data-check string: every field but ``hash``,
``key=value``, sorted by key, joined by newlines.

Signing is used by tests and by the gateway's development login; validation lives in
the auth service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def hmac_hash(fields: Mapping[str, str], bot_token: str) -> str:
    message = data_check_string(fields).encode()
    return hmac.new(secret_key(bot_token), message, hashlib.sha256).hexdigest()


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """A URL-encoded initData string for ``fields`` (values as Telegram sends them,
    e.g. ``user`` as JSON text) with a valid ``hash``."""
    signed = dict(fields)
    signed["hash"] = hmac_hash(fields, bot_token)
    return urlencode(signed)
