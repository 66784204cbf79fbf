"""Double reading: fields that would pass unreviewed, but not beyond doubt, are read again.

Data-entry shops key every field twice and send disagreements to a third person. The machine
version: the first reading is PP-OCRv6 on text lines cut tight around their ink inside the
cell's lines and a margin; the second is PP-OCRv4, trained apart and shipped in the
rapidocr-onnxruntime wheel, on each line cut from the cell up to its lines, with a margin of
the cell beside its ink (`_line_crops`). A character lost at a cell's edge by the first cut,
or misread by one model, shows as a disagreement, and the field goes to review
(`confidence`). Reading every field twice would cost most of a page's recognition time
again; only the fields whose confidence leaves doubt (`SecondReadingOptions.below`) are.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.check import normalise_text
from pipeline.mapping.cell_reading import source_box
from pipeline.ocr.base import narrowed, to_bgr
from pipeline.ocr.cells import crop_line, text_ink, text_line_boxes
from pipeline.ocr.ctc import CtcRecogniser
from pipeline.pages import PageRead
from pipeline.prepare import PAGE_WIDTH_MM
from pipeline.readings import FieldReading, FormReading

MODEL = "ch_PP-OCRv4_rec_infer.onnx"
CellBox = tuple[int, int, int, int]  # x0, y0, x1, y1 on the prepared page
# Marks at a line's ends that one cut keeps and the other trims: not a disagreement.
END_MARKS = " .,:;'`·、。，：；·-_|"
# A plain sign where the forms print the other one: `check` puts it right and records it.
SIGNS = str.maketrans({">": "≥", "<": "≤"})
LINE_MARGIN_MM = 1.0
WIDTH_SCALE = 0.6


class SecondReadingOptions(BaseModel):
    """Which fields are read a second time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Read doubtful fields a second way.")
    below: float = Field(
        default=0.995,
        ge=0.0,
        le=1.0,
        description="Fields that pass review with a confidence under this are read again.",
    )


def model_path() -> Path:
    """The PP-OCRv4 recognition model inside the installed rapidocr-onnxruntime wheel."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("rapidocr-onnxruntime is not installed: run scripts/setup.sh")
    return Path(spec.origin).resolve().parent / "models" / MODEL


class SecondReader:
    """PP-OCRv4 recognition over line crops cut the second way; load once per worker."""

    def __init__(self, threads: int = 1) -> None:
        """Load the model (about 0.3 s)."""
        self.recognise = CtcRecogniser(
            model_path(), threads=threads, batch=4, min_width=96, width_spread=1.1
        )
        self.version = f"{MODEL} (rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')})"

    def read_again(
        self, forms: Sequence[FormReading], pages: Sequence[PageRead], below: float
    ) -> int:
        """Read each doubtful field of `forms` again; returns how many were read."""
        by_number = {page.number: page for page in pages}
        cells_of: dict[int, dict[tuple[float, ...], CellBox]] = {}  # by page, made when needed
        chosen: list[tuple[FieldReading, int, int]] = []  # field, first crop, crop count
        crops: list[np.ndarray] = []
        for form in forms:
            for _, reading in form.all_fields():
                page = by_number.get(reading.page or 0)
                if page is None or not _doubtful(reading, below):
                    continue
                if page.number not in cells_of:
                    cells_of[page.number] = {
                        tuple(source_box(page.prepared, c.cell.box)): c.cell.box for c in page.cells
                    }
                lines = _line_crops(page, reading, cells_of[page.number])
                chosen.append((reading, len(crops), len(lines)))
                crops.extend(lines)
        texts = [r.text for r in self.recognise([_input(c) for c in crops])] if crops else []
        for reading, first, count in chosen:
            second = "".join(texts[first : first + count])
            reading.evidence.second_reading = second
            reading.evidence.second_disagrees = not same_text(reading.raw, second)
        return len(chosen)


def _input(crop: np.ndarray) -> np.ndarray:
    """A crop as the model takes it, narrowed as the first reading narrows its own.

    Narrowed to 0.6 of its width it costs half as much, and on 65 lines of a clean page it
    read the same text but for the width of five brackets and colons, which NFKC makes one.
    """
    return to_bgr(narrowed(crop, WIDTH_SCALE))


def _doubtful(reading: FieldReading, below: float) -> bool:
    """A field that would pass review, read from ink, and not beyond doubt."""
    evidence = reading.evidence
    return (
        not reading.review
        and reading.confidence < below
        and evidence.found
        and not evidence.blank
        and not evidence.inherited
        and bool(reading.raw)
        and reading.bbox is not None
    )


def same_text(first: str, second: str) -> bool:
    """Two readings of one region agree: equal in the spec's comparison form, end marks aside."""
    return _compared(first) == _compared(second)


def _compared(text: str) -> str:
    return normalise_text(text).translate(SIGNS).strip(END_MARKS)


def _line_crops(
    page: PageRead, reading: FieldReading, cells: Mapping[tuple[float, ...], CellBox]
) -> list[np.ndarray]:
    """The field's text lines, cut another way than the first reading cut them.

    The first reading looks inside the cell's lines and a margin more, and cuts each line
    tight to its ink: a character touching the cell's edge can be left out. Here the cell
    is taken up to its ruling lines, and each line keeps `LINE_MARGIN_MM` of the cell beside
    its ink. `cells` are the page's cells by their boxes on the scan, as fields carry them.
    """
    prepared = page.prepared
    box, is_cell = _region(page, reading, cells)
    if is_cell and page.grid is not None:
        inset = page.grid.line_px + 1
        box = (box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset)
    h, w = prepared.gray.shape
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    mm = w / PAGE_WIDTH_MM
    mask = text_ink(prepared.ink[y0:y1, x0:x1], prepared.ink_depth[y0:y1, x0:x1], mm)
    margin = round(LINE_MARGIN_MM * mm)
    return [
        crop_line(
            prepared.ink,
            (max(x0, x0 + left - margin), y0 + top, min(x1, x0 + right + margin), y0 + bottom),
            mm,
        )
        for left, top, right, bottom in text_line_boxes(mask, (0, 0, x1 - x0, y1 - y0), mm)
    ]


def _region(
    page: PageRead, reading: FieldReading, cells: Mapping[tuple[float, ...], CellBox]
) -> tuple[CellBox, bool]:
    """The field's box on the prepared page, and whether it is a cell's."""
    assert reading.bbox is not None
    if (cell := cells.get(tuple(reading.bbox))) is not None:
        return cell, True
    x0, y0, x1, y1 = reading.bbox
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], dtype=float).T
    mapped = page.prepared.transform @ corners
    mapped = mapped[:2] / mapped[2]
    low, high = np.floor(mapped.min(axis=1)), np.ceil(mapped.max(axis=1))
    return (int(low[0]), int(low[1]), int(high[0]), int(high[1])), False
