"""MTProto sessions and proxies encrypted at rest with AES-256-GCM.

The key comes from ``ANALYTICBOT_SESSION_KEY`` (32 bytes, URL-safe base64; make one
with ``analyticbot mtproto keygen``). Each sealed value is ``version || nonce ||
ciphertext+tag`` and is bound to its account label as associated data, so a box copied
onto another account's row does not open. Plaintexts never reach a log.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from analyticbot.runtime.errors import ConfigError

KEY_VARIABLE = "ANALYTICBOT_SESSION_KEY"
_VERSION = b"\x01"
_NONCE = 12


class SessionKeyError(Exception):
    """A sealed value does not open with this key (wrong key, or tampered)."""


def generate_key() -> str:
    """A new random key in the form ``ANALYTICBOT_SESSION_KEY`` expects."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


@dataclass(frozen=True, repr=False)
class SessionBox:
    """Seals and opens account secrets under one AES-256-GCM key."""

    key: bytes

    @classmethod
    def from_text(cls, text: str) -> SessionBox:
        """The box of a key given as URL-safe base64; ConfigError if it is not 32 bytes."""
        try:
            key = base64.urlsafe_b64decode(text.strip().encode())
        except (binascii.Error, ValueError):
            raise ConfigError(f"{KEY_VARIABLE} is not URL-safe base64") from None
        if len(key) != 32:
            raise ConfigError(f"{KEY_VARIABLE} must encode 32 bytes (AES-256)")
        return cls(key)

    def seal(self, plaintext: str, label: str) -> bytes:
        """Encrypt ``plaintext`` for the account ``label``."""
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode(), label.encode())
        return _VERSION + nonce + sealed

    def open(self, box: bytes, label: str) -> str:
        """Decrypt a value sealed for ``label``; SessionKeyError if it does not open."""
        if len(box) < 1 + _NONCE + 16 or box[:1] != _VERSION:
            raise SessionKeyError(f"account {label}: not a sealed value of this version")
        nonce, sealed = box[1 : 1 + _NONCE], box[1 + _NONCE :]
        try:
            return AESGCM(self.key).decrypt(nonce, sealed, label.encode()).decode()
        except InvalidTag:
            raise SessionKeyError(f"account {label}: wrong session key or tampered") from None

    def __repr__(self) -> str:
        return "SessionBox(key=<hidden>)"


def telethon_proxy(url: str) -> dict[str, object]:
    """Telethon's ``proxy`` argument for ``socks5://``, ``socks4://`` or ``http://``
    URLs (user and password optional)."""
    parts = urlsplit(url)
    if parts.scheme not in {"socks5", "socks4", "http"} or not parts.hostname or not parts.port:
        raise ValueError("proxy must look like socks5://[user:password@]host:port")
    proxy: dict[str, object] = {
        "proxy_type": parts.scheme,
        "addr": parts.hostname,
        "port": parts.port,
        "rdns": True,
    }
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    return proxy
