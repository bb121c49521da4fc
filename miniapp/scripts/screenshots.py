"""Screenshots of every Mini App screen, light and dark, at phone size (390 x 844).

The app runs "inside Telegram" (scripts/telegram-fake.js with Telegram's light and
dark theme parameters and initData signed by the development login), so Telegram's
own BackButton and MainButton replace the in-page fallbacks, as on a phone. Run
against a running stack (``analyticbot run``) whose simulated history has been
replayed; writes ``docs/screenshots/<screen>-<light|dark>.png``:

    .venv/bin/python miniapp/scripts/screenshots.py http://127.0.0.1:18090
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, Route, async_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
FAKE = (Path(__file__).resolve().parent / "telegram-fake.js").read_text()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def dev_init_data(client: httpx.Client) -> str:
    return str(client.get("/api/v1/dev/init-data").raise_for_status().json()["init_data"])


def pick(client: httpx.Client) -> dict[str, Any]:
    """A channel with posts, a post with a dense view curve, and channels with and
    without native statistics; adds two alert rules so the alerts screen has some."""
    token = client.post("/api/v1/auth/telegram", json={"init_data": dev_init_data(client)})
    auth = {"Authorization": f"Bearer {token.raise_for_status().json()['access_token']}"}
    channels = client.get("/api/v1/channels", headers=auth).raise_for_status().json()["channels"]
    ids = [c["channel_id"] for c in channels]
    native_with: int | None = None
    native_without: int | None = None
    for cid in ids:
        reply = client.get(f"/api/v1/channels/{cid}/native-stats", headers=auth)
        if reply.status_code != 200:
            print(f"native-stats of {cid}: HTTP {reply.status_code} {reply.text[:120]}")
            continue
        if reply.json()["entries"]:
            native_with = native_with or cid
        else:
            native_without = native_without or cid
    channel = ids[-1]
    posts = (
        client.get(f"/api/v1/channels/{channel}/posts", params={"limit": 40}, headers=auth)
        .raise_for_status()
        .json()["posts"]
    )
    best, samples = posts[0]["message_id"], -1
    for post in posts:
        if post["reach_48h"]["value"] is None:
            continue
        detail = client.get(f"/api/v1/channels/{channel}/posts/{post['message_id']}", headers=auth)
        count = len(detail.raise_for_status().json()["view_curve"])
        if count > samples:
            best, samples = post["message_id"], count
    rules = client.get(f"/api/v1/channels/{channel}/alert-rules", headers=auth).json()["rules"]
    if not rules:
        for body in ({"kind": "post_viral", "threshold": 2}, {"kind": "subscriber_milestone"}):
            client.post(f"/api/v1/channels/{channel}/alert-rules", json=body, headers=auth)
    # Two share links (one revoked) for the share-links list, and a live one for the shared view.
    links = client.get(f"/api/v1/channels/{channel}/share-links", headers=auth).json()["links"]
    if not links:
        old = client.post(f"/api/v1/channels/{channel}/share-links", json={}, headers=auth).json()
        client.delete(f"/api/v1/channels/{channel}/share-links/{old['link']['link_id']}", headers=auth)
    invites = client.get(f"/api/v1/channels/{channel}/invites", headers=auth).json()["invites"]
    if not invites:
        client.post(
            f"/api/v1/channels/{channel}/invites",
            json={"role": "analyst", "single_use": False, "valid_for_seconds": 30 * 86400},
            headers=auth,
        )
    share = client.post(
        f"/api/v1/channels/{channel}/share-links", json={"ttl_seconds": 86400}, headers=auth
    )
    return {
        "channel": channel,
        "post": best,
        "native": native_with,
        "native_empty": native_without,
        "share_token": share.raise_for_status().json()["token"],
    }


async def block(route: Route) -> None:
    await route.abort()


async def shoot(page: Page, name: str, scheme: str) -> None:
    await page.wait_for_timeout(700)
    path = OUT / f"{name}-{scheme}.png"
    await page.screenshot(path=str(path), full_page=True)
    print("wrote", path.relative_to(ROOT))


async def main(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        chosen = pick(client)
        init_data = {scheme: dev_init_data(client) for scheme in ("light", "dark")}
    OUT.mkdir(parents=True, exist_ok=True)
    c = chosen["channel"]
    screens = [
        ("#/", '[data-testid="channel-sparkline"]', "channels"),
        (f"#/channel/{c}", '[data-testid="chart-subscribers"] svg', "dashboard"),
        (f"#/channel/{c}/posts", '[data-testid="post-item"]', "posts"),
        (f"#/channel/{c}/post/{chosen['post']}", '[data-chart="line"]', "post"),
        (f"#/channel/{c}/best-time", '[data-chart="heatmap"]', "best-time"),
        (
            f"#/channel/{c}/alerts",
            '[data-testid="rule-item"], [data-testid="rules-empty"]',
            "alerts",
        ),
        (f"#/channel/{c}/team", '[data-testid="member-item"]', "team"),
        (f"#/channel/{c}/share", '[data-testid="share-item"]', "share-links"),
    ]
    if chosen["native"] is not None:
        screens.append(
            (f"#/channel/{chosen['native']}/native", '[data-testid="native-latest"]', "native")
        )
    if chosen["native_empty"] is not None:
        screens.append(
            (
                f"#/channel/{chosen['native_empty']}/native",
                '[data-testid="native-empty"]',
                "native-empty",
            )
        )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for scheme in ("light", "dark"):
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844}, color_scheme=scheme, locale="en-US"
                )
                config = {"initData": init_data[scheme], "scheme": scheme, "version": "8.0"}
                await context.add_init_script(f"window.__tgConfig = {json.dumps(config)};")
                await context.add_init_script(FAKE)
                await context.route("https://telegram.org/**", block)
                for hash_, ready, name in screens:
                    page = await context.new_page()
                    await page.goto(f"{base}/{hash_}")
                    await page.wait_for_selector(ready, timeout=30_000)
                    await shoot(page, name, scheme)
                    if name == "alerts":
                        await page.evaluate("window.__tg.pressMain()")
                        await page.wait_for_selector('[data-testid="alert-form"]')
                        await shoot(page, "alerts-form", scheme)
                    if name == "team":
                        await page.evaluate("window.__tg.pressMain()")  # New invite
                        await page.wait_for_selector('[data-testid="invite-form"]')
                        await page.evaluate("window.__tg.pressMain()")  # Create invite
                        await page.wait_for_selector('[data-testid="invite-created"]')
                        await shoot(page, "team-invite", scheme)
                    if name == "share-links":
                        await page.evaluate("window.__tg.pressMain()")  # Create link
                        await page.wait_for_selector('[data-testid="share-created"]')
                        await shoot(page, "share-links-created", scheme)
                    await page.close()
                await context.close()
                # The shared view: an ordinary browser with only the link, no Telegram.
                shared = await browser.new_context(
                    viewport={"width": 390, "height": 844}, color_scheme=scheme, locale="en-US"
                )
                await shared.route("https://telegram.org/**", block)
                page = await shared.new_page()
                await page.goto(f"{base}/s#{chosen['share_token']}")
                await page.wait_for_selector('[data-testid="chart-subscribers"] svg', timeout=30_000)
                await shoot(page, "shared", scheme)
                await page.goto(f"{base}/s#shr_{'x' * 43}")
                await page.reload()
                await page.wait_for_selector('[data-testid="screen-share-dead"]', timeout=30_000)
                await shoot(page, "shared-unknown", scheme)
                await shared.close()
        finally:
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18090"))
