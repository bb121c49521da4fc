"""Members, invites and share links: proto → API models, the links handed out, the
settings that shape them, and which token kinds the key ring accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from gateway.api import team_mapping
from gateway.config import GatewaySettings
from gateway.errors import APIError
from gateway.keys import USER_OR_SHARE, KeyRing

NOW = datetime(2025, 3, 8, 12, tzinfo=UTC)
BASE: dict[str, Any] = {
    "redis_url": "redis://localhost/0",
    "auth_addr": "auth:50051",
    "analytics_addr": "analytics:50051",
}


def member(role: auth_pb2.Role, source: auth_pb2.GrantSource) -> auth_pb2.Member:
    message = auth_pb2.Member(user_id=7, first_name="Ann", role=role, source=source)
    message.granted_at.FromDatetime(NOW)
    return message


@pytest.mark.parametrize(
    ("role", "source", "revocable"),
    [
        (auth_pb2.ROLE_VIEWER, auth_pb2.GRANT_SOURCE_INVITE, True),
        (auth_pb2.ROLE_ANALYST, auth_pb2.GRANT_SOURCE_MANUAL, True),
        (auth_pb2.ROLE_ANALYST, auth_pb2.GRANT_SOURCE_TELEGRAM, False),
        (auth_pb2.ROLE_ADMIN, auth_pb2.GRANT_SOURCE_INVITE, False),
        (auth_pb2.ROLE_OWNER, auth_pb2.GRANT_SOURCE_TELEGRAM, False),
    ],
)
def test_members_are_revocable_as_auth_allows(
    role: auth_pb2.Role, source: auth_pb2.GrantSource, revocable: bool
) -> None:
    assert team_mapping.member(member(role, source)).revocable is revocable


def test_member_values_are_lower_snake_and_unknown_source_is_null() -> None:
    mapped = team_mapping.member(member(auth_pb2.ROLE_VIEWER, auth_pb2.GRANT_SOURCE_INVITE))
    assert (mapped.role, mapped.source, mapped.granted_at) == ("viewer", "invite", NOW)
    unknown = team_mapping.member(member(auth_pb2.ROLE_VIEWER, 99))  # type: ignore[arg-type]
    assert unknown.source is None


def share_link(*, expires: timedelta, revoked: bool = False) -> auth_pb2.ShareLink:
    message = auth_pb2.ShareLink(link_id=4, channel_id=-100, created_by=0)
    message.created_at.FromDatetime(NOW - timedelta(days=1))
    message.expires_at.FromDatetime(NOW + expires)
    if revoked:
        message.revoked_at.FromDatetime(NOW - timedelta(hours=1))
    return message


def test_share_link_status_revoked_wins_over_expired() -> None:
    active = team_mapping.share_link(share_link(expires=timedelta(hours=1)), NOW)
    assert (active.status, active.created_by, active.revoked_at) == ("active", None, None)
    expired = team_mapping.share_link(share_link(expires=timedelta(0)), NOW)
    assert expired.status == "expired"
    both = team_mapping.share_link(share_link(expires=-timedelta(hours=1), revoked=True), NOW)
    assert both.status == "revoked"


def test_links_handed_out() -> None:
    assert team_mapping.invite_url("", "stats", "inv_x") is None
    assert team_mapping.invite_url("DemoBot", "", "inv_x") is None
    assert team_mapping.invite_url("DemoBot", "stats", "inv_a-b_c") == (
        "https://t.me/DemoBot/stats?startapp=inv_a-b_c"
    )
    assert team_mapping.share_url("https://a.example/", "shr_t") == "https://a.example/s#shr_t"
    assert team_mapping.share_url("http://localhost", "shr_t") == "http://localhost/s#shr_t"


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"bot_username": "@DemoBot"}, "ANALYTICBOT_BOT_USERNAME"),
        ({"bot_username": "ab"}, "ANALYTICBOT_BOT_USERNAME"),
        ({"bot_app_short_name": "no spaces"}, "ANALYTICBOT_BOT_APP_SHORT_NAME"),
        ({"rate_limit_share_exchange_per_ip": "0/minute"}, "SHARE_EXCHANGE_PER_IP"),
        ({"rate_limit_per_share_link": "lots"}, "ANALYTICBOT_RATE_LIMIT_PER_SHARE_LINK"),
    ],
)
def test_bad_settings_name_their_variable(overrides: dict[str, Any], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        GatewaySettings(**BASE, **overrides)


def test_good_bot_names_are_kept() -> None:
    settings = GatewaySettings(**BASE, bot_username="Demo_bot", bot_app_short_name="stats")
    assert (settings.bot_username, settings.bot_app_short_name) == ("Demo_bot", "stats")


async def test_share_tokens_pass_only_where_a_route_takes_them() -> None:
    signer = TokenSigner([SigningKey.generate()])

    async def fetch() -> dict[str, Any]:
        return signer.jwks()

    ring = KeyRing(fetch)
    share, _ = signer.issue("share", "share:3", 60, extra={"cid": -100})
    with pytest.raises(APIError) as caught:
        await ring.verify(share)
    assert caught.value.status == 401
    principal = await ring.verify(share, USER_OR_SHARE)
    assert (principal.kind, principal.channel_id) == ("share", -100)
    service, _ = signer.issue("service", "svc:bot", 60)
    with pytest.raises(APIError):
        await ring.verify(service, USER_OR_SHARE)
