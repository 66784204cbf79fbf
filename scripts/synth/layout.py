"""Where everything on a printed form goes, in millimetres.

The title, the ruled table with its merged cells, text wrapped inside its cell, and the table
split over pages when it is long.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from synth.content import Sheet

# width_mm(text, font_size_mm): how wide `text` prints in the chosen face.
Measure = Callable[[str, float], float]

A4 = (210.0, 297.0)
CELL_PAD_MM = 1.2  # printed text keeps about this much white from the ruling lines
LINE_GAP = 1.25  # line pitch as a multiple of the font size
NO_LINE_START = frozenset("）)，,。、：:；;%！？》」")
APPROVAL_TITLE = "部门项目支出预算绩效批复表"


@dataclass(frozen=True)
class Style:
    """The look of one printed form, drawn at random once per form."""

    # Widths in mm; the approval form's: A (绩效指标), B (一级), C (二级), D1, D2 (三级), E (指标值)
    columns: tuple[float, ...]
    font_mm: float
    title_mm: float
    row_mm: float
    top_mm: float
    bottom_mm: float
    label_span: bool  # labels such as 项目名称 span columns A and B
    values_centered: bool
    value_indent: str  # printed before 指标N lines, e.g. "" or a space
    seq_colon: str  # "：" or ":" after 指标N
    funds_label_colon: str
    repeat_header: bool
    page_numbers: bool

    @classmethod
    def draw(cls, rng: random.Random, *, tall_rows: bool = False) -> Style:
        """A random but plausible look; `tall_rows` makes the table long enough to overflow."""
        widths = [
            rng.uniform(15, 22),
            rng.uniform(17, 24),
            rng.uniform(26, 34),
            rng.uniform(40, 55),
            rng.uniform(21, 26),
            rng.uniform(30, 42),
        ]
        scale = rng.uniform(168, 186) / sum(widths)
        return cls(
            columns=tuple(w * scale for w in widths),
            font_mm=rng.uniform(3.3, 3.9),
            title_mm=rng.uniform(5.6, 7.2),
            row_mm=rng.uniform(8.0, 10.0) if tall_rows else rng.uniform(5.8, 7.0),
            top_mm=rng.uniform(12, 22),
            bottom_mm=rng.uniform(12, 18),
            label_span=rng.random() < 0.7,
            values_centered=rng.random() < 0.35,
            value_indent=rng.choice(["", "", " "]),
            seq_colon=rng.choice([":", ": ", "：", ":"]),
            funds_label_colon=rng.choice(["：", ":", ""]),
            repeat_header=rng.random() < 0.5,
            page_numbers=rng.random() < 0.3,
        )


@dataclass(frozen=True)
class Cell:
    """One ruled cell of a page, its box in mm and the text lines printed in it."""

    x0: float
    y0: float
    x1: float
    y1: float
    lines: tuple[str, ...] = ()
    align: str = "center"  # or "left"
    role: str = ""  # what the cell holds, e.g. "label:项目名称", "value:project_name", "ind:value"


@dataclass(frozen=True)
class Text:
    """Text printed outside the table: the title, the year line, page numbers."""

    x: float  # centre
    y: float  # top
    text: str
    size_mm: float
    bold: bool = False


@dataclass
class PageLayout:
    """Everything printed on one page of a form."""

    width_mm: float
    height_mm: float
    cells: list[Cell] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


@dataclass
class TableRow:
    """One table row before it is placed: the cells starting in it, by column range and span."""

    cells: list[tuple[int, int, int, str, str, str]]  # (col0, col1, rowspan, text, align, role)
    height: float = 0.0
    breakable_before: bool = True  # a page may end above this row
    is_header: bool = False
    block_start: int | None = None  # index of the first row of this row's 二级指标 block


def wrap(text: str, width_mm: float, size_mm: float, measure: Measure) -> tuple[str, ...]:
    """Break `text` into lines that fit `width_mm`, between any two characters, as CJK does."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for char in paragraph:
            # Closing punctuation never starts a line (kinsoku): it hangs past the edge instead.
            if (
                current
                and char not in NO_LINE_START
                and measure(current + char, size_mm) > width_mm
            ):
                lines.append(current)
                current = char.lstrip()
            else:
                current += char
        lines.append(current)
    return tuple(lines)


