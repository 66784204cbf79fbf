"""The form typed into a worksheet as a clerk would: merged cells, wrapped text, ruled borders.

One worksheet per form, set up to print on A4 portrait, fitted to the page width. Every row
height is set here (LibreOffice does not grow a merged wrapped cell to fit its text), and the
page breaks are set here too, between 二级指标 blocks, so that no merged cell straddles a page:
the 一级指标 and 绩效指标 cells are split at a break and printed again on the next page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from synth.content import Block, Sheet

from sheetsynth.look import Look
from sheetsynth.metrics import POINTS_PER_WIDTH_UNIT, height_needed_pt

# The approval form's columns: A label / 绩效指标, B 一级, C 二级, D-E 三级, F 指标值; a
# worksheet has as many columns as its look has widths.
APPROVAL_TITLE = "部门项目支出预算绩效批复表"
# Share of the printable height the page plan fills: the scale LibreOffice fits the width
# with may differ a little from ours, and a row that does not fit moves on by itself.
PAGE_FILL = 0.95
FOOTER_PT = 28.0  # room a footer may take from the bottom margin


@dataclass
class Cell:
    """A cell to type: its columns (0-based, inclusive), text, kind, and rows merged down."""

    col0: int
    col1: int
    text: str
    kind: str  # label, value, amount, goal, head, level1, level2, line, lvalue, filler, frame
    rows: int = 1


@dataclass
class Row:
    """The cells starting in one worksheet row, and the row's height in points."""

    cells: list[Cell]
    height: float


@dataclass
class RowBlock:
    """The rows of one 二级指标; its `level1` cell is typed when the page is known."""

    level1: str  # as printed, which the rows of one 一级指标 share
    rows: list[Row]

    @property
    def height(self) -> float:
        """The block's height in points."""
        return sum(r.height for r in self.rows)


@dataclass
class FormPrint:
    """What printing one worksheet gives: its page count, as planned here."""

    title: str
    pages: int
    rows: int
    breaks: list[int] = field(default_factory=list)


