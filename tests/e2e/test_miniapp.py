"""The Mini App in headless Chromium against the stack started as a user starts it.

The app runs "inside Telegram": ``miniapp/scripts/telegram-fake.js`` stands in for
``Telegram.WebApp`` with initData signed by the development bot token, records every
BackButton / MainButton / HapticFeedback call and lets a test press the buttons.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
from playwright.async_api import Browser, Page, Route, WebSocket, async_playwright

from analyticbot.runtime.initdata import sign_init_data
from tests.e2e.conftest import CHROMIUM_ARGS, Stack
from tests.e2e.test_slice import wait_for_history

CHANNEL = 9_000_000_000
VIEWER_ID = 7_700_000_001
FAKE_TELEGRAM = (
    Path(__file__).resolve().parents[2] / "miniapp" / "scripts" / "telegram-fake.js"
).read_text()
# Every Metric field of PeriodStats that the dashboard shows, current and previous.
DASHBOARD_FIELDS = (
    "subscribers_end",
    "err",
    "err24",
    "er",
    "reach_12h",
    "reach_24h",
    "reach_48h",
    "views_per_post",
    "forwards_per_post",
    "reactions_per_post",
    "replies_per_post",
)


# The raw number (or the reason) behind every metric, previous value and change on screen.
SHOWN_VALUES = """() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid^="metric-"], [data-testid^="previous-"]')]
        .map((n) => [n.dataset.testid, n.dataset.value ?? 'NA:' + n.dataset.reason]))"""


def expected_values(overview: dict[str, Any]) -> dict[str, str]:
    """What SHOWN_VALUES must read for ``overview``: JavaScript's String(number)."""

    def text(metric: dict[str, Any]) -> str:
        value = metric["value"]
        if value is None:
            return f"NA:{metric['unavailable_reason'] or 'UNKNOWN'}"
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    values: dict[str, str] = {}
    for prefix, period in (("metric", "current"), ("previous", "previous")):
        stats = overview[period]
        for field in DASHBOARD_FIELDS:
            values[f"{prefix}-{field}"] = text(stats[field])
        values[f"{prefix}-posts"] = str(stats["posts"])
        growth = stats["subscriber_growth"]
        values[f"{prefix}-subscriber_growth"] = text(growth)
        percent = stats["subscriber_growth_percent"]
        if growth["value"] is not None or percent["value"] is not None:
            values[f"{prefix}-subscriber_growth_percent"] = text(percent)
    return values


_dev_users: dict[str, dict[str, Any]] = {}


def dev_user(stack: Stack) -> dict[str, Any]:
    """The development login's user, as its signed initData names it (asked once)."""
    if stack.url in _dev_users:
        return dict(_dev_users[stack.url])
    with stack.api() as client:
        init = client.get("/api/v1/dev/init-data").raise_for_status().json()["init_data"]
    _dev_users[stack.url] = dict(json.loads(parse_qs(init)["user"][0]))
    return dict(_dev_users[stack.url])


def signed_init_data(stack: Stack, user: dict[str, Any], start_param: str | None = None) -> str:
    """initData as Telegram would send it, signed with the stack's development bot token."""
    token = (stack.data_dir / "dev-bot-token").read_text().strip()
    fields = {
        "auth_date": str(int(time.time())),
        "query_id": f"E2E{int(time.time() * 1000)}",
        "user": json.dumps(user, separators=(",", ":")),
    }
    if start_param:
        fields["start_param"] = start_param
    return sign_init_data(fields, token)


def api_token(stack: Stack, init_data: str) -> str:
    with stack.api() as client:
        reply = client.post("/api/v1/auth/telegram", json={"init_data": init_data})
        return str(reply.raise_for_status().json()["access_token"])


async def block(route: Route) -> None:
    await route.abort()


@pytest.fixture(scope="module")
def history(stack: Stack) -> None:
    wait_for_history(stack, stack.login())


@asynccontextmanager
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def telegram_page(
    chromium: Browser,
    stack: Stack,
    init_data: str,
    path: str = "/",
    scheme: Literal["light", "dark"] = "light",
) -> Page:
    """A phone-sized page with the app opened inside the fake Telegram client."""
    context = await chromium.new_context(
        viewport={"width": 390, "height": 844}, color_scheme=scheme
    )
    config = {"initData": init_data, "scheme": scheme, "version": "8.0"}
    await context.add_init_script(f"window.__tgConfig = {json.dumps(config)};")
    await context.add_init_script(FAKE_TELEGRAM)
    await context.route("https://telegram.org/**", block)
    page = await context.new_page()
    await page.goto(stack.url + path)
    return page


