"""``GET /api/v1/dev/init-data``: the development login.

Registered only when ``dev_login`` is on, which settings allow in development only. It
signs initData for the development user with the development bot token, so the Mini
App can be opened in an ordinary browser and exchanged like a real launch.
"""

from __future__ import annotations

import json
import secrets
import time

from quart import Blueprint
from quart_schema import tag_blueprint, validate_response

from analyticbot.runtime.initdata import sign_init_data
from gateway.api.schemas import DevInitData
from gateway.state import gateway_state

blueprint = Blueprint("dev", __name__, url_prefix="/api/v1/dev")
tag_blueprint(blueprint, ["development"])


def dev_init_data(user_id: int, bot_token: str, *, now: float | None = None) -> str:
    """initData as Telegram would send it for a launch from the bot's menu button."""
    user = {"id": user_id, "first_name": "Dev", "language_code": "en"}
    fields = {
        "auth_date": str(int(now if now is not None else time.time())),
        "query_id": "DEV" + secrets.token_urlsafe(12),
        "user": json.dumps(user, separators=(",", ":")),
    }
    return sign_init_data(fields, bot_token)


@blueprint.get("/init-data")
@validate_response(DevInitData, 200)
async def get_dev_init_data() -> DevInitData:
    """Signed initData for the development user (404 unless the dev login is on)."""
    settings = gateway_state().settings
    assert settings.dev_bot_token is not None, "settings require it with dev_login"
    token = settings.dev_bot_token.get_secret_value()
    return DevInitData(init_data=dev_init_data(settings.dev_user_id, token))
