"""initData strings published with Telegram Mini Apps tooling documentation, signed by
Telegram itself: the HMAC path with the published bot tokens, and the Ed25519 path with
Telegram's real production key."""

from __future__ import annotations

import pytest

from analyticbot.runtime.initdata import InitDataValidator, InvalidInitData, telegram_public_key

_USER_2024 = (
    "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22"
    "%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22"
    "%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22"
    "%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13"
    "LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private"
)
# HMAC, before the signature field existed (query_id launch).
HMAC_2022_TOKEN = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
HMAC_2022 = (
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc"
    "&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A"
    "%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C"
    "%22is_premium%22%3Atrue%7D"
    "&auth_date=1662771648"
    "&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
)
# HMAC with the signature field inside the check string.
HMAC_2024_TOKEN = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4"
HMAC_2024 = (
    _USER_2024 + "&auth_date=1733509682"
    "&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg"
    "&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"
)
# Ed25519, signed by Telegram's production key for bot 7342037359.
ED25519_BOT_ID = 7342037359
ED25519_2024 = (
    _USER_2024 + "&auth_date=1733584787"
    "&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ"
    "&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6"
)


def _hmac(token: str) -> InitDataValidator:
    return InitDataValidator(bot_token=token)


def _ed25519(*, test_environment: bool = False, bot_id: int = ED25519_BOT_ID) -> InitDataValidator:
    key = telegram_public_key(test_environment=test_environment)
    return InitDataValidator(bot_id=bot_id, public_key=key)


def test_published_hmac_launch_validates_at_its_auth_date() -> None:
    launch = _hmac(HMAC_2022_TOKEN).validate(HMAC_2022, now=1662771648)
    assert launch.user is not None
    assert launch.user["id"] == 279058397
    assert launch.query_id == "AAHdF6IQAAAAAN0XohDhrOrc"


def test_published_hmac_launch_is_an_hour_stale_later() -> None:
    with pytest.raises(InvalidInitData, match="older than 3600"):
        _hmac(HMAC_2022_TOKEN).validate(HMAC_2022, now=1662771648 + 3601)


def test_published_launch_with_signature_field_hashes_it() -> None:
    launch = _hmac(HMAC_2024_TOKEN).validate(HMAC_2024, now=1733509682)
    assert launch.user is not None
    assert launch.user["first_name"] == "Vladislav + - ? /"
    # The JSON text was hashed as received: its escaped slashes are still there.
    assert '"Vladislav + - ? \\/"' in launch.fields["user"]
    with pytest.raises(InvalidInitData, match="hash does not match"):
        _hmac(HMAC_2024_TOKEN).validate(
            HMAC_2024.replace("&signature=", "&signaturx="), now=1733509682
        )


def test_published_third_party_launch_verifies_with_telegrams_production_key() -> None:
    launch = _ed25519().validate(ED25519_2024, now=1733584787)
    assert launch.method == "ed25519"
    assert launch.user is not None
    assert launch.user["username"] == "vdkfrost"


def test_published_third_party_launch_fails_with_the_test_key_or_another_bot() -> None:
    with pytest.raises(InvalidInitData, match="signature does not verify"):
        _ed25519(test_environment=True).validate(ED25519_2024, now=1733584787)
    with pytest.raises(InvalidInitData, match="signature does not verify"):
        _ed25519(bot_id=ED25519_BOT_ID + 1).validate(ED25519_2024, now=1733584787)
    with pytest.raises(InvalidInitData, match="signature does not verify"):
        _ed25519().validate(ED25519_2024.replace("vdkfrost", "vdkfros7"), now=1733584787)