async def calls(page: Page, prefix: str) -> list[list[Any]]:
    recorded: list[list[Any]] = await page.evaluate("window.__tg.calls")
    return [call for call in recorded if str(call[0]).startswith(prefix)]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def shown_value(page: Page, test_id: str) -> float | None:
    value = await page.get_by_test_id(test_id).first.get_attribute("data-value")
    return None if value is None else float(value)


async def test_owner_sees_the_numbers_the_api_returns(
    stack: Stack, chromium_path: str, history: None
) -> None:
    owner = dev_user(stack)
    received: list[dict[str, Any]] = []

    def on_socket(ws: WebSocket) -> None:
        def on_frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "overview":
                received.append(message["overview"])

        ws.on("framereceived", on_frame)

    async with browser(chromium_path) as chromium:
        page = await telegram_page(chromium, stack, signed_init_data(stack, owner))
        page.on("websocket", on_socket)

        async def on_response(response: Any) -> None:
            if "/overview" in response.url and response.ok:
                received.append(await response.json())

        page.on("response", on_response)
        await page.locator(f'[data-testid="channel-item"][data-channel-id="{CHANNEL}"]').click()
        await page.get_by_test_id("metric-err").wait_for(timeout=20_000)
        # While history replays, overviews keep arriving (REST, then the live feed): the
        # screen must settle on exactly the newest one.
        deadline = time.monotonic() + 20
        while True:
            shown = await page.evaluate(SHOWN_VALUES)
            assert received, "the dashboard fetched no overview"
            overview = received[-1]
            expected = expected_values(overview)
            if shown == expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert shown == expected
        assert any(value is not None for value in shown.values())

        # Inside Telegram the app draws no back link of its own; the MainButton opens posts.
        assert await page.get_by_test_id("back").count() == 0
        assert ["BackButton.show"] in await calls(page, "BackButton.show")
        main = await page.evaluate("window.Telegram.WebApp.MainButton.text")
        assert main == "Posts"
        await page.locator('[data-testid="chart-subscribers"] svg').wait_for(timeout=20_000)
        assert "upper bound" in (await page.get_by_test_id("views-upper-bound").inner_text())


async def test_post_and_back_with_telegrams_back_button(
    stack: Stack, chromium_path: str, history: None
) -> None:
    async with browser(chromium_path) as chromium:
        page = await telegram_page(chromium, stack, signed_init_data(stack, dev_user(stack)))
        await page.locator(f'[data-testid="channel-item"][data-channel-id="{CHANNEL}"]').click()
        await page.get_by_test_id("screen-dashboard").wait_for()
        await page.evaluate("window.__tg.pressMain()")  # the dashboard's main action: posts
        first = page.get_by_test_id("post-item").first
        await first.wait_for(timeout=20_000)
        message_id = await first.get_attribute("data-message-id")
        # Infinite scroll: pages of 30 load as the end of the list comes into view.
        total = int(await page.get_by_test_id("posts-total").get_attribute("data-value") or "0")
        items = page.get_by_test_id("post-item")
        assert total > 0
        while await items.count() < total:
            loaded = await items.count()
            await items.last.scroll_into_view_if_needed()
            await eventually(partial(_more_than, items, loaded), 10, f"more than {loaded} posts")
        assert await items.count() == total
        await page.get_by_test_id("posts-end").wait_for()
        await page.evaluate("window.scrollTo(0, 0)")
        await first.click()
        await page.get_by_test_id("chart-view-curve").wait_for(timeout=20_000)
        assert (
            await page.get_by_test_id("screen-post").get_attribute("data-message-id") == message_id
        )
        assert await page.evaluate("window.Telegram.WebApp.BackButton.isVisible")
        assert await calls(page, "HapticFeedback.impactOccurred")

        await page.evaluate("window.__tg.pressBack()")
        await page.get_by_test_id("screen-posts").wait_for()
        await page.evaluate("window.__tg.pressBack()")
        await page.get_by_test_id("screen-dashboard").wait_for()
        await page.evaluate("window.__tg.pressBack()")
        await page.get_by_test_id("screen-channels").wait_for()
        assert not await page.evaluate("window.Telegram.WebApp.BackButton.isVisible")


