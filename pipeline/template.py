"""Stage 5, template: a form type's anchors and fields, and the mapping of read cells onto them.

The form type is data (`pipeline/templates/*.yaml`), parsed into strict models that fail at
load time when wrong. Labels are found by fuzzy match (rapidfuzz), so an OCR slip in a label
(`项目名林`) still finds it; a value is the cell right of its label; indicator rows are the
cells of the 三级指标 column, with the 一级 and 二级 cells that span them and the 指标值 beside.
Where worn lines joined cells, the mapping takes them apart as far as their text allows and
marks every field so read; a line without a name is no row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from pipeline.block_order import OrderCosts, decode_blocks, row_cues
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.prepare import PreparedPage
from pipeline.readings import SURE_VOCAB, Evidence, FieldReading, FormReading

TEMPLATE_DIR = Path(__file__).parent / "templates"
MIN_ANCHOR_SCORE = 75.0  # rapidfuzz ratio (0–100) for a cell to count as a label
MIN_VOCAB_SCORE = 60.0
# A cell this like a label is one, worn or not: a value's text does not run on into it.
LABEL_LIKE = 50.0
ORDER_COSTS = OrderCosts()


class FieldSpec(BaseModel):
    """A scalar field: the labels that may stand left of its value, and its kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    anchors: list[str] = Field(min_length=1)
    kind: Literal["text", "amount"] = "text"
    unit: str | None = None
    required: bool = Field(default=False, description="Every form fills it: empty is a misread.")
    pattern: str | None = Field(
        default=None,
        description="What a whole value looks like, after normalising (a regular expression); "
        "a value read otherwise is flagged, never changed.",
    )


class YearSpec(BaseModel):
    """Where the year is printed and how to pick it out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    where: Literal["above_table"] = "above_table"
    also_in: list[str] = Field(
        default_factory=list,
        description="Fields that often start with the year (`2024年…`): where the line above "
        "the table did not read (a seal pressed over it), the year is taken from the first "
        "of them, and the field stays unfound, for review.",
    )


class IndicatorSpec(BaseModel):
    """The indicator table: its column headers, line label, note pattern and vocabularies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[Literal["level1", "level2", "name", "value"], str]
    line_label: str
    note_pattern: str
    vocabulary: dict[str, list[str]]
    name_pattern: str = Field(
        default=".",
        description="What every 三级 name holds somewhere; a line without it is specks, no row.",
    )
    value_at_end: str = Field(
        default="",
        description="A numeric 指标值 at the end of a text. It is taken out of a 三级 name "
        "beside an empty value cell (read into the name's cell); a name that is one whole is "
        "no row; a name that ends in one, or a value with a stray character before one, is "
        "flagged.",
    )
    blocks_in_order: bool = Field(
        default=False,
        description="The form prints its 二级 blocks in the vocabulary's order, each numbering "
        "its lines from 1; a row's block is then read from the order of the rows too.",
    )


class SumRule(BaseModel):
    """`total` equals the sum of `parts` where they are printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: str
    parts: list[str]


class CostRule(BaseModel):
    """A `level2` indicator value in `unit` is not above field `total`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level2: str
    unit: str
    total: str


class Rules(BaseModel):
    """Cross-field checks of the form type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sum: SumRule | None = None
    cost_within_total: CostRule | None = None
    number_needs_unit: bool = Field(
        default=False, description="A 指标值 that is a number always carries its unit."
    )


class Template(BaseModel):
    """One form type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str
    version: str
    title: str
    first_page_anchor: str
    stray_marks: str = Field(
        default="",
        description="Characters that, at the start or end of a value, are a reader's tick or "
        "dust rather than print; the checker drops them and says so.",
    )
    misread_signs: dict[str, str] = Field(
        default_factory=dict,
        description="Plain signs a worn copy reads where the form prints another (`>` for "
        "`≥`); the checker puts the printed one back and records it.",
    )
    year: YearSpec
    fields: list[FieldSpec]
    indicators: IndicatorSpec
    rules: Rules = Rules()

    @property
    def labels(self) -> list[str]:
        """Every label the form prints: the fields' anchors and the indicator column headers."""
        return [
            *(a for spec in self.fields for a in spec.anchors),
            *self.indicators.columns.values(),
        ]

    @property
    def level1_of(self) -> dict[str, str]:
        """二级 name → its 一级 name."""
        return {l2: l1 for l1, names in self.indicators.vocabulary.items() for l2 in names}


