"""Ink put on the printed page by hand: red seals and pen strokes.

Both are blended like ink on paper (the paper's colour multiplied by the ink's), so the printed
text stays visible under them, as it does under a real stamp.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sheetsynth.metrics import font_file

SEAL_FACES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei")
SEAL_REDS = ((205, 35, 45), (190, 25, 60), (220, 60, 55), (170, 30, 40))
PEN_INKS = ((35, 55, 165), (20, 40, 120), (25, 25, 30), (60, 60, 70))
MM_PER_INCH = 25.4


def mm(value: float, dpi: int) -> int:
    """`value` millimetres in pixels at `dpi`."""
    return max(1, round(value * dpi / MM_PER_INCH))


def blend_ink(page: np.ndarray, mask: np.ndarray, x: int, y: int, colour: tuple[int, ...]) -> None:
    """Print `mask` (0..1, ink amount) with `colour` at (x, y), top left, onto `page` in place."""
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, page.shape[1]), min(y + h, page.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    ink = np.asarray(colour, dtype=np.float32) / 255.0
    region = page[y0:y1, x0:x1].astype(np.float32)
    page[y0:y1, x0:x1] = np.clip(region * (1.0 - m * (1.0 - ink)), 0, 255).astype(np.uint8)


def seal_mask(unit: str, dpi: int, rng: random.Random) -> np.ndarray:
    """A round official seal as ink amount (0..1): ring, star, the unit's name on an arc."""
    diameter_mm = rng.uniform(38, 44)
    size = mm(diameter_mm + 2, dpi)
    scale = 2  # draw large, then shrink: smooth edges
    big = size * scale
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    centre = big / 2
    radius = mm(diameter_mm / 2, dpi) * scale
    ring = mm(rng.uniform(0.9, 1.5), dpi) * scale
    draw.ellipse(
        (centre - radius, centre - radius, centre + radius, centre + radius),
        outline=255,
        width=ring,
    )
    star = radius * 0.28
    points = []
    for k in range(10):
        r = star if k % 2 == 0 else star * 0.4
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((centre + r * math.cos(angle), centre + r * math.sin(angle)))
    draw.polygon(points, fill=255)
    _arc_text(image, unit, centre, radius - ring - mm(0.8, dpi) * scale, dpi * scale, rng)
    if rng.random() < 0.6:
        below = rng.choice(["财务专用章", "业务专用章", ""])
        if below:
            path, index = font_file(rng.choice(SEAL_FACES))
            font = ImageFont.truetype(path, mm(4.2, dpi) * scale, index=index)
            draw.text((centre, centre + radius * 0.55), below, font=font, fill=255, anchor="mm")
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    mask = np.asarray(small, dtype=np.float32) / 255.0
    # Uneven ink on the rubber: a smooth field of strong and weak patches, and pores.
    patches = cv2.resize(
        np.asarray([[rng.uniform(0.45, 1.0) for _ in range(5)] for _ in range(5)], np.float32),
        (size, size),
        interpolation=cv2.INTER_CUBIC,
    )
    nprng = np.random.default_rng(rng.getrandbits(32))
    pores = (nprng.random((size, size)) > 0.12).astype(np.float32)
    pores = cv2.GaussianBlur(pores, (0, 0), max(dpi / 200, 0.6))
    mask = np.clip(mask * patches * pores, 0, 1)
    angle = rng.uniform(-35, 35)
    m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
    return cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)


def _arc_text(
    image: Image.Image, text: str, centre: float, radius: float, dpi: int, rng: random.Random
) -> None:
    """The unit's name round the top of the seal, each character upright to the centre."""
    text = text.strip()[:22]
    if not text:
        return
    span = min(250.0, 24.0 * len(text) + 40)  # degrees of arc the name covers
    char_px = min(mm(6.0, dpi), int(radius * math.radians(span) / len(text) * 0.92))
    path, index = font_file(rng.choice(SEAL_FACES), bold=True)
    font = ImageFont.truetype(path, max(char_px, 8), index=index)
    step = span / max(len(text) - 1, 1)
    for i, char in enumerate(text):
        degrees = -90 - span / 2 + i * step  # from the left of the top, clockwise
        tile = Image.new("L", (char_px * 2, char_px * 2), 0)
        ImageDraw.Draw(tile).text((char_px, char_px), char, font=font, fill=255, anchor="mm")
        tile = tile.rotate(-(degrees + 90), resample=Image.Resampling.BICUBIC)
        r = radius - char_px * 0.62
        x = centre + r * math.cos(math.radians(degrees)) - char_px
        y = centre + r * math.sin(math.radians(degrees)) - char_px
        image.paste(255, (round(x), round(y)), tile)


