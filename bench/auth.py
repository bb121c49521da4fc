"""Auth throughput in process: initData validation, token issue, and both together.

Run: ``.venv/bin/python -m bench.auth`` (prints a Markdown table). ``run()`` returns
the figures for the benchmark report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from analyticbot.runtime.initdata import InitDataValidator, ed25519_signature, sign_init_data
from analyticbot.runtime.tokens import SigningKey, TokenSigner, TokenVerifier

BOT_TOKEN = "123456789:AAE-benchmark-token"  # noqa: S105 - a made-up token
BOT_ID = 123456789


@dataclass(frozen=True)
class Result:
    """One measured operation."""

    name: str
    per_second: float
    microseconds: float


def _measure(name: str, operation: Callable[[], object], seconds: float) -> Result:
    for _ in range(200):
        operation()
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(100):
            operation()
        done += 100
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - started
    return Result(name, done / elapsed, elapsed / done * 1e6)


def _launch_fields(now: int) -> dict[str, str]:
    user = {
        "id": 279058397,
        "first_name": "Vladislav",
        "username": "vdkfrost",
        "language_code": "ru",
    }
    return {
        "auth_date": str(now),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":")),
        "signature": "x" * 86,
    }


def run(seconds: float = 1.0) -> list[Result]:
    """Measure each operation for about ``seconds``."""
    now = int(time.time())
    fields = _launch_fields(now)
    raw_hmac = sign_init_data(fields, BOT_TOKEN)
    hmac_validator = InitDataValidator(bot_token=BOT_TOKEN)
    telegram = Ed25519PrivateKey.generate()
    third_party = {**fields, "hash": "0" * 64}
    third_party["signature"] = ed25519_signature(third_party, BOT_ID, telegram)
    raw_ed25519 = urlencode(third_party)
    ed_validator = InitDataValidator(bot_id=BOT_ID, public_key=telegram.public_key())
    signer = TokenSigner([SigningKey.generate()])
    verifier = TokenVerifier(signer.jwks())
    token, _ = signer.issue("access", "279058397", 900)

    def login() -> object:
        launch = hmac_validator.validate(raw_hmac)
        assert launch.user is not None
        return signer.issue("access", str(launch.user["id"]), 900)

    return [
        _measure("initData validation (HMAC)", lambda: hmac_validator.validate(raw_hmac), seconds),
        _measure(
            "initData validation (Ed25519)", lambda: ed_validator.validate(raw_ed25519), seconds
        ),
        _measure("access token issue (EdDSA)", lambda: signer.issue("access", "1", 900), seconds),
        _measure("access token verify (EdDSA)", lambda: verifier.verify(token), seconds),
        _measure("validate HMAC initData + issue token", login, seconds),
    ]


def markdown(results: list[Result]) -> str:
    """The results as a Markdown table."""
    lines = ["| operation (one core, in process) | per second | µs each |", "|---|---:|---:|"]
    lines += [f"| {r.name} | {r.per_second:,.0f} | {r.microseconds:.1f} |" for r in results]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
