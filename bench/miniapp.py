"""The Mini App's weight and speed against a running stack, in headless Chromium.

Run: ``.venv/bin/python -m bench.miniapp [URL]`` (default ``http://127.0.0.1:8080``;
start the stack with ``analyticbot run`` and let the simulated history replay first).
Prints a Markdown table; ``run()`` returns the figures.

- **First-screen JavaScript**: every script ``index.html`` loads or preloads (the entry
  chunk and its static imports), gzipped at level 9 as a server would send it; CSS
  beside it. Lazily loaded screens are listed separately.
- **Time to first chart**: a fresh browser context (cold cache, a new sign-in) opens
  the app on a channel's dashboard, as a ``startapp`` deep link does; measured from
  navigation start to the first chart's SVG in the DOM, by the page's own clock
  (``performance.now()``). Also the channel list's first sparkline. Median of N runs,
  paced to stay within the gateway's default sign-in rate limit.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import shutil
import statistics
import sys
from dataclasses import dataclass

import httpx
from playwright.async_api import Route, async_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RUNS = 5
# Each cold load signs in; the gateway allows 20 sign-ins a minute per IP by default.
PACE_SECONDS = 3.5
# Records when the first element matching each selector enters the DOM.
PROBE = """
window.__firstSeen = {};
new MutationObserver(() => {
  for (const [name, selector] of [["chart", "[data-chart] path, [data-chart] rect"],
                                  ["sparkline", "[data-chart=sparkline] path"]]) {
    if (!(name in window.__firstSeen) && document.querySelector(selector)) {
      window.__firstSeen[name] = performance.now();
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


@dataclass(frozen=True)
class Bundle:
    first_screen_js_gz: int
    first_screen_js_raw: int
    css_gz: int
    lazy_chunks_gz: dict[str, int]


@dataclass(frozen=True)
class Timing:
    dashboard_first_chart_ms: float
    dashboard_first_chart_max_ms: float
    list_first_sparkline_ms: float


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def bundle(client: httpx.Client) -> Bundle:
    index = client.get("/").raise_for_status().text
    first = sorted(set(re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)))
    css = sorted(set(re.findall(r'href="(/assets/[^"]+\.css)"', index)))
    bodies = {path: client.get(path).raise_for_status().content for path in first}
    entry = next(path for path in first if f'src="{path}"' in index)
    # Lazily loaded chunks: named in the entry, and in those chunks (shared pieces).
    lazy_sizes: dict[str, int] = {}
    pending = [bodies[entry]]
    while pending:
        for name in re.findall(r'"(?:\./)?([\w-]+-[\w-]{8}\.js)"', pending.pop().decode()):
            if f"/assets/{name}" in bodies or name in lazy_sizes:
                continue
            body = client.get(f"/assets/{name}").raise_for_status().content
            lazy_sizes[name] = gz(body)
            pending.append(body)
    return Bundle(
        first_screen_js_gz=sum(gz(body) for body in bodies.values()),
        first_screen_js_raw=sum(len(body) for body in bodies.values()),
        css_gz=sum(gz(client.get(path).content) for path in css),
        lazy_chunks_gz=lazy_sizes,
    )


async def _block(route: Route) -> None:
    await route.abort()


async def timing(base: str, channel_id: int, runs: int) -> Timing:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required"
    chart: list[float] = []
    sparkline: list[float] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                for path, name, into in (
                    (f"/#/channel/{channel_id}", "chart", chart),
                    ("/", "sparkline", sparkline),
                ):
                    context = await browser.new_context(viewport={"width": 390, "height": 844})
                    await context.route("https://telegram.org/**", _block)
                    await context.add_init_script(PROBE)
                    page = await context.new_page()
                    await page.goto(base + path)
                    seen = None
                    for _ in range(300):  # the page's CSP forbids wait_for_function's eval
                        seen = await page.evaluate(f"(window.__firstSeen || {{}})['{name}']")
                        if seen is not None:
                            break
                        await asyncio.sleep(0.1)
                    assert seen is not None, f"no {name} in 30 s at {path}"
                    into.append(float(seen))
                    await context.close()
                    await asyncio.sleep(PACE_SECONDS)
        finally:
            await browser.close()
    return Timing(
        dashboard_first_chart_ms=statistics.median(chart),
        dashboard_first_chart_max_ms=max(chart),
        list_first_sparkline_ms=statistics.median(sparkline),
    )


def run(base: str, runs: int = RUNS) -> tuple[Bundle, Timing]:
    with httpx.Client(base_url=base, timeout=30) as client:
        sizes = bundle(client)
        init = client.get("/api/v1/dev/init-data").raise_for_status().json()
        token = client.post("/api/v1/auth/telegram", json=init).raise_for_status().json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        channels = client.get("/api/v1/channels", headers=auth).raise_for_status().json()
    channel_id = int(channels["channels"][0]["channel_id"])
    return sizes, asyncio.run(timing(base, channel_id, runs))


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    sizes, times = run(base)
    print("| measure | value |")
    print("|---|---:|")
    print(f"| first-screen JS, gzipped | {sizes.first_screen_js_gz / 1024:.1f} KB |")
    print(f"| first-screen JS, raw | {sizes.first_screen_js_raw / 1024:.1f} KB |")
    print(f"| CSS, gzipped | {sizes.css_gz / 1024:.1f} KB |")
    for name, size in sorted(sizes.lazy_chunks_gz.items()):
        print(f"| lazy chunk `{name}`, gzipped | {size / 1024:.1f} KB |")
    print(
        f"| time to first chart, dashboard (median of {RUNS}) | "
        f"{times.dashboard_first_chart_ms:.0f} ms |"
    )
    print(
        f"| time to first chart, dashboard (worst) | {times.dashboard_first_chart_max_ms:.0f} ms |"
    )
    print(
        "| time to first sparkline, channel list (median) | "
        f"{times.list_first_sparkline_ms:.0f} ms |"
    )


if __name__ == "__main__":
    main()
