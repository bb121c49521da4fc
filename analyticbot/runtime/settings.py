"""Settings shared by every deployable, read once from the environment.

Every variable is prefixed ``ANALYTICBOT_`` except the two connection URLs, which use
the names every tool already knows (``DATABASE_URL``, ``REDIS_URL``).
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from analyticbot.runtime.errors import ConfigError

Environment = Literal["development", "production"]
ENV_PREFIX = "ANALYTICBOT_"


class BaseServiceSettings(BaseSettings):
    """What every process needs but a database: Redis, the environment, logging, metrics."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    env: Environment = "production"
    redis_url: SecretStr = Field(
        validation_alias=AliasChoices("REDIS_URL", f"{ENV_PREFIX}REDIS_URL")
    )
    log_level: str = "INFO"
    # Port of the Prometheus /metrics endpoint of a gRPC service; 0 picks a free port.
    metrics_port: int = 0
    # OTLP/gRPC collector for traces (``http://otel-collector:4317``); unset, the standard
    # OTEL_EXPORTER_OTLP_ENDPOINT applies, and with neither no span leaves the process.
    otlp_endpoint: str | None = None
    # Redis pub/sub topic on which auth relays grant changes to the gateways
    # (services/auth/grant_relay.py, gateway/access_cache.py).
    grants_topic: str = "ab:grants:changed"
    # Redis pub/sub topic on which analytics announces the channels whose cached answers
    # it dropped (services/analytics/cache.py, gateway/answer_memo.py).
    answers_topic: str = "ab:answers:changed"
    # Put in front of every Redis key, stream and topic the product uses (``<ns>:name``),
    # so that several deployments, or test stacks, can share one Redis without reading
    # one another's caches, events or announcements. Empty: the names as documented.
    redis_namespace: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$")

    def redis_name(self, name: str) -> str:
        """``name`` inside this deployment's Redis namespace."""
        return f"{self.redis_namespace}:{name}" if self.redis_namespace else name

    @property
    def is_development(self) -> bool:
        return self.env == "development"


class CommonSettings(BaseServiceSettings):
    """What every process that owns tables needs: the base plus PostgreSQL."""

    database_url: SecretStr = Field(
        validation_alias=AliasChoices("DATABASE_URL", f"{ENV_PREFIX}DATABASE_URL")
    )
    db_pool_min: int = 1
    db_pool_max: int = 10
    # How long a role read from grants may be served from memory at most; a change ends
    # it sooner, announced by PostgreSQL (analyticbot/runtime/grant_cache.py). 0: read
    # every role from the database.
    grant_cache_seconds: float = Field(default=60.0, ge=0)


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Read ``cls`` from the environment; a missing or bad value raises ConfigError
    naming the environment variables, never their values."""
    try:
        return cls()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(part) for part in err["loc"])
            variable = _variable_name(cls, field)
            problems.append(f"{variable}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None


def _variable_name(cls: type[BaseSettings], field: str) -> str:
    info = cls.model_fields.get(field)
    if info is None:
        # pydantic names a field read through an alias by that alias: the variable itself.
        return field
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()
