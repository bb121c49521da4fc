"""A local fake of the Bot API: records every request (uploaded files included), serves
getUpdates, and can answer 429 (with retry_after) or 403, or hold requests unanswered (to
crash a bot mid-send). Like Telegram, it refuses to edit a message it never sent or to
"edit" one into exactly what it already shows."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 5550001, "is_bot": True, "first_name": "Analytics", "username": "ab_test_bot"}


@dataclass
class Call:
    """One request as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200
    files: dict[str, bytes] = field(default_factory=dict)  # uploads, by form field name
    result: Any = None  # what the fake answered, when it answered ok

    @property
    def chat_id(self) -> int:
        return int(self.params.get("chat_id", 0))


Rule = Callable[[Call], tuple[int, dict[str, Any]] | None]


@dataclass
class FakeTelegram:
    """The server's state; ``rules`` may override the answer to a call."""

    calls: list[Call] = field(default_factory=list)
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    rules: list[Rule] = field(default_factory=list)
    admins: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # What each message the bot sent shows now: (chat id, message id) -> text, markup.
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    holding: bool = False
    url: str = ""
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def hold(self) -> None:
        """Stop answering sends: they arrive (and are recorded with status 0) but no
        answer ever reaches the bot, as if it died while waiting for Telegram."""
        self._released.clear()
        self.holding = True

    def release(self) -> None:
        self.holding = False
        self._released.set()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def push(self, update: dict[str, Any]) -> None:
        self.updates.append({"update_id": next(self._update_ids), **update})
        self._new_update.set()

    def sent(self, method: str = "sendMessage") -> list[Call]:
        """Calls of ``method`` that Telegram accepted (answered ok)."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    async def wait_for(
        self, predicate: Callable[[], bool], within: float = 10.0, step: float = 0.02
    ) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the fake Bot API did not see what the test waited for")
            await asyncio.sleep(step)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode(value)
            else:
                params[key] = "<file>"
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
        call = Call(method=method, params=params, at=time.monotonic(), files=files)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._updates(params)})
        if self.holding and method in {"sendMessage", "sendPhoto"}:
            call.status = 0
            self.calls.append(call)
            await self._released.wait()
            return web.Response(status=502)  # the client that sent it is gone by now
        for rule in self.rules:
            answer = rule(call)
            if answer is not None:
                call.status = answer[0]
                self.calls.append(call)
                return web.json_response(answer[1], status=answer[0])
        if method == "editMessageText" and (refusal := self._refuse_edit(call)) is not None:
            call.status = refusal[0]
            self.calls.append(call)
            return web.json_response(refusal[1], status=refusal[0])
        call.result = self._result(call)
        self.calls.append(call)
        return web.json_response({"ok": True, "result": call.result})

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()
        if not self.updates:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=0.5)
            except TimeoutError:
                return []
        return list(self.updates)

    def _result(self, call: Call) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method == "getChatAdministrators":
            return self.admins.get(call.chat_id, [])
        if call.method in {"sendMessage", "sendPhoto"}:
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": call.chat_id, "type": "private"},
                "from": BOT_USER,
            }
            if call.method == "sendMessage":
                message["text"] = call.params.get("text", "")
            else:
                message["photo"] = [
                    {"file_id": "p", "file_unique_id": "p", "width": 800, "height": 400}
                ]
            self.messages[(call.chat_id, message["message_id"])] = _content(call)
            return message
        if call.method == "editMessageText":
            message_id = int(call.params["message_id"])
            self.messages[(call.chat_id, message_id)] = _content(call)
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": {"id": call.chat_id, "type": "private"},
                "from": BOT_USER,
                "text": call.params.get("text", ""),
            }
        return True

    def _refuse_edit(self, call: Call) -> tuple[int, dict[str, Any]] | None:
        key = (call.chat_id, int(call.params.get("message_id", 0)))
        if key not in self.messages:
            return bad_request("message to edit not found")
        if self.messages[key] == _content(call):
            return bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        return None


def _content(call: Call) -> dict[str, Any]:
    """What a message shows: its text (or caption) and its inline keyboard."""
    return {
        "text": call.params.get("text", call.params.get("caption", "")),
        "reply_markup": call.params.get("reply_markup"),
    }


def _decode(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def too_many_requests(retry_after: int) -> tuple[int, dict[str, Any]]:
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


def bad_request(reason: str) -> tuple[int, dict[str, Any]]:
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {reason}"}


def forbidden() -> tuple[int, dict[str, Any]]:
    return 403, {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }


def server_error() -> tuple[int, dict[str, Any]]:
    return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
