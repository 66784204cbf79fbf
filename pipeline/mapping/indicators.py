"""A form's indicator rows: each 三级 line with its 一级, 二级 and 指标值, page by page.

Indicator rows are the cells of the 三级指标 column, with the 一级 and 二级 cells that span
them and the 指标值 beside; the columns come from the header row (`columns`), or from the
form's page before where a page continues the table. Where worn lines joined cells, the rows
are taken apart as far as their text allows and every field says so; a line without a name
is no row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from pipeline.form_spec import ColumnKind, IndicatorSpec, Template
from pipeline.mapping.anchors import MIN_ANCHOR_SCORE, anchor_score, clean
from pipeline.mapping.cell_reading import doubt_cut_text, reading_of, source_box
from pipeline.mapping.columns import column_headers, column_ranges, split_joined_headers
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.readings import SURE_VOCAB, Evidence, FieldReading, FormReading

MIN_VOCAB_SCORE = 60.0
TOUCH_PX = 3  # cells whose edges lie this close share a ruling line


@dataclass
class IndicatorState:
    """What carries from one page of a form to the next: column places and open spans."""

    columns: dict[str, tuple[float, float]] | None = None  # key → x range as share of table width
    level1: tuple[str, float] | None = None
    level2: tuple[str, float] | None = None


@dataclass(frozen=True)
class _Table:
    """A page's indicator table: its columns' places, and its cells below the header by column."""

    page: PageRead
    spec: IndicatorSpec
    columns: dict[str, tuple[float, float]]  # key → x range as share of the table's width
    x_left: int
    width: int
    cells: dict[str, list[CellText]]  # key → the column's cells below the header

    def of(self, kind: ColumnKind) -> list[CellText]:
        """The cells of the first column of `kind`; none where the table has no such column."""
        key = self.spec.key_of(kind)
        return self.cells.get(key, []) if key is not None else []

    @property
    def value_x(self) -> float:
        """Where the first value column starts on the page."""
        key = self.spec.key_of("value")
        if key is None or key not in self.columns:
            return float(self.x_left + self.width)
        return self.x_left + self.columns[key][0] * self.width


def map_indicators(
    template: Template, page: PageRead, form: FormReading, state: IndicatorState
) -> None:
    """Append the page's indicator rows to the form."""
    table = _table(template, page, form, state)
    if table is None:
        return
    spec = template.indicators
    first_row = len(form.indicators)
    for cell in _row_names(spec, table):
        if spec.line_label is None:
            _map_row(template, table, form, state, cell)
        elif any(c is cell for c in table.of("level2")):
            l1_cell = next((c for c in table.of("level1") if _beside(c, cell)), None)
            _map_joined_block(template, page, form, state, cell, l1_cell, table.of("value"))
        else:
            _map_name_cell(template, table, form, state, cell)
    rows = form.indicators[first_row:]
    for column in spec.columns:
        if column.kind in ("value", "number", "text"):
            _mark_lost_values(rows, form, page.number, column.key, column.header)
        if column.kind in ("value", "number"):
            _mark_shared_values(rows, form, page.number, column.key)


def _row_names(spec: IndicatorSpec, table: _Table) -> list[CellText]:
    """The name column's cells top to bottom, up to the row that closes the table (总分)."""
    names = sorted(table.of("name"), key=lambda c: c.cell.box[1])
    if spec.end_row is not None:
        end = next((i for i, c in enumerate(names) if _is_end_row(spec, c)), None)
        names = names[:end]
    return names


def _is_end_row(spec: IndicatorSpec, cell: CellText) -> bool:
    return spec.end_row is not None and anchor_score(cell.text, spec.end_row) >= MIN_ANCHOR_SCORE