def layout_sheet(sheet: Sheet, style: Style, measure: Measure) -> list[PageLayout]:
    """Lay one sheet out on as many A4 pages as its rows need."""
    rows = _table_rows(sheet, style)
    size_rows(rows, style, measure)
    return paginate(APPROVAL_TITLE, sheet.year, rows, style, measure)


def _table_rows(sheet: Sheet, s: Style) -> list[TableRow]:
    label_end = 1 if s.label_span else 0
    value_align = "center" if s.values_centered else "left"
    rows = [
        TableRow(
            [
                (0, label_end, 1, "项目名称", "center", "label:项目名称"),
                (label_end + 1, 5, 1, sheet.project_name, value_align, "value:project_name"),
            ]
        ),
        TableRow(
            [
                (0, label_end, 1, "主管部门及代码", "center", "label:主管部门及代码"),
                (label_end + 1, 3, 1, sheet.department, value_align, "value:department"),
                (4, 4, 1, "实施单位", "center", "label:实施单位"),
                (5, 5, 1, sheet.implementing_unit, value_align, "value:implementing_unit"),
            ]
        ),
        TableRow(
            [
                (0, label_end, 1, "项目属性", "center", "label:项目属性"),
                (
                    label_end + 1,
                    3,
                    1,
                    sheet.project_attribute,
                    value_align,
                    "value:project_attribute",
                ),
                (4, 4, 1, "项目期", "center", "label:项目期"),
                (5, 5, 1, sheet.project_period, value_align, "value:project_period"),
            ]
        ),
    ]
    c = s.funds_label_colon
    funds = [
        ("年度资金总额" + c, sheet.funds_total, "funds_total"),
        ("其中：财政拨款", sheet.funds_fiscal, "funds_fiscal"),
        ("其他资金", sheet.funds_other, "funds_other"),
    ]
    for i, (label, value, key) in enumerate(funds):
        cells = [
            (1, 2, 1, label, "left" if i else "center", f"label:{key}"),
            (3, 5, 1, value, "center", f"value:{key}"),
        ]
        if i == 0:
            cells.insert(0, (0, 0, 3, "项目资金\n（万元）", "center", "label:项目资金"))
        rows.append(TableRow(cells, breakable_before=i == 0))
    rows.append(
        TableRow(
            [
                (0, label_end, 1, sheet.goal_label, "center", "label:年度总体目标"),
                (label_end + 1, 5, 1, sheet.overall_goal, "left", "value:overall_goal"),
            ]
        )
    )

    indicator_rows = sum(len(b.lines) + b.filler for b in sheet.blocks)
    header = TableRow(
        [
            (0, 0, 1 + indicator_rows, "绩效指标", "center", "label:绩效指标"),
            (1, 1, 1, "一级指标", "center", "label:一级指标"),
            (2, 2, 1, "二级指标", "center", "label:二级指标"),
            (3, 4, 1, "三级指标", "center", "label:三级指标"),
            (5, 5, 1, "指标值", "center", "label:指标值"),
        ],
        is_header=True,
    )
    rows.append(header)

    level1_rows: dict[str, int] = {}
    for b in sheet.blocks:
        level1_rows[b.level1] = level1_rows.get(b.level1, 0) + len(b.lines) + b.filler
    seen_level1: set[str] = set()
    for b in sheet.blocks:
        start = len(rows)
        for i, line in enumerate(b.lines):
            cells = [
                (
                    3,
                    4,
                    1,
                    f"{s.value_indent}指标{line.seq}{s.seq_colon}{line.name}".rstrip(),
                    "left",
                    "ind:name",
                ),
                (5, 5, 1, line.value, "center", "ind:value"),
            ]
            if i == 0:
                cells.insert(
                    0,
                    (
                        2,
                        2,
                        len(b.lines) + b.filler,
                        f"{b.level2}\n{b.note}",
                        "center",
                        f"level2:{b.level2}",
                    ),
                )
                if b.level1 not in seen_level1:
                    seen_level1.add(b.level1)
                    cells.insert(0, (1, 1, level1_rows[b.level1], b.level1, "center", "level1"))
            rows.append(TableRow(cells, block_start=start))
        for j in range(b.filler):
            rows.append(
                TableRow(
                    [
                        (3, 4, 1, "....." if b.dots and j == 0 else "", "left", "ind:filler"),
                        (5, 5, 1, "", "center", "ind:filler"),
                    ],
                    block_start=start,
                )
            )
    return rows


