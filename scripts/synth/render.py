"""Prints a laid-out page onto a raster image: paper, ruling lines, text, in a CJK face."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synth.layout import CELL_PAD_MM, LINE_GAP, Measure, PageLayout

FONT_DIR = Path("/usr/share/fonts")

# (file, face index): the printed faces of such forms are Song (Ming) first, then Hei.
BODY_FACES = [
    ("truetype/arphic/uming.ttc", 0),
    ("truetype/arphic/uming.ttc", 0),
    ("opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("truetype/wqy/wqy-microhei.ttc", 0),
    ("truetype/wqy/wqy-zenhei.ttc", 0),
    ("truetype/arphic/ukai.ttc", 0),
]
TITLE_FACES = [
    ("opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("opentype/noto/NotoSerifCJK-Bold.ttc", 2),
    ("truetype/wqy/wqy-zenhei.ttc", 0),
]
_MEASURE_PX = 100  # em size at which text widths are measured, then scaled


@lru_cache(maxsize=64)
def _font(face: tuple[str, int], size_px: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / face[0]
    if not path.exists():
        raise FileNotFoundError(
            f"CJK font {path} is missing: run scripts/setup.sh (fonts-* packages)"
        )
    return ImageFont.truetype(str(path), size_px, index=face[1])


@dataclass(frozen=True)
class Ink:
    """How one form was printed: faces, line weight, and how worn its ruling lines are."""

    body: tuple[str, int]
    title: tuple[str, int]
    line_mm: float
    outer_line_mm: float
    text_gray: int
    line_gray: int
    paper: tuple[int, int, int]
    fade: float  # 0: crisp lines; towards 1: many faded and broken stretches

    @classmethod
    def draw(cls, rng: random.Random, *, worn: bool = False) -> Ink:
        """A random printing; `worn` fades and breaks the ruling lines as old copies have them."""
        line = rng.uniform(0.14, 0.32)
        tint = rng.randint(0, 12)
        return cls(
            body=rng.choice(BODY_FACES),
            title=rng.choice(TITLE_FACES),
            line_mm=line,
            outer_line_mm=line * rng.choice([1.0, 1.0, 1.6, 2.0]),
            text_gray=rng.randint(10, 45),
            line_gray=rng.randint(10, 50),
            paper=(255 - tint // 3, 255 - tint // 2, 255 - tint),
            fade=rng.uniform(0.3, 0.8) if worn else 0.0,
        )

    def measure(self) -> Measure:
        """Text width in mm for this printing's body face."""
        font = _font(self.body, _MEASURE_PX)
        return lambda text, size_mm: font.getlength(text) / _MEASURE_PX * size_mm


def render_page(
    page: PageLayout, ink: Ink, dpi: int, rng: random.Random, font_mm: float
) -> Image.Image:
    """Print `page` at `dpi`; worn lines are decided by `rng`."""
    px = dpi / 25.4
    size = (round(page.width_mm * px), round(page.height_mm * px))
    image = Image.new("RGB", size, ink.paper)
    draw = ImageDraw.Draw(image)
    _draw_rulings(draw, page, ink, px, rng)

    text_rgb = (ink.text_gray,) * 3
    body = _font(ink.body, max(6, round(font_mm * px)))
    line_h = font_mm * LINE_GAP
    for cell in page.cells:
        if not cell.lines:
            continue
        top = (cell.y0 + cell.y1) / 2 - len(cell.lines) * line_h / 2
        for k, line in enumerate(cell.lines):
            y = (top + (k + 0.5) * line_h) * px
            if cell.align == "left":
                draw.text(
                    ((cell.x0 + CELL_PAD_MM) * px, y), line, font=body, fill=text_rgb, anchor="lm"
                )
            else:
                draw.text(
                    ((cell.x0 + cell.x1) / 2 * px, y), line, font=body, fill=text_rgb, anchor="mm"
                )
    for text in page.texts:
        face = ink.title if text.bold else ink.body
        font = _font(face, max(6, round(text.size_mm * px)))
        draw.text((text.x * px, text.y * px), text.text, font=font, fill=text_rgb, anchor="mt")
    return image


def _draw_rulings(
    draw: ImageDraw.ImageDraw, page: PageLayout, ink: Ink, px: float, rng: random.Random
) -> None:
    horizontal, vertical = ruling_segments(page)
    if not page.cells:
        return
    left = min(c.x0 for c in page.cells)
    right = max(c.x1 for c in page.cells)
    top = min(c.y0 for c in page.cells)
    bottom = max(c.y1 for c in page.cells)
    for y, a, b in horizontal:
        outer = abs(y - top) < 0.01 or abs(y - bottom) < 0.01
        _segment(draw, ink, px, rng, (a, y), (b, y), ink.outer_line_mm if outer else ink.line_mm)
    for x, a, b in vertical:
        outer = abs(x - left) < 0.01 or abs(x - right) < 0.01
        _segment(draw, ink, px, rng, (x, a), (x, b), ink.outer_line_mm if outer else ink.line_mm)


def ruling_segments(
    page: PageLayout,
) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    """The page's ruling lines, each printed once: (y, x0, x1) across and (x, y0, y1) down."""
    across: dict[float, list[tuple[float, float]]] = {}
    down: dict[float, list[tuple[float, float]]] = {}
    for c in page.cells:
        for y in (c.y0, c.y1):
            across.setdefault(round(y, 3), []).append((c.x0, c.x1))
        for x in (c.x0, c.x1):
            down.setdefault(round(x, 3), []).append((c.y0, c.y1))
    return _merge(across), _merge(down)


def _merge(lines: dict[float, list[tuple[float, float]]]) -> list[tuple[float, float, float]]:
    merged = []
    for pos, spans in sorted(lines.items()):
        spans.sort()
        start, end = spans[0]
        for a, b in spans[1:]:
            if a <= end + 1e-3:
                end = max(end, b)
            else:
                merged.append((pos, start, end))
                start, end = a, b
        merged.append((pos, start, end))
    return merged


def _segment(
    draw: ImageDraw.ImageDraw,
    ink: Ink,
    px: float,
    rng: random.Random,
    p0: tuple[float, float],
    p1: tuple[float, float],
    width_mm: float,
) -> None:
    """One ruling line; a worn one is printed in stretches, some faint, with small gaps."""
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))
    half = max(0.5, width_mm * px / 2)
    t = 0.0
    while t < length:
        stretch = rng.uniform(4, 40) if ink.fade else length
        gray = ink.line_gray
        if ink.fade and rng.random() < ink.fade * 0.5:
            gray = rng.randint(120, 215)  # faded toner
        a, b = t, min(length, t + stretch)
        if ink.fade and rng.random() < ink.fade * 0.3:
            a = min(b, a + rng.uniform(0.4, 2.5))  # a break in the line
        x0 = p0[0] + (p1[0] - p0[0]) * a / length
        y0 = p0[1] + (p1[1] - p0[1]) * a / length
        x1 = p0[0] + (p1[0] - p0[0]) * b / length
        y1 = p0[1] + (p1[1] - p0[1]) * b / length
        draw.rectangle(
            (x0 * px - half, y0 * px - half, x1 * px + half - 1, y1 * px + half - 1),
            fill=(gray,) * 3,
        )
        t += stretch


def as_array(image: Image.Image) -> np.ndarray:
    """The page as an RGB uint8 array, for the degradation steps."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