def _table(
    template: Template, page: PageRead, form: FormReading, state: IndicatorState
) -> _Table | None:
    """The page's indicator table, its columns from its header row or the form's page before.

    None, and an issue on the form, where neither gives the 三级 column.
    """
    if page.grid is None:
        return None
    x_left, y_top, x_right, _ = page.grid.frame
    width = max(1, x_right - x_left)
    spec = template.indicators
    name_key = spec.key_of("name") or ""
    header_bottom = y_top
    headers = spec.headers
    found = column_headers(
        split_joined_headers(page.cells, headers, page.grid.xs), headers, name_key
    )
    if name_key in found or len(found) >= 3:
        state.columns = column_ranges(found, list(headers), x_left, width, page.grid.xs)
        # A worn header reads as no label (or runs into the first value below it): its
        # column lies between its neighbours', or after the last.
        if guessed := [headers[k] for k in state.columns if k not in found]:
            form.issues.append(
                f"page {page.number}: {', '.join(guessed)} taken as the space beside the "
                "columns whose headers were read"
            )
        header_bottom = max(c.cell.box[3] for c in found.values())
    if state.columns is None or name_key not in state.columns:
        form.issues.append(f"page {page.number}: indicator columns not found")
        return None

    columns = state.columns

    def column(key: str) -> list[CellText]:
        if key not in columns:
            return []
        lo, hi = columns[key]
        mid = x_left + (lo + hi) / 2 * width
        # A cell reaching down past the header row holds a row's cell too (a worn line under
        # the header joined them).
        return [
            c
            for c in page.cells
            if c.cell.box[0] < mid < c.cell.box[2] and c.cell.box[3] > header_bottom + 2
        ]

    cells = {key: column(key) for key in headers}
    # A cell inside another was read twice: its text is part of the larger cell's.
    names = cells[name_key]
    cells[name_key] = [c for c in names if not any(d is not c and _inside(c, d) for d in names)]
    return _Table(page, spec, columns, x_left, width, cells)


def _map_name_cell(
    template: Template, table: _Table, form: FormReading, state: IndicatorState, cell: CellText
) -> None:
    """The rows of one 三级 cell: one, or one for each 指标N line a worn line joined into it."""
    values = table.of("value")
    value = next((v for v in values if _beside(v, cell)), None)
    # A worn line under a 三级 line joins it with the next one's cell: each 指标N label
    # starts a row, paired with the value cell at its own height.
    label = template.indicators.line_label or ""
    pieces = _label_lines(cell, label) if value is not cell else [(cell.text, None)]
    several = len(pieces) > 1
    for piece, line_y in pieces:
        if line_y is not None and several:
            value = _value_at(values, line_y)
        _map_line(template, table, form, state, cell, piece, value)


def _map_line(
    template: Template,
    table: _Table,
    form: FormReading,
    state: IndicatorState,
    cell: CellText,
    piece: str,
    value: CellText | None,
) -> None:
    """One 指标N line of the 三级 `cell`, with its value cell, as a row of the form.

    `piece` is the line's text.
    """
    spec, page = template.indicators, table.page
    line_label = spec.line_label or ""
    text, value_text = piece, None
    if value is cell:  # the line between name and value is lost: no value cell
        text, value_text = _parted(cell, table.value_x)
    seq, name = _split_line(text, line_label)
    if seq is None and not name.strip(template.stray_marks):
        return
    l1, l2 = _levels(template, table, state, cell)
    name_reading = reading_of(page, cell)
    seq_reading = name_reading.model_copy(deep=True)
    seq_reading.value = seq or ""
    name_reading.value = name
    value_reading = reading_of(page, value)
    if value is cell:
        # Where it was not parted out, the value is unfound; the cell is still where a
        # reviewer finds it.
        value_reading.value = value_reading.raw = value_text or ""
        value_reading.evidence.found = value_text is not None
        value_reading.evidence.rule_failures.append("name and value read as one cell")
    keys = _Keys.of(spec)
    _drop_header(value_reading, spec.headers[keys.value])
    name = _value_out_of_name(spec, name, name_reading, value_reading)
    if name in spec.headers.values():
        return  # a header cell read again under the header row
    if not _is_name(spec, name):
        # A filled row always names its indicator (the spec drops lines with neither name
        # nor value, and no form has a value without a name): a line whose name is no
        # name is specks, and what its value cell holds a stain or a neighbour's ink.
        if name or value_reading.value:
            form.issues.append(
                f"page {page.number}: line {piece!r} with value "
                f"{value_reading.value!r} taken for an empty {line_label}N line"
            )
        return
    if seq is None:
        # Every line prints its label; here the number, or the whole label, was not
        # read. The row's place in its 二级 block says which it is: a guess, so it
        # stays marked as failed.
        seq_reading.evidence.rule_failures.append(f"no {line_label}N label")
        seq_reading.value = _next_seq(form, keys, l2.value if l2 else "")
    form.indicators.append(
        keys.levels(l1, l2)
        | {"seq": seq_reading, keys.name: name_reading, keys.value: value_reading}
    )