def _col_x(style: Style, col: int) -> float:
    return sum(style.columns[:col])


def size_rows(rows: list[TableRow], s: Style, measure: Measure) -> None:
    """Give every row the height its wrapped text needs, and mark where a page may end."""
    line_h = s.font_mm * LINE_GAP
    for row in rows:
        row.height = s.row_mm * (1.15 if row.is_header else 1.0)
    # Single-row cells first: a row grows to hold its wrapped text.
    for row in rows:
        for c0, c1, span, text, _, _ in row.cells:
            if span == 1:
                n = len(wrap(text, _inner_width(s, c0, c1), s.font_mm, measure)) if text else 1
                row.height = max(row.height, n * line_h + 2 * CELL_PAD_MM)
    # Then spanning cells: the last row of the span grows if the span is too short.
    for i, row in enumerate(rows):
        for c0, c1, span, text, _, _ in row.cells:
            if span > 1 and text:
                n = len(wrap(text, _inner_width(s, c0, c1), s.font_mm, measure))
                need = n * line_h + 2 * CELL_PAD_MM
                have = sum(r.height for r in rows[i : i + span])
                if need > have:
                    rows[i + span - 1].height += need - have
    # A page may end inside a 二级指标 block only below its label, which then prints above the cut.
    for i, row in enumerate(rows):
        if row.block_start is not None and row.block_start != i:
            above = sum(r.height for r in rows[row.block_start : i])
            row.breakable_before = above >= _label_need(rows[row.block_start], s, measure)


def _need(text: str, s: Style, c0: int, c1: int, measure: Measure) -> float:
    if not text:
        return 0.0
    return (
        len(wrap(text, _inner_width(s, c0, c1), s.font_mm, measure)) * s.font_mm * LINE_GAP
        + 2 * CELL_PAD_MM
    )


def _label_need(row: TableRow, s: Style, measure: Measure) -> float:
    """Height the tallest spanning label starting in `row` needs."""
    needs = [_need(text, s, c0, c1, measure) for c0, c1, span, text, _, _ in row.cells if span > 1]
    return max(needs, default=0.0)


def _inner_width(s: Style, c0: int, c1: int) -> float:
    return _col_x(s, c1 + 1) - _col_x(s, c0) - 2 * CELL_PAD_MM