def new_workbook() -> Workbook:
    """An empty workbook (its first, default sheet removed)."""
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def add_form(wb: Workbook, sheet: Sheet, look: Look, title: str) -> FormPrint:
    """Type `sheet` into a new worksheet called `title`; returns the planned pages."""
    ws = wb.create_sheet(title)
    for i, width in enumerate(look.widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    top = _top_rows(sheet, look)
    header = _header_row(look)
    blocks = [_block(b, look) for b in sheet.blocks]
    pages = paginate(top, header, blocks, look)

    printer = Printer(ws, look)
    printer.title(sheet.year, APPROVAL_TITLE)
    table_start = printer.row
    breaks = []
    for number, (page_top, page_blocks) in enumerate(pages):
        if number:
            breaks.append(printer.row - 1)
        for row in page_top:
            printer.emit(row)
        printer.indicators(page_blocks, header if number == 0 or look.repeat_header else None)
    printer.frame(table_start, printer.row - 1)
    page_setup(ws, look, printer.row - 1, breaks)
    return FormPrint(title=title, pages=len(pages), rows=printer.row - 1, breaks=breaks)


def save(wb: Workbook, path: Path) -> None:
    """Write the workbook as .xlsx."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# ---- content as rows ---------------------------------------------------------------------------


def _top_rows(sheet: Sheet, look: Look) -> list[Row]:
    end = 1 if look.label_span else 0
    rows = [
        [Cell(0, end, "项目名称", "label"), Cell(end + 1, 5, sheet.project_name, "value")],
        [
            Cell(0, end, "主管部门及代码", "label"),
            Cell(end + 1, 3, sheet.department, "value"),
            Cell(4, 4, "实施单位", "label"),
            Cell(5, 5, sheet.implementing_unit, "value"),
        ],
        [
            Cell(0, end, "项目属性", "label"),
            Cell(end + 1, 3, sheet.project_attribute, "value"),
            Cell(4, 4, "项目期", "label"),
            Cell(5, 5, sheet.project_period, "value"),
        ],
        [
            Cell(0, 0, look.funds_label, "label", rows=3),
            Cell(1, 2, "年度资金总额" + look.funds_colon, "label"),
            Cell(3, 5, sheet.funds_total, "amount"),
        ],
        [Cell(1, 2, "其中：财政拨款", "label"), Cell(3, 5, sheet.funds_fiscal, "amount")],
        [Cell(1, 2, "其他资金", "label"), Cell(3, 5, sheet.funds_other, "amount")],
        [Cell(0, end, sheet.goal_label, "label"), Cell(end + 1, 5, sheet.overall_goal, "goal")],
    ]
    sized = [Row(cells, look.top_row_pt) for cells in rows]
    fit_heights(sized, look)
    return sized


def _header_row(look: Look) -> Row:
    cells = [
        Cell(1, 1, "一级指标", "head"),
        Cell(2, 2, "二级指标", "head"),
        Cell(3, 4, "三级指标", "head"),
        Cell(5, 5, "指标值", "head"),
    ]
    row = Row(cells, look.top_row_pt)
    fit_heights([row], look)
    return row


def _block(block: Block, look: Look) -> RowBlock:
    note = ("\n" if look.note_break else "") + block.note
    rows = []
    for line in block.lines:
        cells = [
            Cell(3, 4, f"指标{line.seq}{look.seq_colon}{line.name}", "line"),
            Cell(5, 5, line.value, "lvalue"),
        ]
        rows.append(Row(cells, look.row_pt))
    for i in range(block.filler):
        text = "....." if block.dots and i == 0 else ""
        rows.append(Row([Cell(3, 4, text, "filler"), Cell(5, 5, "", "lvalue")], look.row_pt))
    rows[0].cells.insert(0, Cell(2, 2, block.level2 + note, "level2", rows=len(rows)))
    fit_heights(rows, look)
    # The 一级指标 cell may end up holding this block alone on a page: leave it room.
    need = need_pt(Cell(1, 1, block.level1, "level1"), look)
    if need > sum(r.height for r in rows):
        rows[-1].height += need - sum(r.height for r in rows)
    return RowBlock(block.level1, rows)


def need_pt(cell: Cell, look: Look) -> float:
    """Row height `cell` needs to show all its text."""
    width = sum(look.widths[cell.col0 : cell.col1 + 1]) * POINTS_PER_WIDTH_UNIT
    bold = look.label_bold and cell.kind in ("label", "head")
    return height_needed_pt(cell.text, width, look.body_face, look.body_pt, bold)


def fit_heights(rows: list[Row], look: Look) -> None:
    """Raise row heights until every cell shows all its text: single rows, then spans."""
    for row in rows:
        for cell in row.cells:
            if cell.rows == 1:
                row.height = max(row.height, need_pt(cell, look))
    for i, row in enumerate(rows):
        for cell in row.cells:
            if cell.rows > 1:
                spanned = rows[i : i + cell.rows]
                short = need_pt(cell, look) - sum(r.height for r in spanned)
                if short > 0:
                    spanned[-1].height += short
    for row in rows:
        row.height = round(row.height + 0.05, 1)


def paginate(
    top: list[Row], header: Row, blocks: list[RowBlock], look: Look, tail: float = 0.0
) -> list[tuple[list[Row], list[RowBlock]]]:
    """Pages as (rows above the indicator table, blocks), breaking only between blocks.

    `tail` is the height of rows printed below the last block, which stay on its page.
    """
    table_pt = sum(look.widths) * POINTS_PER_WIDTH_UNIT
    scale = min(1.0, look.page_width_pt / table_pt)
    room = look.page_height_pt * PAGE_FILL / scale - (FOOTER_PT if look.footer else 0)
    title_pt = _title_heights(look)
    used = sum(title_pt) + sum(r.height for r in top) + header.height
    pages: list[tuple[list[Row], list[RowBlock]]] = [(top, [])]
    for block in blocks:
        below = tail if block is blocks[-1] else 0.0
        if pages[-1][1] and used + block.height + below > room:
            pages.append(([], []))
            used = header.height if look.repeat_header else 0.0
        pages[-1][1].append(block)
        used += block.height
    return pages


def _title_heights(look: Look) -> list[float]:
    heights = [round(look.title_pt * 2.0, 1), round(look.body_pt * 2.2, 1)]
    if look.gap_after_year:
        heights.append(round(look.body_pt * 0.9, 1))
    return heights


# ---- writing cells -------------------------------------------------------------------------------


class Printer:
    """Writes rows into the worksheet from the top, keeping track of the current row."""

    def __init__(self, ws: Worksheet, look: Look) -> None:
        self.ws = ws
        self.look = look
        self.columns = len(look.widths)
        self.row = 1

    def title(self, year: str, text: str) -> None:
        """The form's title and its year line above the table."""
        look = self.look
        texts = [
            (text, "title"),
            (look.year_line.format(year=year), "year"),
        ]
        for height, (line, kind) in zip(_title_heights(look), [*texts, ("", "gap")], strict=False):
            self.ws.row_dimensions[self.row].height = height
            if line:
                self._put(Cell(0, self.columns - 1, line, kind), self.row)
            self.row += 1

    def emit(self, row: Row) -> None:
        """Write one row at the current row and move below it."""
        self.ws.row_dimensions[self.row].height = row.height
        for cell in row.cells:
            self._put(cell, self.row)
        self.row += 1

    def indicators(self, blocks: list[RowBlock], header: Row | None) -> None:
        """One page's share of the 绩效指标 table, its 一级 and 绩效指标 cells split here."""
        first = self.row
        if header is not None:
            self.emit(header)
        level_start, level = self.row, ""
        for block in blocks:
            if block.level1 != level:
                if level:
                    self._put(Cell(1, 1, level, "level1", rows=self.row - level_start), level_start)
                level_start, level = self.row, block.level1
            for row in block.rows:
                self.emit(row)
        if level:
            self._put(Cell(1, 1, level, "level1", rows=self.row - level_start), level_start)
        if self.row > first:
            self._put(Cell(0, 0, "绩效指标", "label", rows=self.row - first), first)

    def frame(self, first: int, last: int) -> None:
        """Rule every cell of the table; the frame in its own style, one side maybe left out."""
        look = self.look
        inner = Side(style=look.inner)
        outer = Side(style=look.outer)
        for r in range(first, last + 1):
            for c in range(1, self.columns + 1):
                left = inner if c > 1 else (Side() if look.open_side == "left" else outer)
                right = (
                    inner if c < self.columns else (Side() if look.open_side == "right" else outer)
                )
                top = outer if r == first else inner
                bottom = outer if r == last else inner
                self.ws.cell(r, c).border = Border(left=left, right=right, top=top, bottom=bottom)

    def _put(self, cell: Cell, row: int) -> None:
        look = self.look
        ws = self.ws
        target = ws.cell(row, cell.col0 + 1)
        target.value = cell.text or None
        if cell.col1 > cell.col0 or cell.rows > 1:
            ws.merge_cells(
                start_row=row,
                start_column=cell.col0 + 1,
                end_row=row + cell.rows - 1,
                end_column=cell.col1 + 1,
            )
        if cell.kind == "title":
            target.font = Font(name=look.title_face, size=look.title_pt, bold=look.title_bold)
        else:
            bold = look.label_bold and cell.kind in ("label", "head")
            target.font = Font(name=look.body_face, size=look.body_pt, bold=bold)
        horizontal = {
            "value": look.value_h,
            "goal": "left",
            "amount": look.amount_h,
            "line": look.line_h,
            "filler": look.line_h,
            "lvalue": look.value_h,
        }.get(cell.kind, "center")
        if cell.kind == "label" and cell.text.startswith("其"):
            horizontal = "left"
        vertical = "top" if cell.kind == "goal" and look.value_v == "top" else "center"
        if cell.kind in ("value", "line", "lvalue") and look.value_v == "top":
            vertical = "top"
        target.alignment = Alignment(horizontal=horizontal, vertical=vertical, wrap_text=True)


def page_setup(ws: Worksheet, look: Look, last_row: int, breaks: list[int]) -> None:
    """A4 portrait, fitted to the width, the margins and footer of `look`, breaks at `breaks`."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    left, right, top, bottom = look.margins_in
    ws.page_margins.left = left
    ws.page_margins.right = right
    ws.page_margins.top = top
    ws.page_margins.bottom = bottom
    ws.page_margins.footer = min(0.3, bottom / 2)
    ws.print_options.horizontalCentered = look.centered
    ws.print_area = f"A1:{get_column_letter(len(look.widths))}{last_row}"
    for row in breaks:
        ws.row_breaks.append(Break(id=row))
    if look.footer:
        ws.oddFooter.center.text = look.footer
        ws.oddFooter.center.size = 9
