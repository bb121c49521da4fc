"""Settings of the analytics service, read once from the environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from analyticbot.runtime.settings import ENV_PREFIX, CommonSettings

DEFAULT_GRPC_PORT = 50052


def _alias(name: str) -> AliasChoices:
    return AliasChoices(f"{ENV_PREFIX}ANALYTICS_{name}")


class AnalyticsSettings(CommonSettings):
    """CommonSettings plus what the analytics service needs.

    The port is ``ANALYTICBOT_ANALYTICS_GRPC_PORT``, named after the service, so that
    ``analyticbot run`` can give every service its own port from one environment.
    ``ANALYTICBOT_AUTH_ADDR`` (required) is where the key set comes from;
    ``ANALYTICBOT_SUPERADMINS`` (comma-separated user ids) and
    ``ANALYTICBOT_ANALYTICS_TRUSTED_SERVICES`` (comma-separated service names, default
    ``bot``) may read every channel. The Redis names are settings so that tests (and
    several deployments sharing one Redis) can keep theirs apart.
    """

    grpc_port: int = Field(
        default=DEFAULT_GRPC_PORT,
        ge=0,
        le=65535,
        validation_alias=AliasChoices(f"{ENV_PREFIX}ANALYTICS_GRPC_PORT", f"{ENV_PREFIX}GRPC_PORT"),
    )
    # Seconds a SIGTERM waits for in-flight RPCs before cancelling them.
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices(f"{ENV_PREFIX}ANALYTICS_SHUTDOWN_GRACE_SECONDS"),
    )
    auth_addr: str = Field(validation_alias=AliasChoices(f"{ENV_PREFIX}AUTH_ADDR"))
    superadmins: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias=AliasChoices(f"{ENV_PREFIX}SUPERADMINS")
    )
    trusted_services: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset({"bot"}), validation_alias=_alias("TRUSTED_SERVICES")
    )
    # The collector's stream and pub/sub topics (services/collector/events.py).
    ingest_stream: str = Field(default="ab:events:ingest", validation_alias=_alias("INGEST_STREAM"))
    channel_topic_prefix: str = Field(
        default="ab:events:channel:", validation_alias=_alias("CHANNEL_TOPIC_PREFIX")
    )
    # The consumer group reading the ingest stream, shared by every replica.
    consumer_group: str = Field(default="analytics", validation_alias=_alias("CONSUMER_GROUP"))
    # The durable stream of alerts the bot consumes.
    alerts_stream: str = Field(default="ab:alerts", validation_alias=_alias("ALERTS_STREAM"))
    cache_prefix: str = Field(
        default="ab:cache:analytics:", validation_alias=_alias("CACHE_PREFIX")
    )
    # Cached responses also expire on their own, in case an event was lost.
    cache_ttl_seconds: int = Field(default=300, gt=0, validation_alias=_alias("CACHE_TTL_SECONDS"))
    # How often "collection stalled" rules are checked (no event announces a stall).
    stall_check_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_alias("STALL_CHECK_SECONDS")
    )

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
