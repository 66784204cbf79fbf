"""Read every cell of a page: text lines found inside the cell, never across its ruling lines.

The grid already says where text can be, so no detection model runs on the table: the ink
inside a cell is split into lines by its row profile, and all lines of the page go to the
recogniser in one batch. Blank cells cost nothing. Where red ink (a seal) lies over a cell,
the cell is read twice, with and without the colour lifted out, and both readings are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from pipeline.grid import Cell, Grid
from pipeline.ink import depth, line_masks, strokes
from pipeline.ocr.base import OcrEngine, TextLine
from pipeline.prepare import PreparedPage

INK_LEVEL = 150  # on the evened page, paper is ~255 and print well under this
MIN_LINE_MM = 1.2  # a run of ink rows thinner than this is a speck or the edge of a line
MIN_INK_MM2 = 0.6  # less ink than this in a cell is noise, not text
# ... unless it stands as tall as a digit: a lone `7` or `1` in a thin face (a weight or a
# score) has less ink than that, and a speck or a dot is no taller than it is wide.
GLYPH_INK_MM2 = 0.2
GLYPH_HEIGHT_MM = 1.5
SEAL_SHARE = 0.03  # share of a cell under red ink above which it is read both ways
# A table's first rows begin no lower on a prepared page (the frame is placed at most 40 mm
# down); a grid that begins lower lost the rows above it.
ROWS_LOST_ABOVE_MM = 50.0
LINE_PAD_MM = 0.6  # white kept round a text line crop, as the recogniser was trained with
# and white added after it: with less, the recogniser drops a small line-end 。 or ，
# (seen at 190 dpi; 0.4 mm more was enough).
TRAIL_MM = 0.8


@dataclass(frozen=True)
class CellText:
    """What one cell says.

    `text` joins the cell's lines without separator (the spec joins wrapped lines so);
    `score` is the lowest line score (1.0 for a blank cell); `plain` is the reading without
    colour suppression when a seal lies over the cell, else None.
    """

    page: int
    cell: Cell
    text: str
    lines: tuple[TextLine, ...]
    score: float
    seal: bool
    plain: str | None = None
    boxes: tuple[tuple[int, int, int, int], ...] = ()  # each line's box on the page
    # Text runs across its top or bottom edge: no ruling line is there, and what was cut
    # there reads as nothing on either side of it (`text_cut_at_edge`).
    cut: bool = False

    @property
    def blank(self) -> bool:
        """No ink worth reading."""
        return not self.lines


def read_cells(page: PreparedPage, grid: Grid, engine: OcrEngine) -> list[CellText]:
    """Read every cell of `grid` on `page` with one batched recognition call."""
    mm = grid.px_per_mm
    ink_mask = text_ink(page.ink, page.ink_depth, mm)
    plain_mask: np.ndarray | None = None  # made only for a page with a seal on it
    crops: list[np.ndarray] = []
    spans: list[tuple[int, int, int]] = []  # cell index, first crop, crop count
    plain_spans: dict[int, tuple[int, int]] = {}
    sealed: list[bool] = []
    cell_boxes: list[tuple[tuple[int, int, int, int], ...]] = []
    found = [
        text_line_boxes(ink_mask, inner_box(cell.box, grid), mm, right=line_edge(cell.box, grid))
        for cell in grid.cells
    ]
    usual = usual_line_height(found)
    for index, cell in enumerate(grid.cells):
        inner = inner_box(cell.box, grid)
        edge = line_edge(cell.box, grid)
        inside = [x for x in grid.solid_xs if cell.box[0] < x < cell.box[2]]
        parted = split_lines_run_together(ink_mask, found[index], usual)
        boxes = split_at_columns(ink_mask, parted, inside, mm)
        cell_boxes.append(tuple(boxes))
        x0, y0, x1, y1 = inner
        spans.append((index, len(crops), len(boxes)))
        crops.extend(crop_line(page.ink, box, mm, right=edge) for box in boxes)
        seal = bool(page.seal[y0:y1, x0:x1].mean() > SEAL_SHARE) if x1 > x0 and y1 > y0 else False
        sealed.append(seal)
        if seal:
            if plain_mask is None:
                plain_mask = text_ink(page.gray, depth(page.gray), mm)
            plain_boxes = text_line_boxes(plain_mask, inner, mm, right=edge)
            plain_spans[index] = (len(crops), len(plain_boxes))
            crops.extend(crop_line(page.gray, box, mm, right=edge) for box in plain_boxes)
    lines = [
        _slash_read_as_one(line, crop)
        for line, crop in zip(engine.recognize(crops), crops, strict=True)
    ]

    number = page.source.number
    results = []
    for index, first, count in spans:
        own = tuple(lines[first : first + count])
        plain = None
        if index in plain_spans:
            p_first, p_count = plain_spans[index]
            plain = "".join(line.text for line in lines[p_first : p_first + p_count])
        results.append(
            CellText(
                page=number,
                cell=grid.cells[index],
                text="".join(line.text for line in own),
                lines=own,
                score=min((line.score for line in own), default=1.0),
                seal=sealed[index],
                plain=plain,
                boxes=cell_boxes[index],
                cut=not own and text_cut_at_edge(ink_mask, grid.cells[index].box, grid),
            )
        )
    return results


CUT_TEXT_MM = 0.8  # text ink across an edge this wide together: glyph strokes, not a speck


def text_cut_at_edge(mask: np.ndarray, box: tuple[int, int, int, int], grid: Grid) -> bool:
    """Whether text ink crosses the cell's top or bottom edge.

    Where a ruling line runs, `text_ink` took it and the paper beside it out of the mask:
    ink left on the edge is text that a line found in the wrong place (glyph edges, a
    merged cell's name printed across the row line of the columns beside it) cut in two.
    """
    x0, _, x1, _ = inner_box(box, grid)
    reach = max(2, round(0.5 * grid.px_per_mm))
    for y in (box[1], box[3]):
        if y - reach < 0 or y + reach + 1 > mask.shape[0]:
            continue
        on, above, below = (
            mask[a:b, x0:x1].any(axis=0)
            for a, b in ((y - 1, y + 2), (y - reach, y - 1), (y + 2, y + reach + 1))
        )
        # Strokes that run on above and below the edge: a dashed or worn line the mask
        # kept lies along the edge only.
        if int((on & above & below).sum()) >= CUT_TEXT_MM * grid.px_per_mm:
            return True
    return False


# A lone stroke the recogniser reads as a digit or letter, and how far a `/` leans from the
# upright: 14-27 degrees in 31 faces here, where `1`, `l`, `I` and `|` lean at most 9, 15
# (italic) and 13 degrees.
ONE_STROKE = frozenset({"1", "l", "I", "|", "丨"})
SLASH_LEAN_DEG = 12.0


def _slash_read_as_one(line: TextLine, crop: np.ndarray) -> TextLine:
    """A lone `/` (printed where a 指标值 does not apply), which PP-OCR reads as `1`."""
    if line.text not in ONE_STROKE or lean_deg(crop) < SLASH_LEAN_DEG:
        return line
    return line.model_copy(update={"text": "/"})


def lean_deg(crop: np.ndarray) -> float:
    """How far the ink of a crop leans from upright, in degrees; positive as `/` leans."""
    ys, xs = np.nonzero(crop < INK_LEVEL)
    if len(xs) < 5:
        return 0.0
    dx, dy = np.linalg.eigh(np.cov(np.vstack([xs, ys]).astype(float)))[1][:, 1]
    from_down = math.degrees(math.atan2(dx, dy))  # the principal axis, from straight down
    return -(((from_down + 90) % 180) - 90)


def text_ink(gray: np.ndarray, dark: np.ndarray, mm: float) -> np.ndarray:
    """Ink of text only: dark strokes with the long ruling lines taken out (`dark`: `depth`)."""
    _, printed = cv2.threshold(gray, INK_LEVEL + 60, 255, cv2.THRESH_BINARY_INV)
    marks = cv2.bitwise_and(strokes(dark), printed)
    across, down = line_masks(marks, max(10, round(6 * mm)))
    lines = cv2.dilate(cv2.bitwise_or(across, down), np.ones((3, 3), np.uint8))
    return cv2.subtract(marks, lines)


def inner_box(box: tuple[int, int, int, int], grid: Grid) -> tuple[int, int, int, int]:
    """A cell's box less its ruling lines and a little more."""
    inset = grid.line_px + max(2, round(0.35 * grid.px_per_mm))
    x0, y0, x1, y1 = box
    return x0 + inset, y0 + inset, x1 - inset, y1 - inset


def line_edge(box: tuple[int, int, int, int], grid: Grid) -> int:
    """The first column of a cell's right ruling line: as far as its text can reach."""
    return box[2] - grid.line_px


def text_line_boxes(
    mask: np.ndarray, box: tuple[int, int, int, int], mm: float, right: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Boxes of the text lines inside `box` of an ink mask, top to bottom.

    Lines are found inside `box`, but their ink is followed on to `right` where it is
    given: a line-end ，or 。 may hang past the text's measure up to the ruling line, as
    Chinese typesetting lets it, and cut to its sliver inside `box` it reads as a speck.
    """
    x0, y0, x1, y1 = box
    reach = max(x1, right) if right is not None else x1
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    region = mask[y0:y1, x0:x1] > 0
    ink = region.sum()
    if ink < MIN_INK_MM2 * mm * mm and not (
        ink >= GLYPH_INK_MM2 * mm * mm and _ink_height(region) >= GLYPH_HEIGHT_MM * mm
    ):
        return []
    rows = region.sum(axis=1) > 0
    runs = _runs(rows)
    # Join runs split by a thin gap (the two parts of 二, a dropped stroke).
    joined: list[list[int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] < 0.35 * mm:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    boxes = []
    for start, end in joined:
        if end - start < MIN_LINE_MM * mm:
            continue
        span = _trim_specks(region[start:end], mm)
        if span is None:
            continue
        if reach > x1:
            span = _with_hanging_mark(mask[y0 + start : y0 + end, x0:reach] > 0, span, mm)
        boxes.append((x0 + span[0], y0 + start, x0 + span[1], y0 + end))
    return boxes


HANGING_MARK_SHARE = 0.5  # a ，or 。 is at most this much of its line high


def _with_hanging_mark(line: np.ndarray, span: tuple[int, int], mm: float) -> tuple[int, int]:
    """A line's column span taken on to a punctuation mark hanging past its measure.

    Only a short mark counts: a stroke the line's height beside the ruling line is what is
    left of the line itself, and reads as a 1.
    """
    wide = _trim_specks(line, mm)
    if wide is None or wide[1] <= span[1]:
        return span
    rows = np.flatnonzero(line[:, span[1] : wide[1]].any(axis=1))
    short = rows[-1] - rows[0] + 1 <= HANGING_MARK_SHARE * line.shape[0]
    return (span[0], wide[1]) if short else span


def _ink_height(region: np.ndarray) -> int:
    """Rows from the top of a mask's ink to its bottom."""
    rows = np.flatnonzero(region.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


# A text line box at least this many of the page's usual lines high holds lines printed so
# close (a spreadsheet's wrapped text) that no paper row parts them.
RUN_TOGETHER = 1.6
FEW_LINES = 5  # a page with fewer lines than this has no usual height to go by
VALLEY = 0.25  # ink of a row between two lines, as a share of the box's median row


def usual_line_height(boxes: Sequence[Sequence[tuple[int, int, int, int]]]) -> float:
    """The median height of a page's text line boxes; 0 where it has too few of them."""
    heights = [b[3] - b[1] for cell in boxes for b in cell]
    return float(np.median(heights)) if len(heights) >= FEW_LINES else 0.0


def split_lines_run_together(
    mask: np.ndarray, boxes: list[tuple[int, int, int, int]], usual: float
) -> list[tuple[int, int, int, int]]:
    """Boxes `RUN_TOGETHER` usual lines high or more cut into that many lines.

    Each cut is at the row of least ink within a quarter line of where it would fall were
    the lines even, and only where that row is a valley (`VALLEY` of the box's usual row):
    a line thickened by noise or a tall glyph has none. Each piece is trimmed to its ink.
    """
    out: list[tuple[int, int, int, int]] = []
    for box in boxes:
        x0, y0, x1, y1 = box
        height = y1 - y0
        count = round(height / usual) if usual > 0 else 1
        if usual <= 0 or height < RUN_TOGETHER * usual or count < 2:
            out.append(box)
            continue
        ink = mask[y0:y1, x0:x1] > 0
        rows = ink.sum(axis=1)
        floor = VALLEY * float(np.median(rows[rows > 0]))
        step = height / count
        edges = [0]
        for k in range(1, count):
            lo = max(edges[-1] + 1, round(k * step - step / 4))
            hi = min(height - 1, round(k * step + step / 4))
            cut = lo + int(np.argmin(rows[lo : hi + 1])) if hi >= lo else -1
            if cut < 0 or rows[cut] > floor:
                break
            edges.append(cut)
        if len(edges) < count:
            out.append(box)
            continue
        edges.append(height)
        for top, bottom in pairwise(edges):
            piece = ink[top:bottom]
            ys, xs = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
            if len(ys):
                out.append(
                    (
                        x0 + int(xs[0]),
                        y0 + top + int(ys[0]),
                        x0 + int(xs[-1]) + 1,
                        y0 + top + int(ys[-1]) + 1,
                    )
                )
    return out


COLUMN_GAP_MM = 1.0  # clear paper this far either side of a column position parts a line


def split_at_columns(
    mask: np.ndarray, boxes: list[tuple[int, int, int, int]], columns: list[int], mm: float
) -> list[tuple[int, int, int, int]]:
    """Text lines cut where they run over a column position with clear paper there.

    A cell spanning column positions is a merged cell, or two cells whose line wore away. In
    the second, a name and its value sit on one text line with a gap where the line was;
    cut there, each part can be told by which column it lies in. Prose in a merged cell
    leaves no such gap.
    """
    gap = max(1, round(COLUMN_GAP_MM * mm))
    out = []
    for box in boxes:
        pieces = [box]
        for x in sorted(columns):
            x0, y0, x1, y1 = pieces[-1]
            if not (x0 + gap < x < x1 - gap) or mask[y0:y1, x - gap : x + gap].any():
                continue
            ink = np.flatnonzero(mask[y0:y1, x0:x1].any(axis=0)) + x0
            left, right = ink[ink < x], ink[ink > x]
            pieces[-1:] = [(x0, y0, int(left[-1]) + 1, y1), (int(right[0]), y0, x1, y1)]
        out.extend(pieces)
    return out


SPECK_GAP_MM = 1.5  # a mark this far from the rest of its line is not part of the text
SPECK_INK_MM2 = 0.15  # and this little ink is dust or a toner speck; a full stop (。) has more


def _trim_specks(line: np.ndarray, mm: float) -> tuple[int, int] | None:
    """Column span of a text line without specks at its ends (they OCR as "." or "、")."""
    cols = line.sum(axis=0)
    clusters = _runs(cols > 0)
    merged: list[list[int]] = []
    for a, b in clusters:
        if merged and a - merged[-1][1] < SPECK_GAP_MM * mm:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    keep = [c for c in merged if cols[c[0] : c[1]].sum() >= SPECK_INK_MM2 * mm * mm]
    if not keep:
        return None
    return keep[0][0], keep[-1][1]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def crop_line(
    gray: np.ndarray, box: tuple[int, int, int, int], mm: float, right: int | None = None
) -> np.ndarray:
    """A text line's box cut from the page with the white round it the recogniser expects.

    The crop stops at `right` where it is given (the cell's ruling line, which would read
    as a 丨) and is made up to its margin with white; `TRAIL_MM` of white follows.
    """
    pad = max(2, round(LINE_PAD_MM * mm))
    x0, y0, x1, y1 = box
    h, w = gray.shape
    end = min(w, x1 + pad) if right is None else min(w, x1 + pad, max(x1, right))
    crop = gray[max(0, y0 - pad) : min(h, y1 + pad), max(0, x0 - pad) : end]
    white = min(w, x1 + pad) - end + round(TRAIL_MM * mm)
    return np.ascontiguousarray(np.pad(crop, ((0, 0), (0, white)), constant_values=255))


def read_above_table(
    page: PreparedPage, grid: Grid | None, engine: OcrEngine
) -> tuple[list[str], list[tuple[int, int, int, int]]]:
    """Text lines printed above the table (the title, the year line), top to bottom.

    With them, their boxes on the prepared page.
    """
    mm = page.gray.shape[1] / 210.0
    bottom = grid.frame[1] if grid is not None else page.gray.shape[0] // 4
    if bottom < 4 * mm:
        return [], []
    if bottom > ROWS_LOST_ABOVE_MM * mm:
        # The grid begins far down the page: the rows above it (their rulings faded) are
        # ink, not cells, and the line search runs their labels, values and a seal into
        # blocks it cannot read. Detection finds the title among them.
        lines = engine.read(page.ink[:bottom])
        return [line.text for line in lines], [_int_box(line.bbox) for line in lines]
    mask = text_ink(page.ink[:bottom], page.ink_depth[:bottom], mm)
    boxes = text_line_boxes(mask, (0, 0, mask.shape[1], bottom), mm)
    if not boxes:
        return [], []
    lines = engine.recognize([crop_line(page.ink, box, mm) for box in boxes])
    return [line.text for line in lines], boxes


def _int_box(bbox: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = bbox
    return round(x0), round(y0), round(x1), round(y1)
