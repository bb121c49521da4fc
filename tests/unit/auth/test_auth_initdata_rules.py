"""Every initData rule, on launches we sign ourselves (HMAC and Ed25519)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from analyticbot.runtime.initdata import (
    PRODUCTION_PUBLIC_KEY_HEX,
    TEST_PUBLIC_KEY_HEX,
    InitDataValidator,
    InvalidInitData,
    MalformedInitData,
    ed25519_signature,
    hmac_hash,
    sign_init_data,
    telegram_public_key,
)

TOKEN = "123456789:AAE-test-token-for-initdata-rules"
BOT_ID = 123456789
NOW = 1_760_000_000
# JSON as a Telegram client sends it: escaped slashes and non-ASCII, not re-serialisable.
USER = (
    '{"id":4242,"first_name":"\\u0418\\u0432\\u0430\\u043d","last_name":"",'
    '"username":"ivan","language_code":"ru","photo_url":"https:\\/\\/t.me\\/i\\/u.svg"}'
)


def launch(**extra: str) -> dict[str, str]:
    fields = {"auth_date": str(NOW), "query_id": "AAHdF6IQAAAAAN0X", "user": USER}
    fields.update(extra)
    return fields


def validator(max_age_seconds: int = 3600) -> InitDataValidator:
    return InitDataValidator(bot_token=TOKEN, max_age_seconds=max_age_seconds)


def test_valid_hmac_launch_returns_user_and_auth_date() -> None:
    result = validator().validate(sign_init_data(launch(), TOKEN), now=NOW)
    assert result.method == "hmac"
    assert result.user is not None
    assert result.user["id"] == 4242
    assert result.user["first_name"] == "Иван"
    assert result.auth_date.timestamp() == NOW
    assert result.auth_date.tzinfo is not None
    assert result.fields["user"] == USER


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", USER.replace("4242", "4243")),
        ("auth_date", str(NOW - 1)),
        ("query_id", "AAHdF6IQAAAAAN0Y"),
    ],
)
def test_tampered_field_is_rejected(field: str, value: str) -> None:
    signed = dict(launch())
    signed["hash"] = hmac_hash(signed, TOKEN)
    signed[field] = value
    with pytest.raises(InvalidInitData, match="hash does not match"):
        validator().validate(urlencode(signed), now=NOW)


def test_added_field_is_rejected() -> None:
    raw = sign_init_data(launch(), TOKEN) + "&start_param=admin"
    with pytest.raises(InvalidInitData, match="hash does not match"):
        validator().validate(raw, now=NOW)


def test_wrong_bot_token_is_rejected() -> None:
    raw = sign_init_data(launch(), TOKEN.replace("AAE", "AAF"))
    with pytest.raises(InvalidInitData, match="hash does not match"):
        validator().validate(raw, now=NOW)


def test_signature_field_stays_in_the_hmac_check_string() -> None:
    fields = launch(signature="c2lnbmF0dXJl")
    validator().validate(sign_init_data(fields, TOKEN), now=NOW)
    # Hashed without the signature, then the signature added: must not validate.
    without = launch()
    forged = {**without, "hash": hmac_hash(without, TOKEN), "signature": "c2lnbmF0dXJl"}
    with pytest.raises(InvalidInitData, match="hash does not match"):
        validator().validate(urlencode(forged), now=NOW)


def test_missing_hash_is_rejected() -> None:
    with pytest.raises(InvalidInitData, match="no hash"):
        validator().validate(urlencode(launch()), now=NOW)


def test_empty_hash_is_rejected() -> None:
    with pytest.raises(InvalidInitData, match="no hash"):
        validator().validate(urlencode(launch()) + "&hash=", now=NOW)


def test_uppercase_hash_is_not_the_hash() -> None:
    fields = launch()
    raw = urlencode({**fields, "hash": hmac_hash(fields, TOKEN).upper()})
    with pytest.raises(InvalidInitData, match="hash does not match"):
        validator().validate(raw, now=NOW)


@pytest.mark.parametrize("duplicate", ["auth_date=1", "user=%7B%7D", "hash=00"])
def test_duplicate_key_is_rejected(duplicate: str) -> None:
    raw = sign_init_data(launch(), TOKEN) + "&" + duplicate
    with pytest.raises(MalformedInitData, match="repeats the field"):
        validator().validate(raw, now=NOW)


def test_auth_date_in_the_future_beyond_skew_is_rejected() -> None:
    raw = sign_init_data(launch(auth_date=str(NOW + 31)), TOKEN)
    with pytest.raises(InvalidInitData, match="in the future"):
        validator().validate(raw, now=NOW)


def test_auth_date_slightly_ahead_is_accepted_within_skew() -> None:
    raw = sign_init_data(launch(auth_date=str(NOW + 30)), TOKEN)
    assert validator().validate(raw, now=NOW).auth_date.timestamp() == NOW + 30


def test_auth_date_older_than_max_age_is_rejected() -> None:
    raw = sign_init_data(launch(auth_date=str(NOW - 3601)), TOKEN)
    with pytest.raises(InvalidInitData, match="older than 3600 seconds"):
        validator().validate(raw, now=NOW)
    assert validator().validate(sign_init_data(launch(auth_date=str(NOW - 3600)), TOKEN), now=NOW)


def test_max_age_is_configurable() -> None:
    raw = sign_init_data(launch(auth_date=str(NOW - 400)), TOKEN)
    with pytest.raises(InvalidInitData, match="older than 300 seconds"):
        validator(max_age_seconds=300).validate(raw, now=NOW)
    assert validator(max_age_seconds=600).validate(raw, now=NOW)


def test_query_id_launch_mode() -> None:
    result = validator().validate(sign_init_data(launch(), TOKEN), now=NOW)
    assert result.query_id == "AAHdF6IQAAAAAN0X"
    assert result.start_param == ""


def test_chat_launch_mode_with_start_param_hashes_every_field() -> None:
    fields = {
        "auth_date": str(NOW),
        "user": USER,
        "chat_instance": "-8134722200314281151",
        "chat_type": "channel",
        "start_param": "ch_1001_invite",
        "can_send_after": "10",
        "chat": '{"id":-1001,"type":"channel","title":"News & more"}',
    }
    result = validator().validate(sign_init_data(fields, TOKEN), now=NOW)
    assert result.start_param == "ch_1001_invite"
    assert result.query_id == ""
    tampered = sign_init_data(fields, TOKEN).replace("ch_1001_invite", "ch_1002_invite")
    with pytest.raises(InvalidInitData):
        validator().validate(tampered, now=NOW)


def test_values_are_decoded_exactly_once() -> None:
    # The signed value is the literal text "%41"; decoding twice would make it "A".
    fields = launch(start_param="%41+b")
    raw = sign_init_data(fields, TOKEN)
    assert "%2541" in raw
    assert validator().validate(raw, now=NOW).start_param == "%41+b"
    forged_fields = launch(start_param="A b")
    forged = urlencode({**forged_fields, "hash": hmac_hash(fields, TOKEN)})
    with pytest.raises(InvalidInitData):
        validator().validate(forged, now=NOW)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("just-text", "not a valid query string"),
        ("auth_date=1&user=%ff", "not a valid query string"),
        ("user=%7B%7D&hash=ab", "no auth_date"),
        ("auth_date=soon&hash=ab", "not a unix time"),
        ("auth_date=%EF%BC%91&hash=ab", "not a unix time"),
        ("a=" + "x" * 20000, "too long"),
    ],
)
def test_malformed_init_data_is_an_invalid_argument(raw: str, message: str) -> None:
    with pytest.raises(MalformedInitData, match=message):
        validator().validate(raw, now=NOW)


def test_user_that_is_not_a_json_object_is_malformed() -> None:
    raw = sign_init_data(launch(user="[1,2]"), TOKEN)
    with pytest.raises(MalformedInitData, match="not a JSON object"):
        validator().validate(raw, now=NOW)


# --- Ed25519 third-party path --------------------------------------------------------


@pytest.fixture(scope="module")
def telegram_stand_in() -> Ed25519PrivateKey:
    """A key pair standing in for Telegram's."""
    return Ed25519PrivateKey.generate()


