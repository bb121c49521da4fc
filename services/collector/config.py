"""Collector settings, read once from the environment.

Shared settings come from ``CommonSettings`` (``ANALYTICBOT_ENV``, ``DATABASE_URL``,
``REDIS_URL``, ...). Collector-specific ones use the ``ANALYTICBOT_COLLECTOR_`` prefix,
for example ``ANALYTICBOT_COLLECTOR_SOURCE=simulator``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import CommonSettings, load_settings

PREFIX = "ANALYTICBOT_COLLECTOR_"


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"{PREFIX}{name.upper()}", name)


class CollectorSettings(CommonSettings):
    """Everything the collector process needs."""

    model_config = SettingsConfigDict(populate_by_name=True)

    grpc_port: int = Field(50051, ge=0, le=65535, validation_alias=_env("grpc_port"))
    # Where channels come from: the Telethon adapter or the deterministic simulator.
    source: Literal["simulator", "telegram"] = Field("simulator", validation_alias=_env("source"))
    # Simulated channels tracked at startup (source=simulator).
    simulator_channels: int = Field(3, ge=0, le=1000, validation_alias=_env("simulator_channels"))
    simulator_seed: int = Field(20240101, validation_alias=_env("simulator_seed"))
    # How many times faster than real time simulated time runs until it catches up.
    simulator_speed: float = Field(3600.0, ge=1.0, validation_alias=_env("simulator_speed"))
    # Days of simulated past the collector lives through (and backfills before that).
    simulator_history_days: int = Field(
        14, ge=0, le=365, validation_alias=_env("simulator_history_days")
    )
    # Channels run at once by this replica's scheduler.
    concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("concurrency"))

    # The auth service whose key set verifies every caller's token.
    auth_addr: str = Field(validation_alias=AliasChoices("ANALYTICBOT_AUTH_ADDR"))
    # Telegram user ids allowed everything (comma-separated).
    superadmins: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(), validation_alias=AliasChoices("ANALYTICBOT_SUPERADMINS")
    )
    # Services whose tokens may track and pause channels (comma-separated).
    trusted_services: Annotated[frozenset[str], NoDecode] = Field(
        frozenset({"bot", "gateway"}), validation_alias=_env("trusted_services")
    )

    # MTProto (source=telegram): the application's credentials from my.telegram.org and
    # the key sealing account sessions at rest.
    telegram_api_id: int | None = Field(
        None, validation_alias=AliasChoices("ANALYTICBOT_TELEGRAM_API_ID")
    )
    telegram_api_hash: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANALYTICBOT_TELEGRAM_API_HASH")
    )
    session_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANALYTICBOT_SESSION_KEY")
    )
    # Accounts one replica holds at once, and how long a lease lasts without renewal.
    max_accounts: int = Field(4, ge=1, le=100, validation_alias=_env("max_accounts"))
    account_lease_seconds: float = Field(60.0, ge=5, validation_alias=_env("account_lease_seconds"))
    # Requests per second: per account, and for the whole replica.
    account_rate: float = Field(3.0, gt=0, validation_alias=_env("account_rate"))
    global_rate: float = Field(20.0, gt=0, validation_alias=_env("global_rate"))
    # Longest a scheduled Telegram call may wait for an account (FloodWait, rates).
    call_deadline_seconds: float = Field(30.0, gt=0, validation_alias=_env("call_deadline_seconds"))

    @field_validator("superadmins", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_services", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _production_uses_telegram(self) -> CollectorSettings:
        if self.source == "simulator" and not self.is_development:
            raise ConfigError(
                f"{PREFIX}SOURCE=simulator is for development only: set "
                f"{PREFIX}SOURCE=telegram in production, or ANALYTICBOT_ENV=development"
            )
        if self.source == "telegram":
            missing = [
                name
                for name, value in (
                    ("ANALYTICBOT_TELEGRAM_API_ID", self.telegram_api_id),
                    ("ANALYTICBOT_TELEGRAM_API_HASH", self.telegram_api_hash),
                    ("ANALYTICBOT_SESSION_KEY", self.session_key),
                )
                if value is None
            ]
            if missing:
                raise ConfigError(f"{PREFIX}SOURCE=telegram needs " + ", ".join(missing))
        return self


def load_collector_settings() -> CollectorSettings:
    """Read the collector's settings; raises ConfigError naming any bad variable."""
    return load_settings(CollectorSettings)
