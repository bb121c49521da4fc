"""Settings of the bot, read once from ``ANALYTICBOT_*`` variables.

Required: ``ANALYTICBOT_BOT_TOKEN``, ``ANALYTICBOT_BOT_WEBAPP_URL`` (the Mini App's public
https URL), ``ANALYTICBOT_BOT_SERVICE_SECRET`` (this deployable's pre-shared secret, the
``bot=...`` entry of the auth service's ``ANALYTICBOT_SERVICE_SECRETS``), and in webhook
mode ``ANALYTICBOT_BOT_WEBHOOK_URL`` and ``ANALYTICBOT_BOT_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import ENV_PREFIX, CommonSettings

WEBHOOK_PATH = "/telegram/webhook"
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*(f"{ENV_PREFIX}{name}" for name in names))


def default_consumer_name() -> str:
    """Unique per process: a restarted bot is a new consumer and claims the old one's
    pending entries once they have been idle long enough."""
    return f"{socket.gethostname()}-{os.getpid()}"


class BotSettings(CommonSettings):
    """Everything the bot process reads from its environment."""

    bot_token: SecretStr
    webapp_url: str = Field(validation_alias=_env("BOT_WEBAPP_URL"))
    # Short name of the Mini App registered with @BotFather; when set, buttons that open
    # a specific chart use t.me/<bot>/<app>?startapp=..., which hands the target to the
    # Mini App inside signed initData (start_param).
    app_short_name: str = Field("", validation_alias=_env("BOT_APP_SHORT_NAME"))
    mode: Literal["polling", "webhook"] = Field("polling", validation_alias=_env("BOT_MODE"))
    webhook_url: str = Field("", validation_alias=_env("BOT_WEBHOOK_URL"))
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("BOT_WEBHOOK_SECRET"))
    webhook_host: str = Field("0.0.0.0", validation_alias=_env("BOT_WEBHOOK_HOST"))  # noqa: S104
    webhook_port: int = Field(8081, ge=0, le=65535, validation_alias=_env("BOT_WEBHOOK_PORT"))
    # A Bot API server other than api.telegram.org (a local Bot API server, or tests).
    telegram_api_url: str = Field("", validation_alias=_env("BOT_TELEGRAM_API_URL"))
    service_name: str = Field("bot", validation_alias=_env("BOT_SERVICE_NAME"))
    service_secret: SecretStr = Field(validation_alias=_env("BOT_SERVICE_SECRET"))
    auth_addr: str = Field("127.0.0.1:50053", validation_alias=_env("AUTH_ADDR"))
    collector_addr: str = Field("127.0.0.1:50051", validation_alias=_env("COLLECTOR_ADDR"))
    analytics_addr: str = Field("127.0.0.1:50052", validation_alias=_env("ANALYTICS_ADDR"))
    grpc_deadline_seconds: float = Field(10.0, gt=0, validation_alias=_env("BOT_GRPC_DEADLINE"))
    alerts_stream: str = Field("ab:alerts", validation_alias=_env("BOT_ALERTS_STREAM"))
    alerts_group: str = Field("bot", validation_alias=_env("BOT_ALERTS_GROUP"))
    consumer_name: str = Field(
        default_factory=default_consumer_name, validation_alias=_env("BOT_CONSUMER_NAME")
    )
    # Pending entries idle this long belong to a dead consumer and are claimed.
    claim_idle_seconds: float = Field(60.0, gt=0, validation_alias=_env("BOT_CLAIM_IDLE_SECONDS"))
    # Telegram's limits: at most global_limit messages in any limit_period, and one
    # message per chat_interval to one chat. Lowering the first or raising the others is
    # always safe; development may shorten both periods (tests run limits scaled down).
    global_limit: int = Field(30, ge=1, le=30, validation_alias=_env("BOT_GLOBAL_LIMIT"))
    limit_period_seconds: float = Field(
        1.0, gt=0, validation_alias=_env("BOT_LIMIT_PERIOD_SECONDS")
    )
    chat_interval_seconds: float = Field(
        1.0, gt=0, validation_alias=_env("BOT_CHAT_INTERVAL_SECONDS")
    )
    admin_resync_seconds: float = Field(
        3600.0, gt=0, validation_alias=_env("BOT_ADMIN_RESYNC_SECONDS")
    )
    digest_check_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("BOT_DIGEST_CHECK_SECONDS")
    )

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> BotSettings:
        if self.mode != "webhook":
            return self
        if not self.webhook_url.startswith("https://"):
            raise ConfigError(
                f"{ENV_PREFIX}BOT_WEBHOOK_URL: an https URL is required in webhook mode"
            )
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not _SECRET_TOKEN.match(secret):
            raise ConfigError(
                f"{ENV_PREFIX}BOT_WEBHOOK_SECRET: required in webhook mode, 16-256 characters "
                "of A-Z, a-z, 0-9, _ and -"
            )
        return self

    @model_validator(mode="after")
    def _limits_only_scaled_in_development(self) -> BotSettings:
        scaled = self.limit_period_seconds < 1.0 or self.chat_interval_seconds < 1.0
        if scaled and not self.is_development:
            raise ConfigError(
                f"{ENV_PREFIX}BOT_LIMIT_PERIOD_SECONDS / {ENV_PREFIX}BOT_CHAT_INTERVAL_SECONDS: "
                "below 1 second only in development (Telegram allows 30/s and 1/s per chat)"
            )
        return self

    @model_validator(mode="after")
    def _webapp_is_https(self) -> BotSettings:
        if not self.webapp_url.startswith("https://") and not self.is_development:
            raise ConfigError(f"{ENV_PREFIX}BOT_WEBAPP_URL: Telegram opens only https Mini Apps")
        return self

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter."""
        values = [
            self.database_url.get_secret_value(),
            self.redis_url.get_secret_value(),
            self.bot_token.get_secret_value(),
            self.service_secret.get_secret_value(),
        ]
        if self.webhook_secret is not None:
            values.append(self.webhook_secret.get_secret_value())
        return values
