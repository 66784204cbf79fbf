"""What happens to the sheet itself: faded rulings, folds, punch holes, bleed-through.

A tired printer's toner leaves rulings pale; the sheet is folded, punched for a binder, and its
back shows through when scanned. Each function takes an RGB page (uint8) and returns a new one.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from sheetsynth.marks import mm

RULING_MIN_MM = 12.0  # a dark run at least this long, straight, is a ruling line, not text


def ruling_mask(page: np.ndarray, dpi: int) -> np.ndarray:
    """The printed ruling lines: long straight dark runs, found by morphological opening."""
    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    dark = (gray < 160).astype(np.uint8)
    run = mm(RULING_MIN_MM, dpi)
    across = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    down = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    lines = cv2.dilate(across | down, np.ones((3, 3), np.uint8))
    return lines.astype(bool)


def fade_rulings(page: np.ndarray, dpi: int, rng: random.Random, share: float) -> np.ndarray:
    """Toner running out: rulings grow pale and vanish in stretches (about `share` of them)."""
    lines = ruling_mask(page, dpi)
    h, w = page.shape[:2]
    nprng = np.random.default_rng(rng.getrandbits(32))
    # A coarse random field, smoothed to stretches of a few centimetres, thresholded.
    cells = (max(2, round(w / mm(30, dpi))), max(2, round(h / mm(30, dpi))))
    field = cv2.resize(
        nprng.random((cells[1], cells[0])).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    cut = float(np.quantile(field, 1.0 - share))
    fade = np.clip((field - cut) / 0.08, 0.0, 1.0) * rng.uniform(0.85, 1.0)
    fade = np.maximum(fade, rng.uniform(0.1, 0.35))  # the rest of the ruling is pale too
    out = page.astype(np.float32)
    f = (fade * lines)[..., None]
    out = out + f * (250.0 - out).clip(0)
    return out.astype(np.uint8)


def fold(page: np.ndarray, dpi: int, rng: random.Random) -> tuple[np.ndarray, str]:
    """A crease across the sheet: a dark line, shade falling off on one side, light on the other."""
    h, w = page.shape[:2]
    across = rng.random() < 0.7  # folded in three or in half for an envelope: horizontal crease
    length = h if across else w
    at = length * rng.choice([1 / 3, 1 / 2, 2 / 3]) + rng.uniform(-0.04, 0.04) * length
    tilt = rng.uniform(-0.015, 0.015)
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    d = (ys - at - tilt * (xs - w / 2)) if across else (xs - at - tilt * (ys - h / 2))
    width = mm(rng.uniform(4, 12), dpi)
    depth = rng.uniform(0.08, 0.22)
    shade = 1.0 - depth * np.exp(-np.abs(d) / width) * np.where(d > 0, 1.0, 0.35)
    crease = 1.0 - rng.uniform(0.25, 0.5) * np.exp(-((d / max(dpi / 150, 1.0)) ** 2))
    gain = (shade * crease).astype(np.float32)
    return (page * gain[..., None]).astype(np.uint8), "across" if across else "down"


def punch_holes(page: np.ndarray, dpi: int, rng: random.Random) -> tuple[np.ndarray, str]:
    """Two (or four) filing holes near one edge, black (open lid) or white (backing sheet)."""
    h, w = page.shape[:2]
    out = page.copy()
    colour = rng.choice(["black", "white"])
    fill = (rng.randint(10, 40),) * 3 if colour == "black" else (rng.randint(238, 252),) * 3
    radius = mm(rng.uniform(2.6, 3.2), dpi)
    inset = mm(rng.uniform(9, 13), dpi)
    edge = rng.choice(["left", "left", "top"])
    pitch = mm(80, dpi)
    count = 2 if rng.random() < 0.8 else 4
    middle = (h if edge == "left" else w) / 2
    offsets = [(k - (count - 1) / 2) * pitch for k in range(count)]
    for off in offsets:
        c = (inset, round(middle + off)) if edge == "left" else (round(middle + off), inset)
        cv2.circle(out, c, radius, fill, -1, cv2.LINE_AA)
        # The torn paper round a hole shows as a faint grey rim.
        cv2.circle(out, c, radius + 1, (150, 150, 150), 1, cv2.LINE_AA)
    return out, f"{colour}-{edge}-{count}"


def bleed_through(
    page: np.ndarray, back: np.ndarray, rng: random.Random, strength: float
) -> np.ndarray:
    """The back of the sheet showing through: `back` mirrored, blurred, faint, under the front."""
    h, w = page.shape[:2]
    gray = cv2.cvtColor(back, cv2.COLOR_RGB2GRAY)
    gray = cv2.resize(np.ascontiguousarray(gray[:, ::-1]), (w, h), interpolation=cv2.INTER_AREA)
    shift = np.float32([[1, 0, rng.uniform(-0.02, 0.02) * w], [0, 1, rng.uniform(-0.02, 0.02) * h]])
    gray = cv2.warpAffine(gray, shift, (w, h), borderValue=255)
    gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(1.0, 2.2))
    ink = (1.0 - gray.astype(np.float32) / 255.0) * strength
    tint = np.asarray([1.0, 0.98, 0.95], np.float32)  # seen through paper, it looks warm
    out = page.astype(np.float32) * (1.0 - ink[..., None] * tint)
    return np.clip(out, 0, 255).astype(np.uint8)
