"""The auth service's signing key ring, from the environment or a key file.

Format (environment and file alike): ``{"keys": [{"kid": "...", "pem": "..."}]}``, PEM
PKCS#8 Ed25519 private keys. The first key signs; every key verifies, so rotation is:
prepend a new key, wait one access-token lifetime, drop the old one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.tokens import SigningKey
from services.auth.config import AuthSettings


def parse_key_ring(text: str, *, source: str) -> list[SigningKey]:
    """Keys from their JSON document; ``source`` names the variable or file in errors."""
    try:
        document = json.loads(text)
        entries = document["keys"]
        keys = [SigningKey.from_pem(str(e["kid"]), str(e["pem"])) for e in entries]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{source}: not a key ring of Ed25519 PEM keys") from None
    if not keys:
        raise ConfigError(f"{source}: the key ring is empty")
    if len({k.kid for k in keys}) != len(keys):
        raise ConfigError(f"{source}: two keys share a kid")
    return keys


def dump_key_ring(keys: list[SigningKey]) -> str:
    """The JSON document for ``keys`` (private: store it as a secret)."""
    return json.dumps({"keys": [{"kid": k.kid, "pem": k.to_pem()} for k in keys]})


def load_or_create_key_file(path: Path, *, create: bool) -> list[SigningKey]:
    """Read the key file; when missing and ``create``, write a fresh one (mode 0600).

    The ring is written to a private temporary file and hard-linked into place, which
    fails if the file appeared meanwhile: two processes starting together end with one
    complete key ring, and nobody reads a half-written file.
    """
    if not path.exists():
        if not create:
            raise ConfigError(f"ANALYTICBOT_AUTH_KEYS_FILE: {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(dump_key_ring([SigningKey.generate()]))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return parse_key_ring(path.read_text(), source=f"ANALYTICBOT_AUTH_KEYS_FILE ({path})")


def load_key_ring(settings: AuthSettings) -> list[SigningKey]:
    """The configured key ring; only development may create a key file."""
    if settings.auth_signing_keys is not None:
        return parse_key_ring(
            settings.auth_signing_keys.get_secret_value(), source="ANALYTICBOT_AUTH_SIGNING_KEYS"
        )
    if settings.auth_keys_file is None:
        raise ConfigError("ANALYTICBOT_AUTH_SIGNING_KEYS: required (or ANALYTICBOT_AUTH_KEYS_FILE)")
    return load_or_create_key_file(settings.auth_keys_file, create=settings.is_development)