async def test_startapp_deep_link_opens_the_post(
    stack: Stack, chromium_path: str, history: None
) -> None:
    token = api_token(stack, signed_init_data(stack, dev_user(stack)))
    with stack.api() as client:
        posts = (
            client.get(
                f"/api/v1/channels/{CHANNEL}/posts",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
            .raise_for_status()
            .json()["posts"]
        )
    message_id = posts[0]["message_id"]
    init = signed_init_data(stack, dev_user(stack), f"channel_{CHANNEL}_post_{message_id}")
    async with browser(chromium_path) as chromium:
        page = await telegram_page(chromium, stack, init)
        screen = page.get_by_test_id("screen-post")
        await screen.wait_for(timeout=20_000)
        assert await screen.get_attribute("data-message-id") == str(message_id)
        await page.evaluate("window.__tg.pressBack()")
        await page.get_by_test_id("screen-posts").wait_for()


async def grant_viewer(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO users (id, first_name) VALUES ($1, 'Viewer') ON CONFLICT (id) DO NOTHING",
            VIEWER_ID,
        )
        await conn.execute(
            """INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, 'viewer')
               ON CONFLICT (user_id, channel_id) DO UPDATE SET role = 'viewer'""",
            VIEWER_ID,
            CHANNEL,
        )
    finally:
        await conn.close()


async def test_a_viewer_sees_no_management(stack: Stack, chromium_path: str, history: None) -> None:
    await grant_viewer(stack.database_url)
    viewer = {"id": VIEWER_ID, "first_name": "Viewer", "language_code": "en"}
    async with browser(chromium_path) as chromium:
        page = await telegram_page(chromium, stack, signed_init_data(stack, viewer))
        items = page.get_by_test_id("channel-item")
        await items.first.wait_for(timeout=20_000)
        assert await items.count() == 1
        assert await page.get_by_test_id("channel-role").get_attribute("data-value") == "viewer"
        await items.first.click()
        await page.get_by_test_id("nav-alerts").wait_for(timeout=20_000)
        for hidden in ("nav-team", "nav-share", "nav-export"):
            assert await page.get_by_test_id(hidden).count() == 0, hidden
        await page.get_by_test_id("nav-alerts").click()
        await page.get_by_test_id("screen-alerts").wait_for()
        await page.locator(
            '[data-testid="rules-empty"], [data-testid="rule-item"]'
        ).first.wait_for()
        assert await page.get_by_test_id("rule-delete").count() == 0
        assert not await page.evaluate("window.Telegram.WebApp.MainButton.isVisible")

        # The owner of the same channel does get the management the viewer lacks.
        owner = await telegram_page(
            chromium, stack, signed_init_data(stack, dev_user(stack)), f"/#/channel/{CHANNEL}"
        )
        await owner.get_by_test_id("nav-export").wait_for(timeout=20_000)
        assert await owner.get_by_test_id("nav-share").count() == 1
        # The owner's team: the member list holds the owner and the viewer granted above.
        await owner.get_by_test_id("nav-team").click()
        await owner.get_by_test_id("screen-team").wait_for()
        await owner.get_by_test_id("member-item").first.wait_for(timeout=20_000)
        roles = {
            await item.get_attribute("data-user-id"): await item.get_attribute("data-role")
            for item in await owner.get_by_test_id("member-item").all()
        }
        assert roles.get(str(dev_user(stack)["id"])) == "owner", roles
        assert roles.get(str(VIEWER_ID)) == "viewer", roles
        await owner.evaluate("window.__tg.pressBack()")
        await owner.get_by_test_id("nav-alerts").click()
        await owner.get_by_test_id("screen-alerts").wait_for()
        await eventually(
            lambda: owner.evaluate("window.Telegram.WebApp.MainButton.isVisible"),
            10,
            "the owner's Add alert button",
        )


async def publish_subscribers(stack: Stack, redis_url: str, subscribers: int) -> None:
    """A new subscriber sample, committed, then announced as the collector does."""
    at = datetime.now(UTC)
    conn = await asyncpg.connect(stack.database_url)
    try:
        latest = await conn.fetchval(
            "SELECT max(sampled_at) FROM channel_snapshots WHERE channel_id = $1", CHANNEL
        )
        if latest is not None and latest >= at:
            at = latest + timedelta(seconds=1)
        await conn.execute(
            """INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers)
               VALUES ($1, $2, $3)""",
            CHANNEL,
            at,
            subscribers,
        )
    finally:
        await conn.close()
    client = redis.Redis.from_url(redis_url)
    try:
        stamp = at.isoformat()
        await client.xadd(
            stack.redis_name("ab:events:ingest"),
            {"channel_id": str(CHANNEL), "kind": "subscribers", "at": stamp},
            maxlen=100_000,
            approximate=True,
        )
        payload = {"channel_id": CHANNEL, "kind": "subscribers", "at": stamp}
        await client.publish(stack.redis_name(f"ab:events:channel:{CHANNEL}"), json.dumps(payload))
    finally:
        await client.aclose()


async def test_export_hands_telegram_a_link_that_downloads_the_csv(
    stack: Stack, chromium_path: str, history: None
) -> None:
    async with browser(chromium_path) as chromium:
        page = await telegram_page(
            chromium, stack, signed_init_data(stack, dev_user(stack)), f"/#/channel/{CHANNEL}"
        )
        await page.get_by_test_id("nav-export").click(timeout=20_000)

        async def handed_over() -> bool:
            return bool(await calls(page, "downloadFile"))

        await eventually(handed_over, 20, "Telegram.WebApp.downloadFile")
        ((_, params),) = await calls(page, "downloadFile")
    assert params["file_name"] == f"channel-{CHANNEL}-posts.csv"
    assert params["url"].startswith(f"{stack.url}/api/v1/exports/exl_")
    # Telegram fetches the URL itself: no Authorization header.
    async with httpx.AsyncClient(timeout=30) as client:
        downloaded = await client.get(params["url"])
        exported = await client.get(
            f"{stack.url}/api/v1/channels/{CHANNEL}/export.csv",
            headers={"Authorization": f"Bearer {stack.login()}"},
        )
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.headers["content-disposition"] == (
        f'attachment; filename="channel-{CHANNEL}-posts.csv"'
    )
    rows = downloaded.text.splitlines()
    assert rows[0] == exported.text.splitlines()[0]
    assert len(rows) > 1


async def test_a_live_update_changes_the_number_without_reload(
    stack: Stack, chromium_path: str, redis_url: str, history: None
) -> None:
    async with browser(chromium_path) as chromium:
        page = await telegram_page(
            chromium, stack, signed_init_data(stack, dev_user(stack)), f"/#/channel/{CHANNEL}"
        )
        await page.get_by_test_id("metric-subscribers_end").wait_for(timeout=20_000)
        await eventually(lambda: _is_live(page), 20, "the live indicator")
        await page.evaluate("window.__notReloaded = true")
        before = await shown_value(page, "metric-subscribers_end")
        assert before is not None
        wanted = int(before) + 4321
        await publish_subscribers(stack, redis_url, wanted)
        await eventually(
            lambda: _shows(page, "metric-subscribers_end", wanted),
            20,
            "the pushed subscriber count",
        )
        assert await page.evaluate("window.__notReloaded === true")


async def _is_live(page: Page) -> bool:
    return await page.get_by_test_id("live-indicator").get_attribute("data-status") == "live"


async def _shows(page: Page, test_id: str, value: float) -> bool:
    return await shown_value(page, test_id) == value


def test_first_screen_javascript_is_small(stack: Stack) -> None:
    """The first screen's scripts (entry plus its static imports) stay far under 150 KB
    gzipped; secondary screens are separate chunks."""
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        index = client.get("/").text
        scripts = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)
        assert scripts
        total = sum(len(gzip.compress(client.get(s).content, 9)) for s in scripts)
    assert total < 150 * 1024, total


