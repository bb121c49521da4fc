"""The digest's chart: a small PNG line chart drawn with Pillow.

Pillow instead of matplotlib: one line, a grid and a few labels need about sixty lines
here, against a 40 MB dependency that takes a second to import. Labels are digits and
dates only, so the bundled font covers every language; titles go into the caption.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 80, 20, 20, 40
_LINE = (42, 129, 230)
_GRID = (225, 228, 232)
_TEXT = (90, 96, 104)


def _label(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"


def line_chart(points: Sequence[tuple[datetime, float]]) -> bytes:
    """A PNG of ``points`` (time, value), oldest first; at least one point."""
    if not points:
        raise ValueError("a chart needs at least one point")
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    for step in range(5):
        y = _TOP + plot_h * step / 4
        draw.line([(_LEFT, y), (WIDTH - _RIGHT, y)], fill=_GRID, width=1)
        value = high - (high - low) * step / 4
        draw.text((_LEFT - 8, y), _label(value), fill=_TEXT, font=font, anchor="rm")
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds() or 1.0

    def xy(moment: datetime, value: float) -> tuple[float, float]:
        x = _LEFT + plot_w * (moment - start).total_seconds() / span
        y = _TOP + plot_h * (high - value) / (high - low)
        return x, y

    coords = [xy(m, v) for m, v in points]
    if len(coords) > 1:
        draw.line(coords, fill=_LINE, width=3, joint="curve")
    for x, y in coords[:: max(1, len(coords) // 12)] + coords[-1:]:
        draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=_LINE)
    for moment, anchor in ((start, "lt"), (end, "rt")):
        x = xy(moment, low)[0]
        draw.text(
            (x, HEIGHT - _BOTTOM + 10),
            f"{moment:%d.%m %H:%M}",
            fill=_TEXT,
            font=font,
            anchor=anchor,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
