"""Settings of the analytics service, read once from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from analyticbot.runtime.settings import ENV_PREFIX, CommonSettings

DEFAULT_GRPC_PORT = 50052


class AnalyticsSettings(CommonSettings):
    """CommonSettings plus the port the analytics gRPC server binds.

    The port is ``ANALYTICBOT_ANALYTICS_GRPC_PORT``, named after the service, so that
    ``analyticbot run`` can give every service its own port from one environment.
    """

    grpc_port: int = Field(
        default=DEFAULT_GRPC_PORT,
        ge=0,
        le=65535,
        validation_alias=AliasChoices(f"{ENV_PREFIX}ANALYTICS_GRPC_PORT"),
    )
    # Seconds a SIGTERM waits for in-flight RPCs before cancelling them.
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices(f"{ENV_PREFIX}ANALYTICS_SHUTDOWN_GRACE_SECONDS"),
    )
