"""``analyticbot mtproto login``: sign an MTProto account in and store it sealed.

Asks for the phone number, the login code Telegram sends, and the 2FA password when
the account has one; the code and the password are read without echo and never
logged. The resulting StringSession (and the proxy URL, if any) are sealed with
``ANALYTICBOT_SESSION_KEY`` and stored under the operator's label; collector replicas
pick the account up at their next lease refresh.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable

from telethon import TelegramClient, errors  # type: ignore[import-untyped]
from telethon.sessions import StringSession  # type: ignore[import-untyped]

from analyticbot.runtime.db import create_pool
from analyticbot.runtime.errors import ConfigError
from services.collector import accounts_repository as accounts
from services.collector.sessions import KEY_VARIABLE, SessionBox, telethon_proxy

Ask = Callable[[str], str]
CODE_ATTEMPTS = 3


class LoginFailed(Exception):
    """The account could not be signed in (wrong codes, expired code, bad phone)."""


async def sign_in(
    client: TelegramClient, ask: Ask, ask_secret: Ask, say: Callable[[str], None]
) -> tuple[str, int]:
    """Sign ``client`` (connected, fresh StringSession) in interactively; returns the
    session string and the Telegram user id."""
    phone = ask("Phone number (international format, e.g. +15551234567): ").strip()
    try:
        await client.send_code_request(phone)
    except (errors.PhoneNumberInvalidError, errors.PhoneNumberBannedError) as exc:
        raise LoginFailed(f"Telegram refused the phone number: {type(exc).__name__}") from None
    for _ in range(CODE_ATTEMPTS):
        code = ask_secret("Login code from Telegram: ").strip()
        try:
            await client.sign_in(phone=phone, code=code)
            break
        except errors.PhoneCodeInvalidError:
            say("That code is not right; try again.")
        except errors.PhoneCodeExpiredError:
            raise LoginFailed("the login code expired; run the login again") from None
        except errors.SessionPasswordNeededError:
            await _password(client, ask_secret, say)
            break
    else:
        raise LoginFailed(f"no valid code after {CODE_ATTEMPTS} attempts")
    me = await client.get_me()
    return StringSession.save(client.session), int(me.id)


async def _password(client: TelegramClient, ask_secret: Ask, say: Callable[[str], None]) -> None:
    for _ in range(CODE_ATTEMPTS):
        try:
            await client.sign_in(password=ask_secret("Two-step verification password: "))
            return
        except errors.PasswordHashInvalidError:
            say("That password is not right; try again.")
    raise LoginFailed(f"no valid password after {CODE_ATTEMPTS} attempts")


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"invalid configuration:\n  {name}: Field required")
    return value


async def login(label: str, proxy: str | None) -> int:
    """The ``mtproto login`` command: sign in and store the account; returns its id."""
    database_url = os.environ.get("DATABASE_URL") or _required("ANALYTICBOT_DATABASE_URL")
    box = SessionBox.from_text(_required(KEY_VARIABLE))
    api_id = int(_required("ANALYTICBOT_TELEGRAM_API_ID"))
    api_hash = _required("ANALYTICBOT_TELEGRAM_API_HASH")
    client = TelegramClient(
        StringSession(),
        api_id,
        api_hash,
        proxy=telethon_proxy(proxy) if proxy else None,
        receive_updates=False,
    )
    await client.connect()
    try:
        session, user_id = await sign_in(client, input, getpass.getpass, print)
    finally:
        await client.disconnect()
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            sealed_proxy = box.seal(proxy, label) if proxy else None
            return await accounts.save_account(
                conn, label, box.seal(session, label), sealed_proxy, user_id
            )
    finally:
        await pool.close()