async def test_language_follows_telegram_and_the_users_choice(
    stack: Stack, chromium_path: str, history: None
) -> None:
    user = {**dev_user(stack), "language_code": "uz"}
    async with browser(chromium_path) as chromium:
        page = await telegram_page(chromium, stack, signed_init_data(stack, user))
        title = page.locator('[data-testid="screen-channels"] h1')
        await page.get_by_test_id("channel-item").first.wait_for(timeout=20_000)
        assert await title.inner_text() == "Kanallaringiz"
        assert await page.evaluate("document.documentElement.lang") == "uz-Latn"
        await page.get_by_test_id("lang-ru").click()
        await eventually(
            lambda: _text_is(title, "Ваши каналы"), 5, "the Russian title after switching"
        )
        assert ["CloudStorage.setItem", "language", "ru"] in await calls(page, "CloudStorage")
        # The chosen period is a preference too.
        await page.get_by_test_id("channel-item").first.click()
        await page.get_by_test_id("period-30").click()
        assert ["CloudStorage.setItem", "period", "30"] in await calls(page, "CloudStorage")
        assert await calls(page, "HapticFeedback.selectionChanged")
        # Telegram switches to its dark theme while the app is open.
        await page.evaluate("window.__tg.setScheme('dark')")
        assert await page.evaluate("document.documentElement.dataset.scheme") == "dark"
        background = await page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--tg-theme-bg-color')"
        )
        assert background.strip() == "#212121"