@cache
def load_template(form_type: str) -> Template:
    """Load and check a template by form type; a broken template fails here, loudly."""
    path = TEMPLATE_DIR / f"{form_type}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no template for form type {form_type!r}; known: {known}")
    template = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    re.compile(template.year.pattern)
    re.compile(template.indicators.note_pattern)
    re.compile(template.indicators.name_pattern)
    re.compile(template.indicators.value_at_end)
    for spec in template.fields:
        re.compile(spec.pattern or "")
    return template


def _clean(text: str) -> str:
    return re.sub(r"[\s:：]", "", text)


def anchor_score(text: str, anchor: str) -> float:
    """How well a cell's text matches a label, 0–100; long text never matches a short label."""
    cleaned = _clean(text)
    if not cleaned or len(cleaned) > len(anchor) + 4:
        return 0.0
    return float(fuzz.ratio(cleaned, _clean(anchor)))


def _best_anchor(
    cells: Sequence[CellText], anchors: Sequence[str]
) -> tuple[CellText | None, float]:
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
    return FieldReading(
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
            seal_disagrees=cell.plain is not None and _clean(cell.plain) != _clean(cell.text),
            photo=page.prepared.photo,
        ),
    )


def is_first_page(template: Template, page: PageRead) -> bool:
    """Whether the page starts a form: it shows the form's title or its first-page anchor.

    The title above the table is the surer sign: a worn grid can merge the anchor's cell
    with its neighbours, and a form whose first page is missed shifts every later form of
    its file onto the wrong record.
    """
    if any(anchor_score(line, template.title) >= MIN_ANCHOR_SCORE for line in page.above):
        return True
    return _best_anchor(page.cells, [template.first_page_anchor])[0] is not None


def map_scalar_fields(template: Template, page: PageRead, form: FormReading) -> None:
    """Fill the form's scalar fields from the first page of the form."""
    labels = [_clean(a) for a in template.labels]
    for spec in template.fields:
        label, score = _best_anchor(page.cells, spec.anchors)
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
    cleaned = _clean(text)
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
        text = _clean(cell.text)
        if any(text.endswith(_clean(a)) and len(text) > len(_clean(a)) for a in anchors):
            return cell
    return None


def _after_label(text: str, anchors: Sequence[str]) -> str:
    """What follows the label at the start of a cell's text; empty where none starts it."""
    cleaned = _clean(text)
    for anchor in sorted(anchors, key=len, reverse=True):
        if cleaned.startswith(_clean(anchor)):
            return cleaned[len(_clean(anchor)) :]
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
        match = pattern.search(_clean(line).replace("（", "").replace("(", ""))
        if match:
            box = page.above_boxes[index] if index < len(page.above_boxes) else None
            return FieldReading(
                value=match.group(1),
                raw=line,
                page=page.number,
                bbox=source_box(page.prepared, box) if box is not None else None,
            )
    return FieldReading(value="", raw="", page=page.number, evidence=Evidence(found=False))


@dataclass
class IndicatorState:
    """What carries from one page of a form to the next: column places and open spans."""

    columns: dict[str, tuple[float, float]] | None = None  # key → x range as share of table width
    level1: tuple[str, float] | None = None
    level2: tuple[str, float] | None = None


