"""Labels found among a page's cells by fuzzy match, so an OCR slip in a label still finds it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from pipeline.ocr.cells import CellText

MIN_ANCHOR_SCORE = 75.0  # rapidfuzz ratio (0–100) for a cell to count as a label


def clean(text: str) -> str:
    """A text as labels are compared: without spaces and colons."""
    return re.sub(r"[\s:：]", "", text)


def anchor_score(text: str, anchor: str) -> float:
    """How well a cell's text matches a label, 0–100; long text never matches a short label."""
    cleaned = clean(text)
    if not cleaned or len(cleaned) > len(anchor) + 4:
        return 0.0
    return float(fuzz.ratio(cleaned, clean(anchor)))


def best_anchor(cells: Sequence[CellText], anchors: Sequence[str]) -> tuple[CellText | None, float]:
    """The cell that best matches one of `anchors`, and its score; None below `MIN_ANCHOR_SCORE`."""
    best: CellText | None = None
    best_score = 0.0
    for cell in cells:
        for anchor in anchors:
            score = anchor_score(cell.text, anchor)
            if score > best_score:
                best, best_score = cell, score
    if best_score < MIN_ANCHOR_SCORE:
        return None, best_score
    return best, best_score