def third_party(key: Ed25519PrivateKey) -> InitDataValidator:
    return InitDataValidator(bot_id=BOT_ID, public_key=key.public_key())


def signed_ed25519(fields: dict[str, str], key: Ed25519PrivateKey, bot_id: int = BOT_ID) -> str:
    signed = {**fields, "hash": "0" * 64}
    signed["signature"] = ed25519_signature(signed, bot_id, key)
    return urlencode(signed)


def test_ed25519_launch_verifies_without_the_bot_token(
    telegram_stand_in: Ed25519PrivateKey,
) -> None:
    result = third_party(telegram_stand_in).validate(
        signed_ed25519(launch(), telegram_stand_in), now=NOW
    )
    assert result.method == "ed25519"
    assert result.user is not None
    assert result.user["id"] == 4242


def test_ed25519_check_string_leaves_out_hash_and_signature(
    telegram_stand_in: Ed25519PrivateKey,
) -> None:
    raw = signed_ed25519(launch(), telegram_stand_in)
    changed_hash = raw.replace("hash=" + "0" * 64, "hash=" + "1" * 64)
    assert third_party(telegram_stand_in).validate(changed_hash, now=NOW)


def test_ed25519_padded_signature_is_accepted(telegram_stand_in: Ed25519PrivateKey) -> None:
    fields = launch()
    padded = ed25519_signature(fields, BOT_ID, telegram_stand_in) + "=="
    raw = urlencode({**fields, "signature": padded})
    assert third_party(telegram_stand_in).validate(raw, now=NOW)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.replace("4242", "4243"), "does not verify"),
        (lambda raw: raw + "&start_param=x", "does not verify"),
        (lambda raw: raw.split("&signature=")[0], "no signature"),
        (lambda raw: raw.split("&signature=")[0] + "&signature=%21%21", "not base64url"),
    ],
)
def test_ed25519_tampering_is_rejected(
    telegram_stand_in: Ed25519PrivateKey, mutate: object, message: str
) -> None:
    assert callable(mutate)
    raw = mutate(signed_ed25519(launch(), telegram_stand_in))
    with pytest.raises(InvalidInitData, match=message):
        third_party(telegram_stand_in).validate(raw, now=NOW)


