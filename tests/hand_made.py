"""Hand-made pages for mapping tests: tables of cells with their text, as grid and OCR give them.

Imported by the mapping tests (pytest puts this folder on the path for its test modules).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.grid import Cell, Grid
from pipeline.ingest import PageImage, ScanFile
from pipeline.ocr.base import TextLine
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.prepare import PreparedPage

ROW = 40  # px a row
QUAD = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
Cells = list[tuple[int, int, int, int, str]]


def hand_made_page(
    xs: Sequence[int],
    cells: Cells,
    *,
    number: int = 1,
    name: str = "hand-made.png",
    above: Sequence[str] = (),
    line_boxes: bool = False,
    text_at: dict[int, tuple[int, int]] | None = None,
) -> PageRead:
    """A page from (row0, row1, col0, col1, text) cells on columns at `xs`, rows `ROW` apart.

    With `line_boxes`, each text cell's line has a box on the page: a band 20 px high at its
    middle, or from `text_at[index]` (top, bottom), index the cell's in `cells`.
    """
    rows = 1 + max(c[1] for c in cells)
    ys = tuple(range(0, (rows + 1) * ROW, ROW))
    grid_cells = tuple(
        Cell(r0, r1, c0, c1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1]))
        for r0, r1, c0, c1, _ in cells
    )
    blank = np.full((ys[-1], xs[-1]), 255, np.uint8)
    source = PageImage(ScanFile(None, name), number, blank, 200.0)  # type: ignore[arg-type]
    prepared = PreparedPage(source, blank, blank, blank, blank, blank == 0, np.eye(3), 0.0, 0, True)
    grid = Grid(xs=tuple(xs), ys=ys, cells=grid_cells, px_per_mm=8.0, line_px=2)
    texts = []
    for index, (cell, (*_, text)) in enumerate(zip(grid_cells, cells, strict=True)):
        x0, y0, x1, y1 = cell.box
        middle = (y0 + y1) // 2
        top, bottom = (text_at or {}).get(index, (middle - 10, middle + 10))
        boxed = line_boxes and bool(text)
        texts.append(
            CellText(
                page=number,
                cell=cell,
                text=text,
                lines=(TextLine(text=text, score=0.99, box=QUAD),) if text else (),
                score=0.99,
                seal=False,
                boxes=((x0 + 4, top, x1 - 4, bottom),) if boxed else (),
            )
        )
    return PageRead(prepared, grid, texts, above=list(above))