def map_indicators(
    template: Template, page: PageRead, form: FormReading, state: IndicatorState
) -> None:
    """Append the page's indicator rows to the form."""
    if page.grid is None:
        return
    x_left, y_top, x_right, _ = page.grid.frame
    width = max(1, x_right - x_left)
    spec = template.indicators
    header_bottom = y_top
    headers: dict[str, str] = {str(k): v for k, v in spec.columns.items()}
    found = _column_headers(_split_joined_headers(page.cells, headers, page.grid.xs), headers)
    if "name" in found or len(found) >= 3:
        state.columns = _column_ranges(found, list(headers), x_left, width)
        # A worn header reads as no label (or runs into the first value below it): its
        # column lies between its neighbours', or after the last.
        if guessed := [headers[k] for k in state.columns if k not in found]:
            form.issues.append(
                f"page {page.number}: {', '.join(guessed)} taken as the space beside the "
                "columns whose headers were read"
            )
        header_bottom = max(c.cell.box[3] for c in found.values())
    if state.columns is None or "name" not in state.columns:
        form.issues.append(f"page {page.number}: indicator columns not found")
        return

    columns = state.columns
    first_row = len(form.indicators)

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

    values = column("value")
    level2_words = _level2_words(template)
    level1_cells = column("level1")
    level2_cells = column("level2")
    names = column("name")
    # A cell inside another was read twice: its text is part of the larger cell's.
    names = [c for c in names if not any(d is not c and _inside(c, d) for d in names)]
    for cell in sorted(names, key=lambda c: c.cell.box[1]):
        if any(c is cell for c in level2_cells):
            l1_cell = next((c for c in level1_cells if _beside(c, cell)), None)
            _map_joined_block(template, page, form, state, cell, l1_cell, values)
            continue
        value = next((v for v in values if _beside(v, cell)), None)
        # A worn line under a 三级 line joins it with the next one's cell: each 指标N label
        # starts a row, paired with the value cell at its own height.
        pieces = _label_lines(cell, spec.line_label) if value is not cell else [(cell.text, None)]
        shared = Counter(
            id(_value_at(values, y)) for _, y in pieces if y is not None and len(pieces) > 1
        )
        for piece, line_y in pieces:
            if line_y is not None and len(pieces) > 1:
                value = _value_at(values, line_y)
            text, value_text = piece, None
            if value is cell:  # the line between name and value is lost: no value cell
                text, value_text = _parted(cell, x_left + columns["value"][0] * width)
            seq, name = _split_line(text, spec.line_label)
            if seq is None and not name.strip(template.stray_marks):
                continue
            l2_cell = next((c for c in level2_cells if _beside(c, cell)), None)
            l1_cell = next((c for c in level1_cells if _beside(c, cell)), None)
            l2 = _vocab_field(page, l2_cell, level2_words, spec.note_pattern, state, "level2")
            l1 = _vocab_field(page, l1_cell, list(spec.vocabulary), None, state, "level1")
            _level1_from_level2(template, l1, l2)
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
            _drop_header(value_reading, spec.columns["value"])
            if not value_reading.value and spec.value_at_end:
                # The line between 三级 and 指标值 is worn and the value read into the name:
                # `网格员满意度≥95%` beside an empty value cell.
                joined = re.search(spec.value_at_end, name)
                if joined is not None and joined.start() > 0:
                    name, value_reading.value = name[: joined.start()], joined.group(0)
                    value_reading.evidence.blank = False
                    value_reading.evidence.found = True
                    for reading in (name_reading, value_reading):
                        reading.evidence.rule_failures.append("name and value read as one cell")
                    name_reading.value = name
            if name in spec.columns.values():
                continue  # a header cell read again under the header row
            if value is not None and shared[id(value)] > 1:
                value_reading.evidence.rule_failures.append(
                    f"value cell beside {shared[id(value)]} {spec.line_label}N lines"
                )
            if not _is_name(spec, name):
                # A filled row always names its indicator (the spec drops lines with neither name
                # nor value, and no form has a value without a name): a line whose name is no
                # name is specks, and what its value cell holds a stain or a neighbour's ink.
                if name or value_reading.value:
                    form.issues.append(
                        f"page {page.number}: line {piece!r} with value "
                        f"{value_reading.value!r} taken for an empty {spec.line_label}N line"
                    )
                continue
            if seq is None:
                # Every line prints its label; here the number, or the whole label, was not
                # read. The row's place in its 二级 block says which it is: a guess, so it
                # stays marked as failed.
                seq_reading.evidence.rule_failures.append(f"no {spec.line_label}N label")
                seq_reading.value = _next_seq(form, l2.value)
            form.indicators.append(
                {
                    "level1": l1,
                    "level2": l2,
                    "seq": seq_reading,
                    "name": name_reading,
                    "value": value_reading,
                }
            )
    _mark_lost_values(form.indicators[first_row:], form, page.number, spec.columns["value"])


