"""Ink put on the printed page by hand before it was scanned: official seals and pen strokes."""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw

from synth.layout import PageLayout
from synth.render import TITLE_FACES, _font

SEAL_TEXTS = ["财务专用章", "", "", "预算专用章"]
# Cells a seal is pressed over: official seals go on the unit's name or the amounts.
SEAL_TARGETS = (
    "value:implementing_unit",
    "value:department",
    "value:funds_total",
    "value:funds_fiscal",
    "value:project_name",
    "ind:value",
    "value:overall_goal",
)


def press_seal(
    image: Image.Image, page: PageLayout, unit: str, dpi: int, rng: random.Random
) -> None:
    """Press a red round seal bearing `unit` over a cell that holds text."""
    px = dpi / 25.4
    targets = [c for c in page.cells if c.lines and c.role in SEAL_TARGETS]
    if not targets:
        return
    cell = rng.choice(targets)
    radius = rng.uniform(18, 21) * px
    cx = (cell.x0 + (cell.x1 - cell.x0) * rng.uniform(0.3, 0.7)) * px
    cy = (cell.y0 + cell.y1) / 2 * px + rng.uniform(-4, 4) * px
    size = int(radius * 2 + 8)
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    c = size / 2
    ring = max(2, round(rng.uniform(0.9, 1.3) * px))
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=ring)
    _star(draw, c, c + radius * 0.02, radius * 0.3)
    _arc_text(layer, unit, c, radius * 0.74, size_px=round(radius * 0.26))
    bottom = rng.choice(SEAL_TEXTS)
    if bottom:
        font = _font(TITLE_FACES[0], round(radius * 0.17))
        draw.text((c, c + radius * 0.55), bottom, font=font, fill=255, anchor="mm")
    layer = layer.rotate(rng.uniform(-35, 35), resample=Image.Resampling.BILINEAR)

    # Stamp ink is uneven: some of the pad's ink never reaches the paper.
    alpha = np.asarray(layer, dtype=np.float32) / 255.0
    nprng = np.random.default_rng(rng.getrandbits(32))
    alpha *= np.clip(nprng.normal(rng.uniform(0.7, 0.95), 0.18, alpha.shape), 0, 1)
    red = np.array([rng.randint(185, 225), rng.randint(20, 60), rng.randint(30, 70)], np.float32)
    _multiply(image, alpha, red, (round(cx - c), round(cy - c)))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    points = []
    for k in range(10):
        rad = r if k % 2 == 0 else r * 0.38
        a = -math.pi / 2 + k * math.pi / 5
        points.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    draw.polygon(points, fill=255)


def _arc_text(layer: Image.Image, text: str, c: float, r: float, size_px: int) -> None:
    text = text[:16]
    font = _font(TITLE_FACES[0], size_px)
    span = min(250.0, 18.0 * len(text))
    for k, ch in enumerate(text):
        angle = -90 - span / 2 + span * (k + 0.5) / len(text)
        glyph = Image.new("L", (size_px * 2, size_px * 2), 0)
        ImageDraw.Draw(glyph).text((size_px, size_px), ch, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-(angle + 90), resample=Image.Resampling.BILINEAR)
        x = c + r * math.cos(math.radians(angle)) - size_px
        y = c + r * math.sin(math.radians(angle)) - size_px
        layer.paste(255, (round(x), round(y)), glyph)


def _multiply(image: Image.Image, alpha: np.ndarray, ink: np.ndarray, at: tuple[int, int]) -> None:
    """Lay translucent ink over the page: dark print stays visible through it, as with real ink."""
    page = np.asarray(image, dtype=np.float32)
    h, w = alpha.shape
    x, y = at
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(page.shape[1], x + w), min(page.shape[0], y + h)
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = page[y0:y1, x0:x1]
    page[y0:y1, x0:x1] = region * (1 - a) + region * (ink / 255.0) * a
    image.paste(Image.fromarray(page.clip(0, 255).astype(np.uint8)))


def pen_strokes(image: Image.Image, page: PageLayout, dpi: int, rng: random.Random) -> None:
    """A reviewer's pen: ticks beside values, an underline, a ring round a value, initials."""
    px = dpi / 25.4
    draw = ImageDraw.Draw(image)
    color = rng.choice([(25, 45, 150), (20, 20, 30), (30, 60, 170)])
    width = max(1, round(rng.uniform(0.3, 0.55) * px))
    values = [
        c
        for c in page.cells
        if c.lines
        and c.role in ("ind:value", "value:funds_total", "value:project_name", "ind:name")
    ]
    for _ in range(rng.randint(1, 4)):
        if not values:
            break
        cell = rng.choice(values)
        kind = rng.choice(["tick", "tick", "underline", "ring", "initials"])
        if kind == "tick":
            x = cell.x1 - rng.uniform(1.5, 5)
            y = (cell.y0 + cell.y1) / 2
            pts = [(x - 2.2, y - 0.3), (x - 0.8, y + 1.6), (x + 2.4, y - 2.6)]
        elif kind == "underline":
            y = (cell.y0 + cell.y1) / 2 + rng.uniform(1.8, 2.6)
            x0 = cell.x0 + rng.uniform(1, 4)
            pts = [
                (x0 + t * (cell.x1 - cell.x0 - 6) / 6, y + rng.uniform(-0.4, 0.4)) for t in range(7)
            ]
        elif kind == "ring":
            cx, cy = (cell.x0 + cell.x1) / 2, (cell.y0 + cell.y1) / 2
            rx, ry = (cell.x1 - cell.x0) * rng.uniform(0.3, 0.45), (cell.y1 - cell.y0) * 0.55
            start = rng.uniform(0, 2 * math.pi)
            pts = [
                (
                    cx + rx * math.cos(start + t / 20 * 2.15 * math.pi) + rng.uniform(-0.3, 0.3),
                    cy + ry * math.sin(start + t / 20 * 2.15 * math.pi),
                )
                for t in range(21)
            ]
        else:
            x, y = page.width_mm - rng.uniform(30, 45), page.height_mm - rng.uniform(10, 14)
            pts = [(x + t * 1.6, y + 2.5 * math.sin(t * rng.uniform(1.2, 2.2))) for t in range(12)]
        draw.line([(a * px, b * px) for a, b in pts], fill=color, width=width, joint="curve")