def test_ed25519_other_bot_or_other_key_is_rejected(telegram_stand_in: Ed25519PrivateKey) -> None:
    other_bot = signed_ed25519(launch(), telegram_stand_in, bot_id=BOT_ID + 1)
    with pytest.raises(InvalidInitData, match="does not verify"):
        third_party(telegram_stand_in).validate(other_bot, now=NOW)
    other_key = signed_ed25519(launch(), Ed25519PrivateKey.generate())
    with pytest.raises(InvalidInitData, match="does not verify"):
        third_party(telegram_stand_in).validate(other_key, now=NOW)


def test_ed25519_path_applies_the_age_rules(telegram_stand_in: Ed25519PrivateKey) -> None:
    stale = signed_ed25519(launch(auth_date=str(NOW - 7200)), telegram_stand_in)
    with pytest.raises(InvalidInitData, match="older than"):
        third_party(telegram_stand_in).validate(stale, now=NOW)


def test_telegram_keys_are_selected_by_environment() -> None:
    def raw(key: object) -> str:
        assert hasattr(key, "public_bytes")
        return bytes(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hex()

    assert raw(telegram_public_key()) == PRODUCTION_PUBLIC_KEY_HEX
    assert raw(telegram_public_key(test_environment=True)) == TEST_PUBLIC_KEY_HEX


def test_validator_needs_a_token_or_a_bot_id_and_key() -> None:
    with pytest.raises(ValueError, match="bot token"):
        InitDataValidator(bot_id=BOT_ID)
    with pytest.raises(ValueError, match="max age"):
        InitDataValidator(bot_token=TOKEN, max_age_seconds=0)