def press_seal(
    page: np.ndarray,
    unit: str,
    centre: tuple[float, float],
    dpi: int,
    rng: random.Random,
    *,
    faint: bool,
) -> tuple[int, int, int, int]:
    """Stamp a seal centred near `centre` (pixels); returns the box it covers."""
    mask = seal_mask(unit, dpi, rng) * (rng.uniform(0.3, 0.45) if faint else rng.uniform(0.6, 0.9))
    size = mask.shape[0]
    x = round(centre[0] - size / 2 + rng.uniform(-0.15, 0.15) * size)
    y = round(centre[1] - size / 2 + rng.uniform(-0.15, 0.15) * size)
    blend_ink(page, mask, x, y, rng.choice(SEAL_REDS))
    return x, y, x + size, y + size


def pen_tick(page: np.ndarray, x: float, y: float, dpi: int, rng: random.Random) -> None:
    """A ✓ a reviewer put by a value, its foot at (x, y)."""
    s = mm(rng.uniform(3, 6), dpi)
    points = [
        (x - s * 0.45, y - s * 0.4),
        (x - s * 0.2, y - s * 0.1),
        (x, y),
        (x + s * 0.35, y - s * 0.6),
        (x + s * 0.7, y - s * 1.2),
    ]
    _stroke(page, _smooth(points, rng, jitter=s * 0.05), dpi, rng)


def pen_scrawl(
    page: np.ndarray, box: tuple[float, float, float, float], dpi: int, rng: random.Random
) -> None:
    """A reviewer's stroke at `box`: an underline, a loop round it, or a note beside it.

    Marks go round the printed text, not over it: a person can still read what they mark.
    """
    x0, y0, x1, y1 = box
    kind = rng.choice(["underline", "circle", "note"])
    if kind == "underline":
        y = y1 + mm(rng.uniform(0.3, 1.2), dpi)
        points = [
            (x0 + (x1 - x0) * t, y + rng.uniform(-1, 1) * mm(0.5, dpi)) for t in (0, 0.33, 0.66, 1)
        ]
    elif kind == "circle":
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx, ry = (x1 - x0) / 2 + mm(2, dpi), (y1 - y0) / 2 + mm(1.5, dpi)
        turn = rng.uniform(0, 2 * math.pi)
        points = [
            (cx + rx * math.cos(turn + t) * rng.uniform(0.95, 1.05), cy + ry * math.sin(turn + t))
            for t in np.linspace(0, 2 * math.pi * 1.08, 14)
        ]
    else:
        # A scrawled word to the right of the text: loops along a baseline.
        left = x1 + mm(rng.uniform(2, 5), dpi)
        base, height = y1, (y1 - y0) * rng.uniform(0.6, 1.0)
        points = [
            (left + i * mm(1.6, dpi), base - (height if i % 2 else 0) + rng.uniform(-1, 1))
            for i in range(rng.randint(5, 9))
        ]
    _stroke(page, _smooth(points, rng, jitter=mm(0.4, dpi)), dpi, rng)


def _smooth(points: list[tuple[float, float]], rng: random.Random, jitter: float) -> np.ndarray:
    """A Catmull-Rom curve through the points, shaken a little like a hand."""
    p = np.asarray(
        [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in points]
    )
    if len(p) < 3:
        return p
    p = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(p) - 2):
        for t in np.linspace(0, 1, 12, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * (
                    2 * p[i]
                    + (-p[i - 1] + p[i + 1]) * t
                    + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t2
                    + (-p[i - 1] + 3 * p[i] - 3 * p[i + 1] + p[i + 2]) * t3
                )
            )
    out.append(p[-2])
    return np.asarray(out)


def _stroke(page: np.ndarray, curve: np.ndarray, dpi: int, rng: random.Random) -> None:
    pad = mm(3, dpi)
    x0, y0 = np.floor(curve.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(curve.max(axis=0)).astype(int) + pad
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    shift = 4  # sub-pixel precision of cv2's anti-aliased lines
    pts = np.round((curve - (x0, y0)) * (1 << shift)).astype(np.int32)
    thickness = mm(rng.uniform(0.3, 0.6), dpi)
    cv2.polylines(mask, [pts], False, 1.0, thickness, cv2.LINE_AA, shift)
    blend_ink(
        page, np.clip(mask * rng.uniform(0.75, 0.95), 0, 1), int(x0), int(y0), rng.choice(PEN_INKS)
    )
