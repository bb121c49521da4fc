"""Sessions sealed at rest: AES-256-GCM bound to the account label."""

from __future__ import annotations

import pytest

from analyticbot.runtime.errors import ConfigError
from services.collector.sessions import SessionBox, SessionKeyError, generate_key, telethon_proxy

SESSION = "1BVtsOKABu2-fake-string-session=="


def test_a_sealed_session_opens_only_with_its_key_and_label() -> None:
    box = SessionBox.from_text(generate_key())
    sealed = box.seal(SESSION, "main")
    assert SESSION.encode() not in sealed
    assert box.open(sealed, "main") == SESSION
    with pytest.raises(SessionKeyError):
        box.open(sealed, "other")
    with pytest.raises(SessionKeyError):
        SessionBox.from_text(generate_key()).open(sealed, "main")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SessionKeyError):
        box.open(tampered, "main")
    assert box.seal(SESSION, "main") != sealed  # fresh nonce every time
    assert "key" in repr(box)
    assert box.key.hex() not in repr(box)


@pytest.mark.parametrize("text", ["not base64!!", "c2hvcnQ="])
def test_a_bad_key_stops_the_process_with_the_variable_name(text: str) -> None:
    with pytest.raises(ConfigError, match="ANALYTICBOT_SESSION_KEY"):
        SessionBox.from_text(text)


def test_proxy_urls_become_telethon_proxies() -> None:
    assert telethon_proxy("socks5://u%40x:p@10.0.0.1:1080") == {
        "proxy_type": "socks5",
        "addr": "10.0.0.1",
        "port": 1080,
        "rdns": True,
        "username": "u@x",
        "password": "p",
    }
    with pytest.raises(ValueError, match="socks5://"):
        telethon_proxy("ftp://host:1")
