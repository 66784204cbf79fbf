"""Ink primitives: the thin dark marks of a page, and the ruling lines among them.

Below the stages that share them: prepare finds the skew and the frame with them, the grid
its ruling lines, and cell reading the text inside each cell. Only numpy and OpenCV here.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def red_ink(rgb: np.ndarray) -> np.ndarray:
    """Where red ink (a seal, a red pen) lies: red well above green and blue."""
    r, g, b = cv2.split(rgb)
    # Saturating differences: where green or blue outdoes red, 0 is as "not red" as below.
    return (cv2.subtract(r, g) > 45) & (cv2.subtract(r, b) > 35)


def depth(gray: np.ndarray) -> np.ndarray:
    """How much darker each pixel is than the paper within about a millimetre (a black-hat).

    Thin marks (text, ruling lines) stand out by their darkness; a broad dark area (a desk, a
    shadow) does not.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    return cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)


# Otsu on a near-empty page picks a threshold in the noise; ink is at least this dark.
MIN_STROKE_DEPTH = 40


def strokes(dark: np.ndarray) -> np.ndarray:
    """Thin dark marks (text and ruling lines) of a page's `depth`, as 255 on 0."""
    otsu, binary = cv2.threshold(dark, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if otsu < MIN_STROKE_DEPTH - 1:
        _, binary = cv2.threshold(dark, MIN_STROKE_DEPTH - 1, 255, cv2.THRESH_BINARY)
    return binary


FAINT_LINE_CONTRAST = 22  # faded toner still stands this far below the paper; noise runs shorter


def faint_strokes(dark: np.ndarray) -> np.ndarray:
    """Like `strokes`, but keeps marks too faint for text: worn ruling lines.

    Only long runs of these survive `line_masks`, so the noise this lets in does no harm.
    """
    _, binary = cv2.threshold(dark, FAINT_LINE_CONTRAST - 1, 255, cv2.THRESH_BINARY)
    return binary


def line_masks(binary: np.ndarray, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical ruling lines of a stroke image.

    An opening with a long thin kernel keeps only runs at least `min_len` long; text never
    makes such runs as long as nothing has joined its glyphs first. A broken line comes out
    as pieces on one row, which the grid joins again.
    """
    return across_lines(binary, min_len), down_lines(binary, min_len)


def across_lines(binary: np.ndarray, min_len: int) -> np.ndarray:
    """The horizontal runs of a stroke image at least `min_len` long (see `line_masks`)."""
    return cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((1, min_len), np.uint8))


def down_lines(binary: np.ndarray, min_len: int) -> np.ndarray:
    """The vertical runs of a stroke image at least `min_len` long (see `line_masks`)."""
    return cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((min_len, 1), np.uint8))


# Lines across that must end together past a side for it to be a side printed without its
# frame line (more than a title's rule or a note under the table has).
OPEN_SIDE_LINES = 4


def where_lines_end(places: Sequence[float], tolerance: float) -> float | None:
    """The median of the largest cluster of `places` within `tolerance` of one of them.

    None where it holds fewer than `OPEN_SIDE_LINES`.
    """
    best = max(
        ([p for p in places if abs(p - at) <= tolerance] for at in places), key=len, default=[]
    )
    return float(np.median(best)) if len(best) >= OPEN_SIDE_LINES else None
