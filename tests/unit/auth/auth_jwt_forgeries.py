"""Forged and invalid access tokens, each of which every verifier must reject.

Shared by the unit suite (TokenVerifier) and the gRPC suite (UNAUTHENTICATED).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from analyticbot.runtime.tokens import AUDIENCE, ISSUER, SigningKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims(user_id: int, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token for ``user_id``, with ``overrides`` (None drops)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "forged",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(key: SigningKey, body: dict[str, Any], **headers: Any) -> str:
    """Properly EdDSA-signed with ``key`` (the flaw is elsewhere)."""
    return jwt.encode(body, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **headers})


def _hs256(secret: bytes, header: dict[str, Any], body: dict[str, Any]) -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(body).encode())
    mac = hmac.new(secret, head.encode(), hashlib.sha256).digest()
    return head + "." + _b64(mac)


def _public_pem(key: SigningKey) -> bytes:
    return key.private_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )


def _public_raw(key: SigningKey) -> bytes:
    return key.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _alg_none(key: SigningKey, user_id: int) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode())
    return f"{header}.{_b64(json.dumps(claims(user_id)).encode())}."


def _tampered(key: SigningKey, user_id: int) -> str:
    head, _, signature = signed(key, claims(user_id)).split(".")
    other = _b64(json.dumps(claims(user_id + 1)).encode())
    return f"{head}.{other}.{signature}"


def _embedded_jwk(key: SigningKey, user_id: int) -> str:
    attacker = SigningKey.generate()
    return signed(attacker, claims(user_id), jwk=attacker.public_jwk())


# name -> how to forge a token claiming ``user_id`` against a ring holding ``key``.
FORGERIES: dict[str, Callable[[SigningKey, int], str]] = {
    "alg none": _alg_none,
    "HS256 with the PEM public key as secret": lambda k, u: _hs256(
        _public_pem(k), {"alg": "HS256", "typ": "JWT", "kid": k.kid}, claims(u)
    ),
    "HS256 with the raw public key as secret": lambda k, u: _hs256(
        _public_raw(k), {"alg": "HS256", "typ": "JWT", "kid": k.kid}, claims(u)
    ),
    "expired": lambda k, u: signed(k, claims(u, exp=int(time.time()) - 60)),
    "not yet valid": lambda k, u: signed(k, claims(u, nbf=int(time.time()) + 600)),
    "wrong audience": lambda k, u: signed(k, claims(u, aud="someone-else")),
    "wrong issuer": lambda k, u: signed(k, claims(u, iss="evil-auth")),
    "unknown kid": lambda k, u: signed(SigningKey.generate(), claims(u)),
    "right key, unknown kid": lambda k, u: jwt.encode(
        claims(u), k.private_key, algorithm="EdDSA", headers={"kid": "not-" + k.kid}
    ),
    "unknown crit header": lambda k, u: signed(k, claims(u), crit=["exp2"], exp2=1),
    "tampered payload": _tampered,
    "attacker key embedded as jwk header": _embedded_jwk,
    "missing exp": lambda k, u: signed(k, claims(u, exp=None)),
    "missing typ": lambda k, u: signed(k, claims(u, typ=None)),
    "non-numeric subject": lambda k, u: signed(k, claims(u, sub="admin")),
    "garbage": lambda k, u: "not.a.token",
}