@dataclass(frozen=True)
class _Keys:
    """The record keys of a printed-label table's columns (`指标N: name | value`)."""

    level1: str | None
    level2: str | None
    name: str
    value: str

    @classmethod
    def of(cls, spec: IndicatorSpec) -> _Keys:
        name, value = spec.key_of("name"), spec.key_of("value")
        if name is None or value is None:
            raise ValueError("a table that prints 指标N labels needs a name and a value column")
        return cls(spec.key_of("level1"), spec.key_of("level2"), name, value)

    def levels(
        self, level1: FieldReading | None, level2: FieldReading | None
    ) -> dict[str, FieldReading]:
        """The row's 一级 and 二级 fields under their keys, for the columns the table has."""
        return _by_level_keys(self.level1, self.level2, level1, level2)


def _by_level_keys(
    key1: str | None, key2: str | None, level1: FieldReading | None, level2: FieldReading | None
) -> dict[str, FieldReading]:
    """A row's 一级 and 二级 fields under the keys of the columns the table has."""
    out = {}
    if key1 is not None and level1 is not None:
        out[key1] = level1
    if key2 is not None and level2 is not None:
        out[key2] = level2
    return out


def _levels(
    template: Template, table: _Table, state: IndicatorState, cell: CellText
) -> tuple[FieldReading | None, FieldReading | None]:
    """The 一级 and 二级 of the row whose name is `cell`: the cells spanning it, or above it."""
    spec, page = template.indicators, table.page
    l2 = l1 = None
    if spec.key_of("level2") is not None:
        l2_cell = _level_cell(table.of("level2"), cell)
        l2 = _vocab_field(page, l2_cell, template.level2_names, spec.note_pattern, state, "level2")
    if spec.key_of("level1") is not None:
        l1_cell = _level_cell(table.of("level1"), cell)
        l1 = _vocab_field(page, l1_cell, list(spec.vocabulary), spec.note_pattern, state, "level1")
    if l1 is not None and l2 is not None:
        _level1_from_level2(template, l1, l2)
    return l1, l2


def _level_cell(cells: Sequence[CellText], name: CellText) -> CellText | None:
    """The 一级 or 二级 cell beside a row; where that is blank, the block it was cut from.

    A merged cell prints its name at the middle of its span. A stray line across the
    column cuts it in two: the name lands in one piece, at that piece's edge, and the other
    piece reads blank, as if its rows were still the block above. The blank piece belongs
    to the neighbour it touches whose name sits nearer the middle of the two together than
    the middle of its own piece.
    """
    own = next((c for c in cells if _beside(c, name)), None)
    if own is None or not own.blank:
        return own
    top, bottom = own.cell.box[1], own.cell.box[3]
    best, best_gain = None, 0.0
    for other in cells:
        if other.blank or not other.boxes:
            continue
        if abs(other.cell.box[3] - top) > TOUCH_PX and abs(other.cell.box[1] - bottom) > TOUCH_PX:
            continue  # not touching it
        text_y = (min(b[1] for b in other.boxes) + max(b[3] for b in other.boxes)) / 2
        alone = (other.cell.box[1] + other.cell.box[3]) / 2
        joined = (min(top, other.cell.box[1]) + max(bottom, other.cell.box[3])) / 2
        gain = abs(text_y - alone) - abs(text_y - joined)
        if gain > best_gain:
            best, best_gain = other, gain
    return best or own


def _map_row(
    template: Template, table: _Table, form: FormReading, state: IndicatorState, cell: CellText
) -> None:
    """One row of a table that prints no line label: its name cell and the cells beside it.

    Its `seq` is its place among its 二级 block's rows, set once the form's rows are all
    placed (`number_rows_in_order`).
    """
    spec, page = template.indicators, table.page
    name_key = spec.key_of("name") or ""
    name_reading = reading_of(page, cell)
    name = name_reading.value.strip().strip(template.stray_marks)
    if name in spec.headers.values() or not _is_name(spec, name):
        if name:
            form.issues.append(f"page {page.number}: {name!r} in the name column taken for no row")
        return
    name_reading.value = name
    l1, l2 = _levels(template, table, state, cell)
    row = _by_level_keys(spec.key_of("level1"), spec.key_of("level2"), l1, l2)
    row["seq"] = name_reading.model_copy(deep=True)
    row["seq"].value = ""
    row[name_key] = name_reading
    for column in spec.columns:
        if column.kind in ("level1", "level2", "name"):
            continue
        beside = next((c for c in table.cells.get(column.key, []) if _beside(c, cell)), None)
        reading = reading_of(page, beside if beside is not cell else None)
        _drop_header(reading, column.header)
        row[column.key] = reading
    form.indicators.append(row)