def _mark_lost_values(
    rows: Sequence[dict[str, FieldReading]], form: FormReading, page: int, header: str
) -> None:
    """Where most rows of a page found no value cell, the column itself was lost.

    A table printed without its outer line on the value column's side ends at the 三级
    column: every value then comes out blank, and a blank is a common, trusted 指标值. None
    of them has a cell behind it, found or blank, so the whole column goes to review.
    """
    unfound = sum(not row["value"].evidence.found for row in rows)
    if not rows or 2 * unfound <= len(rows):
        return
    for row in rows:
        row["value"].evidence.column_lost = True
    form.issues.append(
        f"page {page}: no {header} cell beside {unfound} of {len(rows)} rows: column lost"
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


def _split_joined_headers(
    cells: Sequence[CellText], columns: Mapping[str, str], xs: Sequence[int]
) -> list[CellText]:
    """`cells`, with a header cell joined with the next one taken as two.

    A worn line between two headers gives one cell reading both (`三级指标指标值`); it is
    parted at the column line nearest where their texts meet.
    """
    labels = list(columns.values())
    pairs = {_clean(a + b): (a, b) for a, b in pairwise(labels)}
    out = []
    for cell in cells:
        pair = pairs.get(_clean(cell.text))
        x0, y0, x1, y1 = cell.cell.box
        inside = [x for x in xs if x0 < x < x1]
        if pair is None or not inside:
            out.append(cell)
            continue
        left, right = pair
        meet = x0 + (x1 - x0) * len(left) / (len(left) + len(right))
        cut = min(inside, key=lambda x: abs(x - meet))
        for text, box in ((left, (x0, y0, cut, y1)), (right, (cut, y0, x1, y1))):
            out.append(replace(cell, text=text, cell=replace(cell.cell, box=box)))
    return out


def _column_headers(cells: Sequence[CellText], columns: Mapping[str, str]) -> dict[str, CellText]:
    """The header cell of each indicator column, one cell per column, in the columns' order.

    The headers differ by a character (一级指标, 三级指标): a worn header can read closer to its
    neighbour's label than to its own. The surest matches are taken first, and a header out
    of the left-to-right order of `columns` is dropped.
    """
    scored = sorted(
        (
            (anchor_score(cell.text, anchor), index, key, cell)
            for key, anchor in columns.items()
            for index, cell in enumerate(cells)
        ),
        key=lambda item: (-item[0], item[1]),
    )
    found: dict[str, CellText] = {}
    for score, _, key, cell in scored:
        if score < MIN_ANCHOR_SCORE:
            break
        if key not in found and all(c is not cell for c in found.values()):
            found[key] = cell
    ordered: dict[str, CellText] = {}
    for key in columns:
        header = found.get(key)
        if header is not None and all(
            c.cell.box[2] <= header.cell.box[0] + 2 for c in ordered.values()
        ):
            ordered[key] = header
    return ordered


def _column_ranges(
    found: Mapping[str, CellText], keys: Sequence[str], x_left: int, width: int
) -> dict[str, tuple[float, float]]:
    """Each column's x range, as shares of the table's width.

    A column whose header was not read is the space between its neighbours; the first and
    last columns reach the table's edges.
    """
    ranges = {
        k: ((c.cell.box[0] - x_left) / width, (c.cell.box[2] - x_left) / width)
        for k, c in found.items()
    }
    for i, key in enumerate(keys):
        if key in ranges:
            continue
        left = 0.0 if i == 0 else ranges.get(keys[i - 1], (None, None))[1]
        right = 1.0 if i == len(keys) - 1 else ranges.get(keys[i + 1], (None, None))[0]
        if left is not None and right is not None and right > left:
            ranges[key] = (left, right)
    return ranges


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
    text = re.sub(spec.note_pattern.rstrip("$"), "", _clean(cell.text))
    words = [w for w in _level2_words(template) if w in text]
    word = max(words, key=len, default="")
    if word:
        text = text.replace(word, "", 1)
    lines = [
        (seq, name.strip(template.stray_marks))
        for seq, name in re.findall(
            rf"{re.escape(spec.line_label)}(\d{{1,2}})(.*?)(?={re.escape(spec.line_label)}\d|$)",
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
        row = {
            "level1": level1,
            "level2": level2.model_copy(deep=True),
            "seq": reading_of(page, cell),
            "name": reading_of(page, cell),
            "value": value_reading,
        }
        row["seq"].value, row["name"].value = seq, name
        _level1_from_level2(template, row["level1"], row["level2"])
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


def _next_seq(form: FormReading, level2: str) -> str:
    """The 指标N number that follows the form's last row, when that row is of `level2`."""
    if form.indicators and form.indicators[-1]["level2"].value == level2:
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


def _level2_words(template: Template) -> list[str]:
    return list(template.level1_of)  # the 二级 names, in the vocabulary's order


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
        text = re.sub(note_pattern, "", _clean(text))
    if cell is not None and _clean(text):
        match = process.extractOne(_clean(text), words, scorer=fuzz.ratio)
        reading = reading_of(page, cell)
        reading.raw = cell.text
        if match is None or match[1] < MIN_VOCAB_SCORE:
            reading.value = _clean(text)
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
    return FieldReading(
        value=value,
        raw="",
        page=page.number,
        bbox=source_box(page.prepared, cell.cell.box) if cell is not None else None,
        evidence=Evidence(vocab_score=score, inherited=True),
    )


def read_forms(template: Template, file: str, pages: Sequence[PageRead]) -> list[FormReading]:
    """Group a file's pages into forms and map each form's fields."""
    forms: list[FormReading] = []
    state = IndicatorState()
    for page in pages:
        first = is_first_page(template, page)
        if first or not forms:
            forms.append(FormReading(file=file, form_type=template.form_type))
            state = IndicatorState()
            if first:
                map_scalar_fields(template, page, forms[-1])
            else:
                # Its first page was not recognised: every field is still reported, empty and
                # unfound, so that it goes to review rather than vanish from the record.
                forms[-1].issues.append(f"page {page.number}: no first page before it")
                forms[-1].fields = {
                    key: FieldReading(value="", raw="", evidence=Evidence(found=False))
                    for key in ["year", *(spec.key for spec in template.fields)]
                }
        form = forms[-1]
        form.pages.append(page.number)
        if page.grid is not None and page.grid.open_sides:
            form.issues.append(
                f"page {page.number}: table printed without its "
                f"{' and '.join(page.grid.open_sides)} frame line, taken where the lines end"
            )
        map_indicators(template, page, form, state)
    for form in forms:
        place_blocks(template, form)
    return forms


def place_blocks(template: Template, form: FormReading, costs: OrderCosts = ORDER_COSTS) -> None:
    """Give each indicator row the 二级 block the order of the rows and its cell agree on.

    A row whose block changes keeps what its cell read in `raw`, is marked `placed_by_order`,
    and takes the new block's 一级; the form's issues say which rows moved.
    """
    spec = template.indicators
    if not spec.blocks_in_order or not form.indicators:
        return
    words = _level2_words(template)
    rows = [(row["level2"], row["seq"].value) for row in form.indicators]
    blocks = decode_blocks(row_cues(rows, words, spec.note_pattern), len(words), costs)
    for row, block in zip(form.indicators, blocks, strict=True):
        level2, level1 = row["level2"], row["level1"]
        if level2.value == words[block]:
            continue
        form.issues.append(
            f"page {level2.page}: {spec.line_label}{row['seq'].value} {row['name'].value!r} "
            f"placed in {words[block]} by the order of the rows (its cell read "
            f"{level2.value or 'nothing'!r})"
        )
        level2.value = words[block]
        level2.evidence.placed_by_order = True
        owner = template.level1_of[words[block]]
        if level1.value != owner:
            level1.value = owner
            level1.evidence.placed_by_order = True