async def _text_is(locator: Any, text: str) -> bool:
    return bool(await locator.inner_text() == text)


async def _more_than(locator: Any, count: int) -> bool:
    return bool(await locator.count() > count)


async def test_a_share_link_opens_read_only_without_telegram_until_revoked(
    stack: Stack, chromium_path: str, history: None
) -> None:
    owner_token = api_token(stack, signed_init_data(stack, dev_user(stack)))
    auth = {"Authorization": f"Bearer {owner_token}"}
    async with browser(chromium_path) as chromium:
        # The owner creates the link in the app and sees its URL once.
        owner = await telegram_page(
            chromium,
            stack,
            signed_init_data(stack, dev_user(stack)),
            f"/#/channel/{CHANNEL}/share",
        )
        await owner.get_by_test_id("screen-share").wait_for(timeout=20_000)
        await owner.get_by_test_id("share-ttl-1").click()
        await owner.evaluate("window.__tg.pressMain()")  # Create link
        url = await owner.get_by_test_id("share-link").input_value(timeout=20_000)
        token = url.split("#", 1)[1]
        assert token.startswith("shr_"), url
        active = owner.locator('[data-testid="share-item"][data-status="active"]')
        await active.first.wait_for()

        # A fresh browser: no Telegram, no development login; only the link.
        context = await chromium.new_context(viewport={"width": 390, "height": 844})
        await context.route("https://telegram.org/**", block)
        await context.route("**/api/v1/dev/init-data", block)
        await context.route("**/api/v1/auth/telegram", block)
        shared = await context.new_page()
        await shared.goto(f"{stack.url}/s#{token}")
        dashboard = shared.locator(f'[data-testid="screen-dashboard"][data-channel-id="{CHANNEL}"]')
        await dashboard.wait_for(timeout=20_000)
        await shared.get_by_test_id("shared-banner").wait_for()
        assert "read-only" in await shared.get_by_test_id("shared-banner").inner_text()
        await shared.get_by_test_id("metric-err").wait_for(timeout=20_000)
        await shared.get_by_test_id("nav-posts").wait_for()
        for hidden in ("nav-export", "nav-alerts", "nav-team", "nav-share", "back"):
            assert await shared.get_by_test_id(hidden).count() == 0, hidden
        assert token not in shared.url  # the secret left the address bar
        # Nothing outside the link's scope: the channel list leads back to the dashboard.
        await shared.evaluate("location.hash = '#/'")
        await dashboard.wait_for()
        await shared.evaluate(f"location.hash = '#/channel/{CHANNEL}/team'")
        await dashboard.wait_for()

        links = await asyncio.to_thread(_share_links, stack, auth)
        link_id = next(link["link_id"] for link in links if link["status"] == "active")
        with stack.api() as client:
            client.delete(
                f"/api/v1/channels/{CHANNEL}/share-links/{link_id}", headers=auth
            ).raise_for_status()
        await shared.reload()
        dead = shared.get_by_test_id("screen-share-dead")
        await dead.wait_for(timeout=20_000)
        assert await dead.get_attribute("data-code") == "SHARE_LINK_REVOKED"
        assert await shared.get_by_test_id("screen-dashboard").count() == 0

        # The owner's list shows the link as revoked after a reload.
        await owner.reload()
        revoked = owner.locator(
            f'[data-testid="share-item"][data-link-id="{link_id}"][data-status="revoked"]'
        )
        await revoked.wait_for(timeout=20_000)
        await context.close()


def _share_links(stack: Stack, auth: dict[str, str]) -> list[dict[str, Any]]:
    with stack.api() as client:
        reply = client.get(f"/api/v1/channels/{CHANNEL}/share-links", headers=auth)
        return list(reply.raise_for_status().json()["links"])
