"""The gateway's settings: where it listens, its peers, the Mini App and the dev login.

Read once from ``ANALYTICBOT_*`` environment variables (see ``BaseServiceSettings``: the
gateway owns no tables, so it needs ``REDIS_URL`` but no ``DATABASE_URL``). Peers are
named ``<PEER>_ADDR`` (``ANALYTICBOT_AUTH_ADDR``, ``ANALYTICBOT_ANALYTICS_ADDR``).

Rate limits use the ``limits`` notation (``"120/minute"``, several joined by ``;``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import BaseServiceSettings
from gateway.ratelimit import parse_limits

REPO_ROOT = Path(__file__).resolve().parents[1]
# Telegram's rules for a bot's @username and a Mini App's short name (@BotFather).
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_APP_SHORT_NAME = re.compile(r"[A-Za-z0-9_]{3,30}")
_LIMITS = (
    "rate_limit_per_ip",
    "rate_limit_per_user",
    "rate_limit_auth_per_ip",
    "rate_limit_per_share_link",
    "rate_limit_share_exchange_per_ip",
    "rate_limit_share_exchange_per_link",
)


class GatewaySettings(BaseServiceSettings):
    """Settings of the HTTP gateway; production refuses the development login."""

    http_host: str = "0.0.0.0"  # noqa: S104 - the gateway is the public HTTP surface
    http_port: int = 8080
    analytics_addr: str
    auth_addr: str
    # Deadline of every gRPC call to a peer, in seconds.
    rpc_deadline_seconds: float = 5.0
    # Deadline of a whole CSV export stream, in seconds.
    export_deadline_seconds: float = 300.0
    # Export links (the URL Telegram's downloadFile fetches): how long one is valid, in
    # seconds (never beyond the access token it was made with), and the prefix of their
    # Redis keys.
    export_link_ttl_seconds: int = 300
    export_link_key_prefix: str = "analyticbot:export-link"
    # Live updates (WebSocket): time allowed for the first ("auth") message, the
    # heartbeat interval, and how often the caller's access is checked again.
    websocket_auth_timeout_seconds: float = 10.0
    websocket_heartbeat_seconds: float = 20.0
    websocket_access_recheck_seconds: float = 60.0
    # The built Mini App (``make miniapp``).
    miniapp_dir: Path = REPO_ROOT / "miniapp" / "dist"
    # The public origin, e.g. https://analytics.example.com; adds HSTS when https and
    # names the server in the OpenAPI document.
    public_url: str | None = None
    # Largest accepted request body, in bytes.
    max_body_bytes: int = 64 * 1024
    # Longest accepted query string (414 beyond it) and largest header block (431).
    max_query_bytes: int = 2048
    max_header_bytes: int = 16 * 1024
    # Rate limits: every API call per client IP, every authenticated call per user, and
    # the initData exchange (and dev login) per client IP.
    rate_limit_per_ip: str = "600/minute"
    rate_limit_per_user: str = "120/minute"
    rate_limit_auth_per_ip: str = "20/minute;200/hour"
    # Share links: every request made with a share token counts against its link (all
    # holders of a link share one budget); the exchange of a link's secret for a token is
    # strict per client IP and per link, and refused while Redis is down.
    rate_limit_per_share_link: str = "600/minute"
    rate_limit_share_exchange_per_ip: str = "10/minute;100/hour"
    rate_limit_share_exchange_per_link: str = "60/minute"
    # Prefix of the rate limit keys in Redis (tests use one per test).
    rate_limit_key_prefix: str = "analyticbot:ratelimit"
    # Redis connect/read timeout of the limiter, and how long to stop asking Redis after a
    # failure (reads pass, the auth exchange is refused meanwhile).
    rate_limit_redis_timeout_seconds: float = 0.25
    rate_limit_backoff_seconds: float = 5.0
    # Stale-if-error copies of the dashboard reads in Redis (served, marked
    # ``X-Cache: stale``, while analytics is unavailable) and how long one is kept; the
    # breaker opens after that many consecutive failures of analytics, for that long.
    stale_key_prefix: str = "analyticbot:stale"
    stale_ttl_seconds: int = 600
    # Identical dashboard reads in flight together share one analytics call (each
    # caller's access is still checked with auth first); false sends one call each.
    share_concurrent_reads: bool = True
    # While auth is unavailable, a user whom auth allowed on a channel within this many
    # seconds may still be answered from a stale copy (or a shared read) of that
    # channel's dashboard; 0 turns that off (docs/decisions.md).
    stale_access_seconds: float = 300.0
    # Auth's CheckAccess answers for users are remembered while auth's relay of grant
    # changes is heard (an ``alive`` within ``access_cache_stale_seconds``), and dropped
    # as soon as a change is heard (gateway/access_cache.py); false asks auth every time.
    access_cache: bool = True
    access_cache_stale_seconds: float = 3.0
    # Analytics' cached answers (closed periods) are kept in memory for up to
    # ``answer_memo_seconds`` while analytics' announcements are heard, and dropped as
    # soon as it announces it dropped them (gateway/answer_memo.py); false asks
    # analytics every time.
    answer_memo: bool = True
    answer_memo_seconds: float = 60.0
    breaker_threshold: int = 5
    breaker_open_seconds: float = 3.0
    # How many reverse proxies append to X-Forwarded-For in front of the gateway; 0 means
    # the header is ignored and the peer address is the client.
    trusted_proxy_count: int = 0
    # Development login: the gateway signs initData for dev_user_id with dev_bot_token so
    # the Mini App opens in an ordinary browser. Never in production.
    dev_login: bool = False
    dev_bot_token: SecretStr | None = None
    dev_user_id: int = 1_000_001
    # The bot's @username (without @) and the Mini App's short name registered with
    # @BotFather (the bot reads the same ANALYTICBOT_BOT_APP_SHORT_NAME). With both, an
    # invite comes with its t.me/<bot>/<app>?startapp=<payload> link.
    bot_username: str = ""
    bot_app_short_name: str = ""

    @model_validator(mode="after")
    def _check_dev_login(self) -> Self:
        if self.dev_login and not self.is_development:
            raise ConfigError(
                "ANALYTICBOT_DEV_LOGIN=true is refused outside development "
                "(ANALYTICBOT_ENV=development); it would let anyone log in"
            )
        if self.dev_login and not (self.dev_bot_token and self.dev_bot_token.get_secret_value()):
            raise ConfigError("ANALYTICBOT_DEV_LOGIN=true needs ANALYTICBOT_DEV_BOT_TOKEN")
        for name in (
            "rpc_deadline_seconds",
            "export_deadline_seconds",
            "export_link_ttl_seconds",
            "websocket_auth_timeout_seconds",
            "websocket_heartbeat_seconds",
            "websocket_access_recheck_seconds",
            "answer_memo_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ANALYTICBOT_{name.upper()} must be positive")
        if self.stale_access_seconds < 0:
            raise ConfigError("ANALYTICBOT_STALE_ACCESS_SECONDS must be 0 or more")
        if self.trusted_proxy_count < 0:
            raise ConfigError("ANALYTICBOT_TRUSTED_PROXY_COUNT must be 0 or more")
        if self.bot_username and not _BOT_USERNAME.fullmatch(self.bot_username):
            raise ConfigError("ANALYTICBOT_BOT_USERNAME must be a Telegram username without @")
        if self.bot_app_short_name and not _APP_SHORT_NAME.fullmatch(self.bot_app_short_name):
            raise ConfigError(
                "ANALYTICBOT_BOT_APP_SHORT_NAME must be 3-30 characters of A-Z, a-z, 0-9, _"
            )
        for name in _LIMITS:
            try:
                parse_limits(getattr(self, name))
            except ValueError:
                raise ConfigError(
                    f"ANALYTICBOT_{name.upper()} must be like '120/minute' or '20/minute;200/hour'"
                ) from None
        return self
