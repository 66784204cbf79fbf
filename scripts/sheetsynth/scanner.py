"""What the scanner or the phone does to the page.

Skew, turns, light, blur, noise, JPEG, a phone's perspective, and the 1-bit pages of fax and
archive scanners.
"""

from __future__ import annotations

import random

import cv2
import numpy as np
from PIL import Image


def rotate(page: np.ndarray, degrees: float, background: int) -> np.ndarray:
    """Skew the page by `degrees` (counter-clockwise), the canvas kept, corners filled."""
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(
        page,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(background,) * 3,
    )


def turn(page: np.ndarray, quarters: int) -> np.ndarray:
    """Quarter turns counter-clockwise: 2 is a page fed upside down."""
    return np.ascontiguousarray(np.rot90(page, quarters))


def blur(page: np.ndarray, sigma: float) -> np.ndarray:
    """Optical softness of the scanner."""
    return cv2.GaussianBlur(page, (0, 0), sigma) if sigma > 0 else page


def noise(page: np.ndarray, sigma: float, nprng: np.random.Generator) -> np.ndarray:
    """Sensor noise, grey (the same on the three channels)."""
    grain = nprng.standard_normal(page.shape[:2], dtype=np.float32)[..., None] * sigma
    return np.clip(page.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def uneven_light(page: np.ndarray, darkest: float, rng: random.Random) -> np.ndarray:
    """Light falling off across the page (a lid not closed, a worn lamp): a tilted gradient."""
    h, w = page.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(0, np.cos(angle), w, dtype=np.float32)[None, :]
    ys = np.linspace(0, np.sin(angle), h, dtype=np.float32)[:, None]
    ramp = xs + ys
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    gain = 1.0 - (1.0 - darkest) * ramp
    return (page * gain[..., None]).astype(np.uint8)


def specks(page: np.ndarray, count: int, dpi: int, nprng: np.random.Generator) -> np.ndarray:
    """Dust and toner specks on the glass."""
    out = page.copy()
    h, w = page.shape[:2]
    for _ in range(count):
        x, y = int(nprng.integers(0, w)), int(nprng.integers(0, h))
        r = int(nprng.integers(1, max(2, dpi // 100) + 1))
        cv2.circle(out, (x, y), r, (int(nprng.integers(20, 90)),) * 3, -1)
    return out


def jpeg(page: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip at `quality`: its blocks and ringing, kept in the pixels."""
    ok, data = cv2.imencode(".jpg", page[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def photograph(page: np.ndarray, rng: random.Random, nprng: np.random.Generator) -> np.ndarray:
    """A phone photo of the sheet on a desk: perspective, a lamp's uneven light, warm cast."""
    h, w = page.shape[:2]
    margin = 0.08
    out_w, out_h = round(w * (1 + 2 * margin)), round(h * (1 + 2 * margin))
    desk = np.empty((out_h, out_w, 3), np.float32)
    desk[:] = rng.choice([(120, 95, 70), (70, 70, 75), (160, 150, 135), (40, 38, 36)])
    desk += nprng.standard_normal((out_h, out_w, 1), dtype=np.float32) * 6
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = 0.05  # each corner moves up to this share of the page: the phone is not square on
    dst = np.float32(
        [
            (
                (margin + cx) * w + rng.uniform(-jitter, jitter) * w,
                (margin + cy) * h + rng.uniform(-jitter, jitter) * h,
            )
            for cx, cy in ((0, 0), (1, 0), (1, 1), (0, 1))
        ]
    )
    m = cv2.getPerspectiveTransform(src, dst)
    sheet = cv2.warpPerspective(page, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones((h, w), np.float32), m, (out_w, out_h))[..., None]
    out = desk * (1 - inside) + sheet.astype(np.float32) * inside
    # A lamp to one side and the phone's own shadow: a broad bright spot and a dim band.
    cx, cy = rng.uniform(0, out_w), rng.uniform(0, out_h)
    xs = ((np.arange(out_w, dtype=np.float32) - cx) / out_w)[None, :] ** 2
    ys = ((np.arange(out_h, dtype=np.float32) - cy) / out_h)[:, None] ** 2
    spot = np.exp(-(xs + ys) / rng.uniform(0.3, 0.8))
    light = rng.uniform(0.6, 0.78) + rng.uniform(0.2, 0.35) * spot
    out *= light[..., None]
    out *= np.asarray([1.0, rng.uniform(0.93, 0.99), rng.uniform(0.82, 0.93)], np.float32)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 1.4))
    out += nprng.standard_normal(out.shape[:2], dtype=np.float32)[..., None] * rng.uniform(3, 7)
    return np.clip(out, 0, 255).astype(np.uint8)


def bilevel(
    page: np.ndarray, method: str, rng: random.Random, nprng: np.random.Generator
) -> Image.Image:
    """A 1-bit page as a fax or archive scanner makes it, with its dropouts.

    `method`: "threshold" (one global cut), "dither" (error diffusion, the scanner's photo
    mode), "adaptive" (a local cut), or "dropout" (a threshold on the red channel, the
    colour dropout that makes red seals vanish).
    """
    if method == "dropout":
        gray = page[..., 0].astype(np.float32)
    else:
        gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 0.8))
    gray += nprng.standard_normal(gray.shape, dtype=np.float32) * rng.uniform(2, 8)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    if method == "dither":
        # Paper comes out light grey in photo mode: the dither speckles the background.
        lifted = np.clip(gray.astype(np.float32) * rng.uniform(0.9, 0.97), 0, 255).astype(np.uint8)
        ink = Image.fromarray(lifted).convert("1")  # Floyd-Steinberg
        black = ~np.asarray(ink, dtype=bool)
    elif method == "adaptive":
        block = 2 * (gray.shape[1] // 60) + 1
        black = (
            cv2.adaptiveThreshold(
                gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, rng.uniform(12, 22)
            )
            == 0
        )
    else:
        black = gray < rng.randint(105, 175)
    # Dropouts: a worn lamp or a dirty sensor leaves ink out in small spots and thin streaks.
    holes = nprng.random(black.shape) < rng.uniform(0.0, 0.04)
    black &= ~holes
    if rng.random() < 0.4:
        column = int(nprng.integers(0, black.shape[1]))
        black[:, column : column + rng.randint(1, 3)] = False
    pepper = nprng.random(black.shape) < rng.uniform(0.0, 0.0006)
    black |= pepper
    return Image.fromarray(~black)  # mode "1" from bool: True is white
