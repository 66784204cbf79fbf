"""A cell as a field's reading: its text, its box on the scan and the evidence for trusting it."""

from __future__ import annotations

import numpy as np

from pipeline.mapping.anchors import clean
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.prepare import PreparedPage
from pipeline.readings import Evidence, FieldReading


def source_box(page: PreparedPage, box: tuple[int, int, int, int]) -> list[float]:
    """A box on the prepared page, mapped back to the pixels of the scan as it came in."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], dtype=float).T
    mapped = np.linalg.inv(page.transform) @ corners
    mapped = mapped[:2] / mapped[2]
    return [round(float(v), 1) for v in (*mapped.min(axis=1), *mapped.max(axis=1))]


def reading_of(page: PageRead, cell: CellText | None, anchor: float = 100.0) -> FieldReading:
    """A field read from `cell`, with its evidence; a missing cell gives an empty, unfound field."""
    if cell is None:
        evidence = Evidence(found=False, photo=page.prepared.photo)
        return FieldReading(value="", raw="", page=page.number, evidence=evidence)
    chars = [s for line in cell.lines for s in (line.char_scores or ())]
    reading = FieldReading(
        value=cell.text,
        raw=cell.text,
        page=page.number,
        bbox=source_box(page.prepared, cell.cell.box),
        evidence=Evidence(
            rec_score=cell.score,
            char_min=min(chars, default=cell.score),
            anchor_score=anchor / 100.0,
            blank=cell.blank,
            lines=len(cell.lines),
            seal=cell.seal,
            seal_disagrees=cell.plain is not None and clean(cell.plain) != clean(cell.text),
            photo=page.prepared.photo,
        ),
    )
    if cell.cut:
        doubt_cut_text(reading)
    return reading


def doubt_cut_text(reading: FieldReading) -> None:
    """A cell that reads blank while text crosses its edge holds half a cut text: no reading."""
    reading.evidence.blank = False
    reading.evidence.contradict("text cut by a line across its cell")
