"""Our validator and aiogram's independent implementation agree on every case.

aiogram's ``check_webapp_signature`` (HMAC, bot token) and
``web_app_signature.check_webapp_signature`` (Ed25519, bot id) only check signatures,
so ours runs with ``now`` at the launch's auth_date to compare the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature, safe_parse_webapp_init_data
from aiogram.utils.web_app_signature import check_webapp_signature as check_third_party
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from analyticbot.runtime.errors import DomainError
from analyticbot.runtime.initdata import (
    InitDataValidator,
    ed25519_signature,
    hmac_hash,
    sign_init_data,
)

TOKEN = "987654321:AAG-agreement-test-token"
BOT_ID = 987654321
NOW = 1_760_000_000
USER = '{"id":77,"first_name":"Ann","username":"ann_b","photo_url":"https:\\/\\/t.me\\/x"}'
KEY = Ed25519PrivateKey.generate()


def ours_accepts(validator: InitDataValidator, raw: str) -> bool:
    try:
        validator.validate(raw, now=NOW)
    except DomainError:
        return False
    return True


def base(**extra: str) -> dict[str, str]:
    return {"auth_date": str(NOW), "user": USER, **extra}


def signed(fields: dict[str, str]) -> str:
    return sign_init_data(fields, TOKEN)


HMAC_CASES: dict[str, Callable[[], str]] = {
    "valid query_id launch": lambda: signed(base(query_id="AAQ1")),
    "valid chat launch with start_param": lambda: signed(
        base(chat_instance="-42", chat_type="supergroup", start_param="p_1")
    ),
    "valid with signature field": lambda: signed(base(signature="abc_-")),
    "valid with escaped text": lambda: signed(base(start_param="%41 & = + ?")),
    "tampered user": lambda: signed(base()).replace("Ann", "Bob"),
    "tampered auth_date": lambda: signed(base()).replace(str(NOW), str(NOW - 5)),
    "field added": lambda: signed(base()) + "&query_id=AAQ2",
    "signature dropped": lambda: signed(base(signature="abc")).replace("&signature=abc", ""),
    "hash of other token": lambda: sign_init_data(base(), TOKEN + "x"),
    "hash missing": lambda: urlencode(base()),
    "hash truncated": lambda: signed(base())[:-2],
    "hash uppercase": lambda: urlencode({**base(), "hash": hmac_hash(base(), TOKEN).upper()}),
}


@pytest.mark.parametrize("case", sorted(HMAC_CASES))
def test_hmac_verdicts_agree_with_aiogram(case: str) -> None:
    raw = HMAC_CASES[case]()
    theirs = check_webapp_signature(TOKEN, raw)
    ours = ours_accepts(InitDataValidator(bot_token=TOKEN), raw)
    assert ours == theirs
    assert ours == case.startswith("valid")


def test_aiogram_parses_the_same_user_we_do() -> None:
    raw = signed(base(query_id="AAQ1"))
    theirs = safe_parse_webapp_init_data(TOKEN, raw)
    ours = InitDataValidator(bot_token=TOKEN).validate(raw, now=NOW)
    assert theirs.user is not None
    assert ours.user is not None
    assert theirs.user.id == ours.user["id"]
    assert theirs.query_id == ours.query_id


def third_party_signed(fields: dict[str, str], bot_id: int = BOT_ID) -> str:
    with_hash = {**fields, "hash": "ab" * 32}
    return urlencode({**with_hash, "signature": ed25519_signature(with_hash, bot_id, KEY)})


ED25519_CASES: dict[str, Callable[[], str]] = {
    "valid query_id launch": lambda: third_party_signed(base(query_id="AAQ1")),
    "valid chat launch": lambda: third_party_signed(
        base(chat_instance="1", chat_type="channel", start_param="s")
    ),
    "tampered user": lambda: third_party_signed(base()).replace("Ann", "Bob"),
    "other bot": lambda: third_party_signed(base(), bot_id=BOT_ID + 1),
    "field added": lambda: third_party_signed(base()) + "&start_param=zz",
    "signature missing": lambda: urlencode({**base(), "hash": "ab" * 32}),
}


@pytest.mark.parametrize("case", sorted(ED25519_CASES))
def test_ed25519_verdicts_agree_with_aiogram(case: str) -> None:
    raw = ED25519_CASES[case]()
    public = KEY.public_key()
    theirs = check_third_party(BOT_ID, raw, public.public_bytes(Encoding.Raw, PublicFormat.Raw))
    ours = ours_accepts(InitDataValidator(bot_id=BOT_ID, public_key=public), raw)
    assert ours == theirs
    assert ours == case.startswith("valid")
