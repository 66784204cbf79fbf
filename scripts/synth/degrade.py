"""What scanning or photographing does to a printed page, at four levels of damage.

clean: a flatbed scan of a fresh print.  light: an office scanner, slightly skewed, JPEG ~75.
heavy: a worn copy through a tired feeder: skew to 4°, sometimes upside down, noise, blur,
JPEG 30–50, uneven lighting.  photo: a phone picture of the sheet lying on a desk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

LEVELS = ("clean", "light", "heavy", "photo")


@dataclass(frozen=True)
class Damage:
    """What was done to one page: kept in the corpus manifest to explain results."""

    angle: float = 0.0
    turned: int = 0  # quarter turns applied (2: upside down)
    jpeg: int | None = None
    photo: bool = False


def scan(page: np.ndarray, level: str, rng: random.Random) -> tuple[np.ndarray, Damage]:
    """Degrade one rendered page (RGB uint8) as the level says."""
    nprng = np.random.default_rng(rng.getrandbits(32))
    if level == "clean":
        return _noise(page, nprng, 1.0), Damage()
    if level == "light":
        angle = rng.uniform(-1.5, 1.5)
        out = _rotate(page, angle, rng.randint(238, 252))
        out = _blur(out, rng.uniform(0.3, 0.7))
        out = _noise(out, nprng, rng.uniform(2, 5))
        return out, Damage(angle=angle, jpeg=rng.randint(72, 80))
    if level == "heavy":
        angle = rng.uniform(-4, 4)
        out = _rotate(page, angle, rng.randint(200, 245))
        out = _lighting(out, nprng, rng.uniform(0.55, 0.8))
        out = _blur(out, rng.uniform(0.6, 1.3))
        out = _noise(out, nprng, rng.uniform(5, 12))
        out = _specks(out, nprng, rng.randint(30, 400))
        turned = 2 if rng.random() < 0.25 else (1 if rng.random() < 0.05 else 0)
        out = np.ascontiguousarray(np.rot90(out, turned))
        return out, Damage(angle=angle, turned=turned, jpeg=rng.randint(30, 50))
    if level == "photo":
        return _photograph(page, rng, nprng)
    raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVELS)}")


def _rotate(img: np.ndarray, angle: float, border: int) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(
        img,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border, border, border),
    )


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _noise(img: np.ndarray, nprng: np.random.Generator, sigma: float) -> np.ndarray:
    grain = nprng.normal(0, sigma, img.shape[:2])[..., None]
    return np.clip(img.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def _specks(img: np.ndarray, nprng: np.random.Generator, count: int) -> np.ndarray:
    """Dust and toner specks, a pixel or three across."""
    out = img.copy()
    h, w = out.shape[:2]
    ys, xs = nprng.integers(0, h, count), nprng.integers(0, w, count)
    radius = nprng.integers(0, 2, count)
    for y, x, r in zip(ys, xs, radius, strict=True):
        cv2.circle(out, (int(x), int(y)), int(r), (int(nprng.integers(40, 160)),) * 3, -1)
    return out


def _lighting(img: np.ndarray, nprng: np.random.Generator, darkest: float) -> np.ndarray:
    """Uneven light: a smooth field from `darkest` to 1 multiplied into the page."""
    h, w = img.shape[:2]
    coarse = nprng.uniform(darkest, 1.0, (3, 3)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field = np.clip(field, darkest, 1.0)[..., None]
    return np.clip(img.astype(np.float32) * field, 0, 255).astype(np.uint8)


def _photograph(
    page: np.ndarray, rng: random.Random, nprng: np.random.Generator
) -> tuple[np.ndarray, Damage]:
    h, w = page.shape[:2]
    scale = rng.uniform(1.15, 1.3)
    cw, ch = int(w * scale), int(h * scale)
    canvas = _desk(cw, ch, rng, nprng)

    angle = rng.choice([-1, 1]) * rng.uniform(3, 6)
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    center = np.float32(
        [cw / 2 + rng.uniform(-0.03, 0.03) * cw, ch / 2 + rng.uniform(-0.03, 0.03) * ch]
    )
    theta = np.radians(angle)
    rot = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    placed = (corners - np.float32([w / 2, h / 2])) @ rot.T * rng.uniform(0.88, 0.95) + center
    # The phone is not held square: one edge of the sheet is nearer than the other.
    placed += nprng.uniform(-0.035, 0.035, (4, 2)).astype(np.float32) * np.float32([w, h])
    shrink = rng.uniform(0.0, 0.06)
    placed[:2, 0] += np.float32([shrink, -shrink]) * w  # far edge looks shorter
    m = cv2.getPerspectiveTransform(corners, placed)
    sheet = cv2.warpPerspective(page, m, (cw, ch), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (cw, ch))
    mask = cv2.GaussianBlur(mask, (0, 0), 1.2)[..., None].astype(np.float32) / 255.0
    out = sheet.astype(np.float32) * mask + canvas * (1 - mask)

    out *= _shadow(cw, ch, rng)[..., None]
    cast = np.float32([rng.uniform(0.9, 1.0), rng.uniform(0.9, 1.0), rng.uniform(0.82, 0.97)])
    out = out * cast * rng.uniform(0.8, 0.95)
    out = _blur(np.clip(out, 0, 255).astype(np.uint8), rng.uniform(0.5, 1.1))
    out = _noise(out, nprng, rng.uniform(3, 7))
    return out, Damage(angle=angle, jpeg=rng.randint(78, 90), photo=True)


def _desk(w: int, h: int, rng: random.Random, nprng: np.random.Generator) -> np.ndarray:
    base = np.float32(
        rng.choice([(120, 85, 55), (90, 90, 95), (160, 140, 115), (50, 45, 45), (180, 175, 170)])
    )
    grain = cv2.resize(
        nprng.normal(0, 18, (max(2, h // 40), max(2, w // 4))).astype(np.float32), (w, h)
    )
    fine = nprng.normal(0, 6, (h, w)).astype(np.float32)
    return np.clip(base[None, None, :] + (grain + fine)[..., None], 0, 255)


def _shadow(w: int, h: int, rng: random.Random) -> np.ndarray:
    """A soft shadow across part of the picture (the phone, or the photographer's arm)."""
    mask = np.zeros((h, w), np.float32)
    edge = rng.choice(["left", "right", "top", "bottom"])
    depth = rng.uniform(0.25, 0.5)
    a, b = rng.uniform(0.15, 0.45), rng.uniform(0.15, 0.45)
    if edge in ("left", "right"):
        pts = [(0, 0), (int(a * w), 0), (int(b * w), h), (0, h)]
        if edge == "right":
            pts = [(w - x, y) for x, y in pts]
    else:
        pts = [(0, 0), (w, 0), (w, int(a * h)), (0, int(b * h))]
        if edge == "bottom":
            pts = [(x, h - y) for x, y in pts]
    cv2.fillPoly(mask, [np.int32(pts)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), max(w, h) * rng.uniform(0.02, 0.05))
    return 1.0 - depth * mask


def encode_jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at `quality`, so PNG/TIFF copies carry the same artefacts."""
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
