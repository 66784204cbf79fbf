"""A form's scalar fields, from its first page: each value is the cell right of its label.

A field of a block of figures is the cell on its row label's row under its column head
(`年度资金总额` × `全年预算数`). The year is read from the line above the table. Where worn
lines joined a label with its neighbours, or cut a value into pieces, the value is taken
apart or joined again and the field says how it was read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rapidfuzz import fuzz

from pipeline.form_spec import FieldSpec, Template
from pipeline.mapping.anchors import MIN_ANCHOR_SCORE, anchor_score, best_anchor, clean
from pipeline.mapping.cell_reading import reading_of, source_box
from pipeline.ocr.base import TextLine
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.readings import Evidence, FieldReading, FormReading

# A cell this like a label is one, worn or not: a value's text does not run on into it.
LABEL_LIKE = 50.0


def map_scalar_fields(template: Template, page: PageRead, form: FormReading) -> None:
    """Fill the form's scalar fields from the first page of the form."""
    labels = [clean(a) for a in template.labels]
    for spec in template.fields:
        if spec.row:
            form.fields[spec.key] = _in_block(template, page, spec)[0]
            continue
        label, score = best_anchor(page.cells, spec.anchors)
        joined = None
        if label is None:
            # A worn line left of the label joined it to the value before: `…司法局实施单位`.
            label, joined = _label_at_end(page.cells, spec.anchors), "the cell before it"
        value = None
        if label is not None:
            # A label read at the end of a cell that spans rows sits in its last row.
            at_end = _label_at_end([label], spec.anchors) is not None
            value = _right_of(page.cells, label, last_row=at_end)
        pieces = _run_on(page.cells, value, labels) if value is not None else []
        if len(pieces) > 1:
            value = _joined(pieces)
        reading = reading_of(page, value, score if joined is None else MIN_ANCHOR_SCORE)
        if len(pieces) > 1:
            # A stray line (a pen stroke, a speck's column) cut the value's cell.
            reading.evidence.rule_failures.append(f"value read across {len(pieces)} cells")
        if label is not None and value is None:
            # A worn line right of the label joined it to its value: `其中：财政拨款4万元`.
            rest = _after_label(label.text, spec.anchors)
            if rest:
                reading = reading_of(page, label, score)
                reading.value, joined = rest, "its value"
        if label is None:
            form.issues.append(f"page {page.number}: label of {spec.key} not found")
        elif joined is not None:
            reading.evidence.rule_failures.append(f"label read joined to {joined}")
        _drop_trailing_labels(template, reading)
        form.fields[spec.key] = reading
    year = _year(template, page)
    if not year.value:
        _year_from_fields(template, year, form.fields)
    form.fields = {"year": year, **form.fields}