def paginate(
    title: str, year: str, rows: list[TableRow], s: Style, measure: Measure
) -> list[PageLayout]:
    """Place sized rows on A4 pages under `title` and its year line, cutting where allowed.

    One row must be the column heads (`is_header`); a continuation page repeats them when the
    style says so.
    """
    width, height = A4
    left = (width - sum(s.columns)) / 2
    # Rows per page: a page ends where the next row would cross the bottom margin.
    pages: list[list[int]] = [[]]
    title_h = s.title_mm * 1.6 + s.font_mm * 2.6
    y = s.top_mm + title_h
    header_index = next(i for i, r in enumerate(rows) if r.is_header)
    for i, row in enumerate(rows):
        if y + row.height > height - s.bottom_mm and pages[-1]:
            # End the page above this row, or above the last row on it that allows a cut.
            cuts = [k for k in pages[-1][1:] if rows[k].breakable_before]
            cut = i if row.breakable_before else max(cuts, default=None)
            if cut is not None:
                moved = [k for k in pages[-1] if k >= cut]
                pages[-1] = [k for k in pages[-1] if k < cut]
                pages.append(moved)
                y = s.top_mm + (rows[header_index].height if s.repeat_header else 0)
                y += sum(rows[k].height for k in moved)
        pages[-1].append(i)
        y += row.height

    pages_of = {i: n for n, members in enumerate(pages) for i in members}
    layouts = []
    for page_no, members in enumerate(pages):
        page = PageLayout(width, height)
        y = s.top_mm
        if page_no == 0:
            page.texts.append(Text(width / 2, y, title, s.title_mm, bold=True))
            page.texts.append(
                Text(width / 2, y + s.title_mm * 1.6, f"（ {year} 年度）", s.font_mm * 1.1)
            )
            y += title_h
        ys: dict[int, float] = {}
        if page_no > 0 and s.repeat_header:
            y += rows[header_index].height
        for i in members:
            ys[i] = y
            y += rows[i].height
        if page_no > 0 and s.repeat_header:
            hy = s.top_mm
            for c0, c1, _, text, align, role in rows[header_index].cells[1:]:
                page.cells.append(
                    _cell(
                        s,
                        left,
                        c0,
                        c1,
                        hy,
                        hy + rows[header_index].height,
                        text,
                        align,
                        role,
                        measure,
                    )
                )
            page.cells.append(
                _cell(
                    s,
                    left,
                    0,
                    0,
                    hy,
                    hy + rows[header_index].height,
                    "",
                    "center",
                    "label:绩效指标",
                    measure,
                )
            )
        for i, row in enumerate(rows):
            for c0, c1, span, text, align, role in row.cells:
                spanned = range(i, i + span)
                here = [r for r in spanned if r in ys]
                if not here:
                    continue
                y0 = ys[here[0]]
                y1 = ys[here[-1]] + rows[here[-1]].height
                # A cell cut by the page end prints its text above the cut where it fits there,
                # else below it.
                first = [r for r in spanned if r in pages_of and pages_of[r] == pages_of[i]]
                fits_first = (
                    sum(rows[r].height for r in first) >= _need(text, s, c0, c1, measure) - 1e-6
                )
                show = fits_first == (here[0] == i)
                page.cells.append(
                    _cell(s, left, c0, c1, y0, y1, text if show else "", align, role, measure)
                )
        if s.page_numbers:
            page.texts.append(
                Text(
                    width / 2,
                    height - s.bottom_mm + 3,
                    f"第 {page_no + 1} 页，共 {len(pages)} 页",
                    s.font_mm * 0.85,
                )
            )
        layouts.append(page)
    return layouts


def _cell(
    s: Style,
    left: float,
    c0: int,
    c1: int,
    y0: float,
    y1: float,
    text: str,
    align: str,
    role: str,
    measure: Measure,
) -> Cell:
    x0 = left + _col_x(s, c0)
    x1 = left + _col_x(s, c1 + 1)
    lines = wrap(text, x1 - x0 - 2 * CELL_PAD_MM, s.font_mm, measure) if text else ()
    return Cell(x0, y0, x1, y1, lines, align, role)


def shift(page: PageLayout, dx: float, dy: float) -> PageLayout:
    """The same page printed `dx`, `dy` mm off: paper never sits exactly square in a printer."""
    return PageLayout(
        page.width_mm,
        page.height_mm,
        [replace(c, x0=c.x0 + dx, x1=c.x1 + dx, y0=c.y0 + dy, y1=c.y1 + dy) for c in page.cells],
        [replace(t, x=t.x + dx, y=t.y + dy) for t in page.texts],
    )
