"""The gateway's settings: where it listens, its peers, the Mini App and the dev login.

Read once from ``ANALYTICBOT_*`` environment variables (see ``CommonSettings``). Peers
are named ``<PEER>_ADDR`` (``ANALYTICBOT_AUTH_ADDR``, ``ANALYTICBOT_ANALYTICS_ADDR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import CommonSettings

REPO_ROOT = Path(__file__).resolve().parents[1]


class GatewaySettings(CommonSettings):
    """Settings of the HTTP gateway; production refuses the development login."""

    http_host: str = "0.0.0.0"  # noqa: S104 - the gateway is the public HTTP surface
    http_port: int = 8080
    analytics_addr: str
    auth_addr: str
    # Deadline of every gRPC call to a peer, in seconds.
    rpc_deadline_seconds: float = 5.0
    # The built Mini App (``make miniapp``).
    miniapp_dir: Path = REPO_ROOT / "miniapp" / "dist"
    # The public origin, e.g. https://analytics.example.com; adds HSTS when https and
    # names the server in the OpenAPI document.
    public_url: str | None = None
    # Largest accepted request body, in bytes.
    max_body_bytes: int = 64 * 1024
    # Development login: the gateway signs initData for dev_user_id with dev_bot_token so
    # the Mini App opens in an ordinary browser. Never in production.
    dev_login: bool = False
    dev_bot_token: SecretStr | None = None
    dev_user_id: int = 1_000_001

    @model_validator(mode="after")
    def _check_dev_login(self) -> Self:
        if self.dev_login and not self.is_development:
            raise ConfigError(
                "ANALYTICBOT_DEV_LOGIN=true is refused outside development "
                "(ANALYTICBOT_ENV=development); it would let anyone log in"
            )
        if self.dev_login and not (self.dev_bot_token and self.dev_bot_token.get_secret_value()):
            raise ConfigError("ANALYTICBOT_DEV_LOGIN=true needs ANALYTICBOT_DEV_BOT_TOKEN")
        if self.rpc_deadline_seconds <= 0:
            raise ConfigError("ANALYTICBOT_RPC_DEADLINE_SECONDS must be positive")
        return self
