"""Auth settings: what starts, what refuses to, and keys that survive a restart."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import asyncpg
import pytest

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.initdata import telegram_public_key
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.tokens import SigningKey
from services.auth.config import AuthSettings
from services.auth.keys import dump_key_ring, load_or_create_key_file
from services.auth.main import build_service, build_validator

SECRET = "s" * 40


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.setenv(name, f"{name.lower()}://unused")
    monkeypatch.setenv("ANALYTICBOT_ENV", "development")
    monkeypatch.setenv("ANALYTICBOT_BOT_TOKEN", "424242:AAE-config-test-token")
    monkeypatch.setenv("ANALYTICBOT_AUTH_KEYS_FILE", str(tmp_path / "keys" / "auth.json"))
    monkeypatch.setenv("ANALYTICBOT_SUPERADMINS", "11, 22")
    monkeypatch.setenv("ANALYTICBOT_SERVICE_SECRETS", f"gateway={SECRET},bot={SECRET}b")
    return monkeypatch


NO_POOL = cast(asyncpg.Pool, None)


def test_development_creates_keys_once_and_a_restart_keeps_them(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(AuthSettings)
    assert settings.superadmins == frozenset({11, 22})
    assert settings.effective_bot_id() == 424242
    assert set(settings.service_secret_digests()) == {"gateway", "bot"}
    first = build_service(settings, NO_POOL).jwks()
    second = build_service(load_settings(AuthSettings), NO_POOL).jwks()
    assert first == second
    key_file = tmp_path / "keys" / "auth.json"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_create_keys(env: pytest.MonkeyPatch) -> None:
    env.setenv("ANALYTICBOT_ENV", "production")
    with pytest.raises(ConfigError, match="does not exist"):
        build_service(load_settings(AuthSettings), NO_POOL)


def test_signing_keys_from_the_environment(env: pytest.MonkeyPatch) -> None:
    new, old = SigningKey.generate(), SigningKey.generate()
    env.setenv("ANALYTICBOT_ENV", "production")
    env.setenv("ANALYTICBOT_AUTH_SIGNING_KEYS", dump_key_ring([new, old]))
    jwks = build_service(load_settings(AuthSettings), NO_POOL).jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new.kid, old.kid]


def test_production_refuses_the_development_bot_token(env: pytest.MonkeyPatch) -> None:
    env.setenv("ANALYTICBOT_ENV", "production")
    env.setenv("ANALYTICBOT_DEV_BOT_TOKEN", "1:dev")
    with pytest.raises(ConfigError, match="ANALYTICBOT_DEV_BOT_TOKEN"):
        load_settings(AuthSettings).check()


def test_development_token_stands_in_only_in_development(env: pytest.MonkeyPatch) -> None:
    env.delenv("ANALYTICBOT_BOT_TOKEN")
    env.setenv("ANALYTICBOT_DEV_BOT_TOKEN", "77:dev-token")
    settings = load_settings(AuthSettings)
    settings.check()
    assert settings.effective_bot_token() == "77:dev-token"
    env.delenv("ANALYTICBOT_DEV_BOT_TOKEN")
    with pytest.raises(ConfigError, match="ANALYTICBOT_BOT_TOKEN"):
        load_settings(AuthSettings).check()


def test_ed25519_needs_only_the_bot_id_and_picks_telegrams_key(env: pytest.MonkeyPatch) -> None:
    env.delenv("ANALYTICBOT_BOT_TOKEN")
    env.setenv("ANALYTICBOT_INITDATA_METHOD", "ed25519")
    with pytest.raises(ConfigError, match="ANALYTICBOT_BOT_ID"):
        load_settings(AuthSettings).check()
    env.setenv("ANALYTICBOT_BOT_ID", "7342037359")
    production = build_validator(load_settings(AuthSettings))
    assert production.method == "ed25519"
    assert production.public_key == telegram_public_key()
    env.setenv("ANALYTICBOT_TELEGRAM_TEST_ENV", "true")
    assert build_validator(load_settings(AuthSettings)).public_key == telegram_public_key(
        test_environment=True
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gateway", "name=secret"),
        ("gateway=short", "shorter than"),
        (f"gateway={SECRET},gateway={SECRET}", "appears twice"),
        (f"Bad Name={SECRET}", "name=secret"),
    ],
)
def test_bad_service_secrets_stop_the_boot(
    env: pytest.MonkeyPatch, value: str, message: str
) -> None:
    env.setenv("ANALYTICBOT_SERVICE_SECRETS", value)
    with pytest.raises(ConfigError, match=message):
        load_settings(AuthSettings).check()


def test_a_broken_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"kid": "a", "pem": "nope"}]}')
    with pytest.raises(ConfigError, match="not a key ring"):
        load_or_create_key_file(path, create=True)