def map_block_fields_on_later_pages(
    template: Template,
    pages: Sequence[PageRead],
    form: FormReading,
    columns: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """Look for the block fields its first page did not show on the form's other pages.

    A form's last rows (the 总分 row) often print on its last page, under the indicator
    table's columns whose heads are on the page before: `columns` are those columns' x
    ranges, as shares of the table's width. Where no page shows a field, the form's issues
    say why its first page did not.
    """
    headers = template.indicators.headers
    for spec in template.fields:
        reading = form.fields.get(spec.key)
        if not spec.row or reading is None or reading.evidence.found:
            continue
        column = next((k for k, h in headers.items() if h in spec.column), None)
        share = (columns or {}).get(column or "")
        problems = []
        for page in pages:
            found, problem = _in_block(template, page, spec, share)
            if problem is None:
                form.fields[spec.key] = found
                break
            problems.append(f"page {page.number}: {problem}")
        else:
            form.issues.append(problems[0])


def _in_block(
    template: Template,
    page: PageRead,
    spec: FieldSpec,
    column_share: tuple[float, float] | None = None,
) -> tuple[FieldReading, str | None]:
    """The cell on the row label's row under the nearest column head above it.

    A head is a cell that reads more like this column's head than like any other head of
    the form (年初预算数 and 全年预算数 differ by a character). The same head can be printed
    twice (分值 over the funds block and over the indicator table): the nearest one above
    the row is its own. A head printed inside the row label's span (预期目标 under
    年度总体目标) has its value below it, in the same span.
    """
    others = [a for other in template.fields for a in other.column if a not in spec.column]
    row, row_score = best_anchor(page.cells, spec.row)
    if row is None:
        return reading_of(page, None), f"row label of {spec.key} not found"
    _, row_top, _, row_bottom = row.cell.box
    heads = [
        (cell, score)
        for cell in page.cells
        if (score := max(anchor_score(cell.text, a) for a in spec.column)) >= MIN_ANCHOR_SCORE
        and score > max((anchor_score(cell.text, a) for a in others), default=0.0)
        and _mid_y(cell) < row_bottom
        and cell is not row
    ]
    if heads:
        head, head_score = max(heads, key=lambda h: (_mid_y(h[0]), h[1]))
        x0, _, x1, head_bottom = head.cell.box
    elif column_share is not None and page.grid is not None:
        # The head is on the page before, over the indicator column carried to this one.
        left, _, right, _ = page.grid.frame
        x0, x1 = (round(left + share * (right - left)) for share in column_share)
        head, head_score, head_bottom = None, MIN_ANCHOR_SCORE, row_top
    else:
        return reading_of(page, None), f"column head of {spec.key} not found"
    below = [
        c
        for c in page.cells
        if x0 <= _mid_x(c) <= x1
        and max(row_top, head_bottom) <= _mid_y(c) <= row_bottom
        and c is not head
    ]
    if not below:
        return reading_of(page, None), f"no cell of {spec.key} under its head"
    # A stray line down a wide cell (a wrapped goal) cut it: its pieces side by side. A line
    # across it that the row label does not share (digits' flat feet can pass for one) cut
    # it into bands, one above the other, and split its figures between them.
    tops = sorted({c.cell.row0 for c in below})
    bands = [
        _side_by_side(sorted((c for c in below if c.cell.row0 == top), key=_mid_x)) for top in tops
    ]
    reading = reading_of(page, _joined(bands), min(row_score, head_score))
    if len(below) > 1:
        reading.evidence.rule_failures.append(f"value read across {len(below)} cells")
    if len(bands) > 1:
        reading.evidence.contradicted = True  # what was read of cut figures is no reading
    return reading, None


def _side_by_side(pieces: Sequence[CellText]) -> CellText:
    """One cell of pieces a line cut apart, its text read line by line across them."""
    if len(pieces) == 1:
        return pieces[0]
    lines = [
        (box, line)
        for piece in pieces
        if len(piece.boxes) == len(piece.lines)
        for box, line in zip(piece.boxes, piece.lines, strict=True)
    ]
    # Lines at one height across the pieces are one line of the text, read left to right.
    lines.sort(key=lambda bl: (bl[0][1] + bl[0][3]) / 2)
    rows: list[list[tuple[tuple[int, int, int, int], TextLine]]] = []
    for box, line in lines:
        height = box[3] - box[1]
        if rows and abs((box[1] + box[3]) / 2 - _middle(rows[-1][0][0])) < height / 2:
            rows[-1].append((box, line))
        else:
            rows.append([(box, line)])
    ordered = [bl for row in rows for bl in sorted(row, key=lambda bl: bl[0][0])]
    joined = _joined(pieces)
    return replace(
        joined,
        text="".join(line.text for _, line in ordered),
        lines=tuple(line for _, line in ordered),
        boxes=tuple(box for box, _ in ordered),
    )


def _middle(box: tuple[int, int, int, int]) -> float:
    return (box[1] + box[3]) / 2


def _mid_x(cell: CellText) -> float:
    return (cell.cell.box[0] + cell.cell.box[2]) / 2


def _mid_y(cell: CellText) -> float:
    return (cell.cell.box[1] + cell.cell.box[3]) / 2


def _year_from_fields(
    template: Template, year: FieldReading, fields: Mapping[str, FieldReading]
) -> None:
    """The year where another field starts with one; the year stays unfound (a guess)."""
    starts = re.compile(r"^\s*(20\d\d)\s*年")
    for key in template.year.also_in:
        reading = fields.get(key)
        if reading is not None and (match := starts.match(reading.value)):
            year.value, year.raw, year.bbox = match.group(1), reading.raw, reading.bbox
            year.evidence.rule_failures.append(f"year not read above the table: taken from {key}")
            return


def _right_of(
    cells: Sequence[CellText], label: CellText, last_row: bool = False
) -> CellText | None:
    """The cell right of a label; of several, the one at its first row (or its last)."""
    row0, row1 = label.cell.row0, label.cell.row1
    candidates = [
        c
        for c in cells
        if c.cell.col0 == label.cell.col1 + 1 and c.cell.row0 <= row1 and c.cell.row1 >= row0
    ]
    if last_row:
        return min(candidates, key=lambda c: abs(c.cell.row1 - row1), default=None)
    return min(candidates, key=lambda c: abs(c.cell.row0 - row0), default=None)


def _run_on(cells: Sequence[CellText], value: CellText, labels: Sequence[str]) -> list[CellText]:
    """`value` and the cells with text after it on its row, up to the next label or blank.

    `labels` are the form's printed labels, `_clean`ed.
    """
    pieces = [value]
    row = [c for c in cells if c.cell.row0 == value.cell.row0 and c.cell.row1 == value.cell.row1]
    while nxt := next((c for c in row if c.cell.col0 == pieces[-1].cell.col1 + 1), None):
        # A cell that ran into the next label ends the value, as does that label's own cell.
        if (
            nxt.blank
            or _label_like(pieces[-1].text, labels, at_end=True)
            or _label_like(nxt.text, labels, at_end=False)
        ):
            break
        pieces.append(nxt)
    return pieces


def _label_like(text: str, labels: Sequence[str], at_end: bool) -> bool:
    """Whether a cell's text starts (or ends) with something like a label, worn or joined."""
    cleaned = clean(text)
    return any(
        fuzz.ratio(cleaned[-len(a) :] if at_end else cleaned[: len(a)], a) >= LABEL_LIKE
        for a in labels
    )


def _joined(pieces: Sequence[CellText]) -> CellText:
    """One cell of several side by side, their text run together."""
    first, last = pieces[0], pieces[-1]
    box = (first.cell.box[0], first.cell.box[1], last.cell.box[2], last.cell.box[3])
    plains = [c.plain if c.plain is not None else c.text for c in pieces]
    return replace(
        first,
        cell=replace(first.cell, col1=last.cell.col1, box=box),
        text="".join(c.text for c in pieces),
        lines=tuple(line for c in pieces for line in c.lines),
        score=min(c.score for c in pieces),
        seal=any(c.seal for c in pieces),
        plain="".join(plains) if any(c.plain is not None for c in pieces) else None,
        boxes=tuple(b for c in pieces for b in c.boxes),
    )


def _label_at_end(cells: Sequence[CellText], anchors: Sequence[str]) -> CellText | None:
    """The cell whose text ends with one of `anchors` after text of its own."""
    for cell in cells:
        text = clean(cell.text)
        if any(text.endswith(clean(a)) and len(text) > len(clean(a)) for a in anchors):
            return cell
    return None


def _after_label(text: str, anchors: Sequence[str]) -> str:
    """What follows the label at the start of a cell's text; empty where none starts it."""
    cleaned = clean(text)
    for anchor in sorted(anchors, key=len, reverse=True):
        if cleaned.startswith(clean(anchor)):
            return cleaned[len(clean(anchor)) :]
    return ""


def _drop_trailing_labels(template: Template, reading: FieldReading) -> None:
    """Take printed labels off the end of a value whose cell ran into the label cells after it.

    A worn line right of a value joins it with the next label (`一年期项目项目期`); under
    the last row of fields, with the indicator table's header (`…开展。二级指标三级指标指标值`).
    """
    labels = sorted(template.labels, key=len, reverse=True)
    value = reading.value.rstrip()
    dropped = ""
    while label := next((a for a in labels if value.endswith(a) and len(value) > len(a)), None):
        value, dropped = value[: -len(label)].rstrip(), label + dropped
    if dropped:
        reading.value = value
        reading.evidence.rule_failures.append(f"labels {dropped!r} joined to the value's cell")


def _year(template: Template, page: PageRead) -> FieldReading:
    pattern = re.compile(template.year.pattern)
    for index, line in enumerate(page.above):
        match = pattern.search(clean(line).replace("（", "").replace("(", ""))
        if match:
            box = page.above_boxes[index] if index < len(page.above_boxes) else None
            return FieldReading(
                value=match.group(1),
                raw=line,
                page=page.number,
                bbox=source_box(page.prepared, box) if box is not None else None,
            )
    return FieldReading(value="", raw="", page=page.number, evidence=Evidence(found=False))
