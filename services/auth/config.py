"""Settings of the auth service, read once from ``ANALYTICBOT_*`` variables.

- initData: ``ANALYTICBOT_INITDATA_METHOD`` ``hmac`` (default; needs
  ``ANALYTICBOT_BOT_TOKEN``, or in development ``ANALYTICBOT_DEV_BOT_TOKEN``) or
  ``ed25519`` (needs only ``ANALYTICBOT_BOT_ID``; ``ANALYTICBOT_TELEGRAM_TEST_ENV=true``
  selects Telegram's test-environment key).
- Signing keys: ``ANALYTICBOT_AUTH_SIGNING_KEYS`` (JSON ``{"keys": [{"kid", "pem"}]}``,
  the first signs, all verify) or ``ANALYTICBOT_AUTH_KEYS_FILE`` (same format; in
  development it is created when missing so restarts keep tokens valid).
- ``ANALYTICBOT_SUPERADMINS``: comma-separated Telegram user ids.
- ``ANALYTICBOT_SERVICE_SECRETS``: ``name=secret,...``, one pre-shared secret per
  deployable that may ask for a service token.
- ``ANALYTICBOT_SHARE_LINK_MAX_TTL_SECONDS``: the longest a share link may live (default
  30 days, at least 1 minute).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import CommonSettings

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MIN_SERVICE_SECRET_LENGTH = 32


class AuthSettings(CommonSettings):
    """Everything the auth service reads from its environment."""

    # The gRPC port; named after the service so `analyticbot run` can set every port at once.
    grpc_port: int = Field(
        default=50053, ge=0, le=65535, validation_alias=AliasChoices("ANALYTICBOT_AUTH_GRPC_PORT")
    )
    bot_token: SecretStr | None = None
    dev_bot_token: SecretStr | None = None
    bot_id: int | None = None
    initdata_method: Literal["hmac", "ed25519"] = "hmac"
    telegram_test_env: bool = False
    initdata_max_age_seconds: int = Field(default=3600, gt=0)
    initdata_future_skew_seconds: int = Field(default=30, ge=0, le=300)
    auth_signing_keys: SecretStr | None = None
    auth_keys_file: Path | None = None
    access_ttl_seconds: int = Field(default=900, gt=0, le=3600)
    refresh_ttl_seconds: int = Field(default=30 * 24 * 3600, gt=0)
    service_token_ttl_seconds: int = Field(default=600, gt=0, le=3600)
    share_link_max_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    superadmins: Annotated[frozenset[int], NoDecode] = frozenset()
    service_secrets: SecretStr | None = None

    @field_validator("superadmins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.split(",") if part.strip())
        return value

    def effective_bot_token(self) -> str | None:
        """The bot token for the HMAC path: the real one, else (development only) the
        development login's token."""
        if self.bot_token is not None:
            return self.bot_token.get_secret_value()
        if self.is_development and self.dev_bot_token is not None:
            return self.dev_bot_token.get_secret_value()
        return None

    def effective_bot_id(self) -> int | None:
        """The bot id, given or taken from the token's ``<id>:`` prefix."""
        if self.bot_id is not None:
            return self.bot_id
        token = self.effective_bot_token()
        head = token.split(":", 1)[0] if token else ""
        return int(head) if head.isascii() and head.isdigit() else None

    def service_secret_digests(self) -> dict[str, bytes]:
        """SHA-256 of each service's pre-shared secret, by service name."""
        if self.service_secrets is None:
            return {}
        digests: dict[str, bytes] = {}
        for entry in self.service_secrets.get_secret_value().split(","):
            if not entry.strip():
                continue
            name, sep, secret = entry.strip().partition("=")
            if not sep or not _SERVICE_NAME.match(name):
                raise ConfigError("ANALYTICBOT_SERVICE_SECRETS: entries are name=secret")
            if len(secret) < MIN_SERVICE_SECRET_LENGTH:
                raise ConfigError(
                    f"ANALYTICBOT_SERVICE_SECRETS: the secret of {name} is shorter than "
                    f"{MIN_SERVICE_SECRET_LENGTH} characters"
                )
            if name in digests:
                raise ConfigError(f"ANALYTICBOT_SERVICE_SECRETS: {name} appears twice")
            digests[name] = hashlib.sha256(secret.encode()).digest()
        return digests

    def check(self) -> None:
        """Refuse combinations that must not run; raises ConfigError naming variables."""
        if not self.is_development and self.dev_bot_token is not None:
            raise ConfigError(
                "ANALYTICBOT_DEV_BOT_TOKEN: the development login is not allowed in production"
            )
        if self.initdata_method == "hmac" and self.effective_bot_token() is None:
            raise ConfigError("ANALYTICBOT_BOT_TOKEN: required for initdata_method=hmac")
        if self.initdata_method == "ed25519" and self.effective_bot_id() is None:
            raise ConfigError("ANALYTICBOT_BOT_ID: required for initdata_method=ed25519")
        if self.auth_signing_keys is None and self.auth_keys_file is None:
            raise ConfigError(
                "ANALYTICBOT_AUTH_SIGNING_KEYS: required (or ANALYTICBOT_AUTH_KEYS_FILE)"
            )
        self.service_secret_digests()
