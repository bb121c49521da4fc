"""Collector settings, read once from the environment.

Shared settings come from ``CommonSettings`` (``ANALYTICBOT_ENV``, ``DATABASE_URL``,
``REDIS_URL``, ...). Collector-specific ones use the ``ANALYTICBOT_COLLECTOR_`` prefix,
for example ``ANALYTICBOT_COLLECTOR_SOURCE=simulator``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

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

    @model_validator(mode="after")
    def _production_uses_telegram(self) -> CollectorSettings:
        if self.source == "simulator" and not self.is_development:
            raise ConfigError(
                f"{PREFIX}SOURCE=simulator is for development only: set "
                f"{PREFIX}SOURCE=telegram in production, or ANALYTICBOT_ENV=development"
            )
        return self


def load_collector_settings() -> CollectorSettings:
    """Read the collector's settings; raises ConfigError naming any bad variable."""
    return load_settings(CollectorSettings)