def number_rows_in_order(template: Template, form: FormReading) -> None:
    """Number each row by its place among its 二级 block's rows, from 1: the form prints none.

    The number is as sure as the row's 二级 name, whose block it counts in.
    """
    if template.indicators.line_label is not None:
        return
    level2 = template.indicators.key_of("level2")
    counts: dict[str, int] = defaultdict(int)
    for row in form.indicators:
        block = row[level2].value if level2 is not None and level2 in row else ""
        counts[block] += 1
        source = row[level2] if level2 is not None and level2 in row else row["seq"]
        seq = source.model_copy(deep=True)
        seq.value = seq.raw = str(counts[block])
        row["seq"] = seq


def _value_out_of_name(
    spec: IndicatorSpec, name: str, name_reading: FieldReading, value_reading: FieldReading
) -> str:
    """`name` without a 指标值 read into it, which goes to the empty `value_reading`.

    The line between 三级 and 指标值 is worn and the value read into the name:
    `网格员满意度≥95%` beside an empty value cell.
    """
    if not value_reading.value and spec.value_at_end:
        joined = re.search(spec.value_at_end, name)
        if joined is not None and joined.start() > 0:
            name, value_reading.value = name[: joined.start()], joined.group(0)
            value_reading.evidence.blank = False
            value_reading.evidence.found = True
            for reading in (name_reading, value_reading):
                reading.evidence.rule_failures.append("name and value read as one cell")
            name_reading.value = name
    return name


def _mark_lost_values(
    rows: Sequence[dict[str, FieldReading]], form: FormReading, page: int, key: str, header: str
) -> None:
    """Where most rows of a page found no value cell, the column itself was lost.

    A table printed without its outer line on the value column's side ends at the 三级
    column: every value then comes out blank, and a blank is a common, trusted 指标值. None
    of them has a cell behind it, found or blank, so the whole column goes to review.
    """
    unfound = sum(key in row and not row[key].evidence.found for row in rows)
    if not rows or 2 * unfound <= len(rows):
        return
    for row in rows:
        if key in row:
            row[key].evidence.column_lost = True
    form.issues.append(
        f"page {page}: no {header} cell beside {unfound} of {len(rows)} rows: column lost"
    )


def _mark_shared_values(
    rows: Sequence[dict[str, FieldReading]], form: FormReading, page: int, key: str
) -> None:
    """Flag each value that one cell gave several rows, and send a filled one to review.

    Where the lines between values wore away, one cell holds the values of several rows
    (`明显增强良好有效提高`), and each row beside it, of one 三级 cell or of its own, would
    take all of them, sure of each character.
    """
    by_cell: dict[tuple[float, ...], list[FieldReading]] = defaultdict(list)
    for row in rows:
        value = row.get(key)
        if value is not None and value.bbox is not None and value.evidence.found:
            by_cell[tuple(value.bbox)].append(value)
    for values in by_cell.values():
        if len(values) < 2:
            continue
        for value in values:
            value.evidence.rule_failures.append(f"value cell beside {len(values)} rows")
            if value.value:
                value.evidence.contradicted = True
        if values[0].value:
            form.issues.append(
                f"page {page}: value {values[0].value!r} read from one cell for {len(values)} rows"
            )


def _label_lines(cell: CellText, label: str) -> list[tuple[str, float | None]]:
    """A 三级 cell's text cut before each `label`N that does not start it.

    Each piece comes with its line's height on the page; a cell whose lines have no boxes
    stays whole.
    """
    starts = re.compile(rf"{re.escape(label)}\d{{1,2}}")
    if len(cell.boxes) != len(cell.lines) or not any(
        m.start() > 0 for m in starts.finditer(cell.text)
    ):
        return [(cell.text, None)]
    pieces: list[tuple[str, float | None]] = []
    for line, box in zip(cell.lines, cell.boxes, strict=True):
        cuts = [0, *(m.start() for m in starts.finditer(line.text) if m.start() > 0)]
        for a, b in zip(cuts, [*cuts[1:], len(line.text)], strict=True):
            part = line.text[a:b]
            if pieces and not starts.match(part):  # a name wrapped onto the next line
                pieces[-1] = (pieces[-1][0] + part, pieces[-1][1])
            else:
                pieces.append((part, (box[1] + box[3]) / 2))
    return pieces


def _value_at(values: list[CellText], y: float) -> CellText | None:
    return next((v for v in values if v.cell.box[1] < y < v.cell.box[3]), None)


