"""Share links without I/O: token format, subjects, lifetimes, who may manage them, and
the maximum lifetime setting."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import cast

import asyncpg
import pytest

from analyticbot.runtime.errors import (
    ConfigError,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)
from analyticbot.runtime.rbac import share_link_id
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.tokens import Principal, SigningKey, TokenSigner
from services.auth.config import AuthSettings
from services.auth.domain import ShareLinkRejected
from services.auth.main import build_service
from services.auth.share_links import (
    ShareLinkService,
    SharePolicy,
    hash_share_token,
)

# Nothing below reaches the database: every refusal happens before a connection is taken.
NO_POOL = cast(asyncpg.Pool, None)
USER = Principal(kind="access", subject="42", user_id=42)


@pytest.fixture
def links() -> ShareLinkService:
    signer = TokenSigner([SigningKey.generate()])
    return ShareLinkService(NO_POOL, signer, SharePolicy(max_link_ttl_seconds=3600))


def test_only_the_sha256_of_a_token_is_kept() -> None:
    token = "shr_" + "A" * 43
    assert hash_share_token(token) == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in hash_share_token(token)


@pytest.mark.parametrize(
    ("subject", "link_id"),
    [("share:1", 1), ("share:9007199254740993", 9007199254740993)],
)
def test_share_subject_names_the_link(subject: str, link_id: int) -> None:
    principal = Principal(kind="share", subject=subject, channel_id=7)
    assert share_link_id(principal) == link_id


@pytest.mark.parametrize(
    "subject",
    ["link", "share:", "share:-1", "share:1.0", "share: 1", "share:\uff11", "x:share:1",
     "share:" + "9" * 19],
)  # fmt: skip
def test_a_share_token_without_a_link_id_is_refused(subject: str) -> None:
    with pytest.raises(Unauthenticated, match="subject"):
        share_link_id(Principal(kind="share", subject=subject, channel_id=7))


def test_only_share_tokens_name_a_link() -> None:
    with pytest.raises(Unauthenticated):
        share_link_id(Principal(kind="access", subject="share:1", user_id=1))


@pytest.mark.parametrize(
    "token",
    ["", "shr_", "shr_" + "A" * 42, "shr_" + "A" * 44, "abr_" + "A" * 43, "shr_" + "A" * 42 + "=",
     "shr_" + "A" * 42 + "\n", " shr_" + "A" * 43],
)  # fmt: skip
async def test_malformed_tokens_are_refused_without_a_lookup(
    links: ShareLinkService, token: str
) -> None:
    with pytest.raises(ShareLinkRejected, match="malformed share link"):
        await links.exchange(token)


@pytest.mark.parametrize(
    "ttl", [timedelta(seconds=59), timedelta(0), timedelta(seconds=-5), timedelta(seconds=3601)]
)
async def test_a_lifetime_outside_one_minute_to_the_maximum_is_refused(
    links: ShareLinkService, ttl: timedelta
) -> None:
    with pytest.raises(InvalidArgument, match="between 60 and 3600 seconds"):
        await links.create(USER, 1, ttl)


@pytest.mark.parametrize(
    "principal",
    [
        Principal(kind="share", subject="share:1", channel_id=1),
        Principal(kind="service", subject="svc:gateway"),
    ],
)
async def test_only_users_manage_share_links(links: ShareLinkService, principal: Principal) -> None:
    with pytest.raises(PermissionDenied, match="user token"):
        await links.create(principal, 1, None)
    with pytest.raises(PermissionDenied, match="user token"):
        await links.list_links(principal, 1, include_inactive=False)
    with pytest.raises(PermissionDenied, match="user token"):
        await links.revoke(principal, 1)


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.setenv(name, f"{name.lower()}://unused")
    monkeypatch.setenv("ANALYTICBOT_ENV", "development")
    monkeypatch.setenv("ANALYTICBOT_BOT_TOKEN", "424242:AAE-config-test-token")
    monkeypatch.setenv("ANALYTICBOT_AUTH_KEYS_FILE", str(tmp_path / "auth.json"))


def test_maximum_link_lifetime_defaults_to_30_days(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path)
    settings = load_settings(AuthSettings)
    assert settings.share_link_max_ttl_seconds == 30 * 24 * 3600


async def test_maximum_link_lifetime_is_configurable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path)
    monkeypatch.setenv("ANALYTICBOT_SHARE_LINK_MAX_TTL_SECONDS", "7200")
    service = build_service(load_settings(AuthSettings), NO_POOL)
    with pytest.raises(InvalidArgument, match="between 60 and 7200 seconds"):
        await service.share_links.create(USER, 1, timedelta(hours=3))


def test_a_maximum_below_one_minute_stops_the_boot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path)
    monkeypatch.setenv("ANALYTICBOT_SHARE_LINK_MAX_TTL_SECONDS", "30")
    with pytest.raises(ConfigError, match="ANALYTICBOT_SHARE_LINK_MAX_TTL_SECONDS"):
        load_settings(AuthSettings)