def _parted(cell: CellText, boundary: float) -> tuple[str, str | None]:
    """A joined name-and-value cell's text left and right of the value column's edge.

    The OCR stage cut its lines where they ran over a column position with paper there;
    without such a cut the value cannot be told from the name, and is None.
    """
    if len(cell.boxes) != len(cell.lines):
        return cell.text, None
    left = [
        t.text for t, b in zip(cell.lines, cell.boxes, strict=True) if (b[0] + b[2]) / 2 < boundary
    ]
    right = [
        t.text for t, b in zip(cell.lines, cell.boxes, strict=True) if (b[0] + b[2]) / 2 >= boundary
    ]
    if not left or not right:
        return cell.text, None
    return "".join(left), "".join(right)


def _inside(cell: CellText, other: CellText) -> bool:
    (x0, y0, x1, y1), (u0, v0, u1, v1) = cell.cell.box, other.cell.box
    return u0 <= x0 and v0 <= y0 and x1 <= u1 and y1 <= v1 and cell.cell.box != other.cell.box


def _beside(cell: CellText, other: CellText) -> bool:
    """Whether `cell` spans the middle height of `other`."""
    mid_y = (other.cell.box[1] + other.cell.box[3]) / 2
    return cell.cell.box[1] < mid_y < cell.cell.box[3]


def _map_joined_block(
    template: Template,
    page: PageRead,
    form: FormReading,
    state: IndicatorState,
    cell: CellText,
    l1_cell: CellText | None,
    values: list[CellText],
) -> None:
    """Rows of a 二级 cell that a worn column line joined with its 三级 lines.

    Its text runs the 二级 name, its note and the 指标N lines together; the name is taken
    out, the rest split at each 指标N label, and the lines paired in order with the value
    cells beside the block. Every field of such a row says how it was read.
    """
    spec = template.indicators
    keys = _Keys.of(spec)
    line_label = spec.line_label or ""
    text = re.sub(spec.note_pattern.rstrip("$"), "", clean(cell.text))
    words = [w for w in template.level2_names if w in text]
    word = max(words, key=len, default="")
    if word:
        text = text.replace(word, "", 1)
    lines = [
        (seq, name.strip(template.stray_marks))
        for seq, name in re.findall(
            rf"{re.escape(line_label)}(\d{{1,2}})(.*?)(?={re.escape(line_label)}\d|$)",
            text,
        )
    ]
    beside = sorted(
        (
            v
            for v in values
            if v is not cell
            and cell.cell.box[1] <= (v.cell.box[1] + v.cell.box[3]) / 2 <= cell.cell.box[3]
        ),
        key=lambda v: v.cell.box[1],
    )
    level2 = reading_of(page, cell)
    level2.value = word
    level2.evidence.vocab_score = 1.0 if word else 0.0
    state.level2 = (word, level2.evidence.vocab_score)
    failure = "二级 cell and 三级 lines read as one cell"
    for index, (seq, name) in enumerate(lines):
        if not _is_name(spec, name):
            continue  # an empty 指标N line, or specks on one, is not a row
        value_reading = reading_of(page, beside[index] if index < len(beside) else None)
        if index >= len(beside):  # no value cell left to pair: show the block to a reviewer
            value_reading.bbox = source_box(page.prepared, cell.cell.box)
        level1 = _vocab_field(page, l1_cell, list(spec.vocabulary), None, state, "level1")
        row = keys.levels(level1, level2.model_copy(deep=True)) | {
            "seq": reading_of(page, cell),
            keys.name: reading_of(page, cell),
            keys.value: value_reading,
        }
        row["seq"].value, row[keys.name].value = seq, name
        if keys.level1 is not None and keys.level2 is not None:
            _level1_from_level2(template, row[keys.level1], row[keys.level2])
        for reading in row.values():
            reading.evidence.rule_failures.append(failure)
        form.indicators.append(row)


def _is_name(spec: IndicatorSpec, name: str) -> bool:
    """Whether a 三级 line's text names an indicator.

    Specks fail the template's name pattern; a whole 指标值 (`1人`) is a value spilled onto
    an empty line.
    """
    if not re.search(spec.name_pattern, name):
        return False
    return not (spec.value_at_end and re.fullmatch(spec.value_at_end, name))


def _drop_header(reading: FieldReading, header: str) -> None:
    """Take a column's printed header off the front of a value its cell was joined with."""
    if reading.value.startswith(header) and len(reading.value) > len(header):
        reading.value = reading.value[len(header) :]
        reading.evidence.rule_failures.append(f"header {header!r} joined to the value's cell")


def _next_seq(form: FormReading, keys: _Keys, level2: str) -> str:
    """The 指标N number that follows the form's last row, when that row is of `level2`."""
    last_level2 = form.indicators[-1].get(keys.level2 or "") if form.indicators else None
    if last_level2 is not None and last_level2.value == level2:
        last = form.indicators[-1]["seq"].value
        return str(int(last) + 1) if last.isdigit() else ""
    return "1"


def _level1_from_level2(template: Template, level1: FieldReading, level2: FieldReading) -> None:
    """Take the 一级 that the vocabulary says owns the row's 二级.

    Where the 一级 cell reads otherwise (a merged or unread cell), the owner is taken and the
    disagreement recorded on the field. A 一级 carried over from rows above, where this row
    has no 一级 cell of its own (a block that starts on a continued page), is no reading to
    disagree with when the 二级 was read surely.
    """
    owner = template.level1_of.get(level2.value)
    if owner is None or owner == level1.value:
        return
    carried_over = level1.evidence.inherited and level2.evidence.vocab_score >= SURE_VOCAB
    if not carried_over:
        level1.evidence.rule_failures.append(f"一级指标 cell read {level1.value or 'nothing'!r}")
    level1.value = owner
    level1.evidence.inherited = True


# Two digits make the number only before its colon: `指标12024年…` is 指标1 with its colon
# worn away before a name that starts with a year.
LINE_RE = re.compile(
    r"^(?P<label>\D{0,4}?)(?P<seq>\d{1,2}(?=\s*[:：;；.,，])|\d)\s*[:：;；.,，]?\s*(?P<rest>.*)$"
)


# A label worn past reading, number and all, still ends in its colon; no name starts so.
GARBLED_LABEL_RE = re.compile(r"^\D{1,3}[:：]\s*(?P<rest>.+)$")


def _split_line(text: str, label: str) -> tuple[str | None, str]:
    """`指标1: 社区工作者工资` → ("1", "社区工作者工资"); filler such as `.....` → (None, "")."""
    stripped = text.strip()
    if not stripped or set(stripped) <= set(".·。…,，-_ "):
        return None, ""
    match = LINE_RE.match(stripped)
    if match and (not match["label"] or fuzz.ratio(match["label"], label) >= 50):
        return match["seq"], match["rest"].strip()
    if stripped.startswith(label):  # the label read, its number lost: `指标提高积极性`
        return None, stripped[len(label) :].lstrip(":：;；.,， ")
    if garbled := GARBLED_LABEL_RE.match(stripped):  # `报和:社区工作者工作完成情况`
        return None, garbled["rest"]
    return None, stripped


def _vocab_field(
    page: PageRead,
    cell: CellText | None,
    words: list[str],
    note_pattern: str | None,
    state: IndicatorState,
    key: Literal["level1", "level2"],
) -> FieldReading:
    """A 一级 or 二级 name snapped to the vocabulary; a blank cut-off cell inherits the last one."""
    text = cell.text if cell is not None else ""
    if note_pattern:
        text = re.sub(note_pattern, "", clean(text))
    if cell is not None and clean(text):
        match = process.extractOne(clean(text), words, scorer=fuzz.ratio)
        reading = reading_of(page, cell)
        reading.raw = cell.text
        if match is None or match[1] < MIN_VOCAB_SCORE:
            reading.value = clean(text)
            reading.evidence.vocab_score = (match[1] if match else 0.0) / 100.0
        else:
            reading.value = match[0]
            reading.evidence.vocab_score = match[1] / 100.0
        setattr(state, key, (reading.value, reading.evidence.vocab_score))
        return reading
    remembered = getattr(state, key)
    if remembered is None:
        return FieldReading(value="", raw="", page=page.number, evidence=Evidence(found=False))
    value, score = remembered
    reading = FieldReading(
        value=value,
        raw="",
        page=page.number,
        bbox=source_box(page.prepared, cell.cell.box) if cell is not None else None,
        evidence=Evidence(vocab_score=score, inherited=True),
    )
    if cell is not None and cell.cut:
        doubt_cut_text(reading)  # the name of this block, not the one above, was cut
    elif (
        cell is not None
        and page.grid is not None
        and cell.cell.box[3] >= page.grid.ys[-1] - TOUCH_PX
    ):
        # A block begun at the page's foot prints its name at the middle of its whole span,
        # which may fall on the next page: the blank cell need not be the block above.
        reading.evidence.contradict("blank block cell at the page's foot")
    return reading
