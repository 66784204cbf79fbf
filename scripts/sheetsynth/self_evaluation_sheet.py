"""A 项目支出绩效自评表 typed into a worksheet: nine columns, as the national template has them.

A holds the section labels (项目资金, 年度总体目标, 绩效指标); the funds block uses B-C for its
row labels and D-I for 年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分; the indicator
table uses B 一级, C 二级, D 三级, E 年度指标值, F 实际完成值, G 分值, H 得分, I 偏差原因分析及
改进措施, and the 总分 row closes it. Rows are sized, paged and typed by `sheetsynth.workbook`,
so a long table breaks between 二级指标 blocks and the 总分 row stays with the last one.
"""

from __future__ import annotations

import random
from dataclasses import replace

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from synth.self_evaluation import ScoredBlock, SelfEvaluation

from sheetsynth.look import Look
from sheetsynth.workbook import (
    Cell,
    FormPrint,
    Printer,
    Row,
    RowBlock,
    fit_heights,
    need_pt,
    page_setup,
    paginate,
)

# Width ranges of columns A-I in Excel width units: about as wide in all as the approval
# form's six, so LibreOffice fits both to the page at a similar scale.
WIDTHS = ((7, 9), (8, 10), (8.5, 11), (15, 20), (8, 10), (8, 10), (5, 6), (6, 7.5), (13, 17))
LAST = len(WIDTHS) - 1


def evaluation_look(look: Look, rng: random.Random) -> Look:
    """The clerk's look for a self-evaluation: the same habits, nine column widths."""
    return replace(look, widths=tuple(round(rng.uniform(*w), 2) for w in WIDTHS))


def add_self_evaluation(wb: Workbook, form: SelfEvaluation, look: Look, title: str) -> FormPrint:
    """Type `form` into a new worksheet called `title`; `look` has nine widths."""
    if len(look.widths) != len(WIDTHS):
        raise ValueError(f"a self-evaluation needs {len(WIDTHS)} column widths: evaluation_look()")
    ws = wb.create_sheet(title)
    for i, width in enumerate(look.widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    top = _top_rows(form, look)
    header = _header_row(look)
    blocks = [_block(form, b, look) for b in form.blocks]
    total = _total_row(form, look)
    pages = paginate(top, header, blocks, look, tail=total.height)

    printer = Printer(ws, look)
    printer.title(form.year, form.title)
    table_start = printer.row
    breaks = []
    for number, (page_top, page_blocks) in enumerate(pages):
        if number:
            breaks.append(printer.row - 1)
        for row in page_top:
            printer.emit(row)
        printer.indicators(page_blocks, header if number == 0 or look.repeat_header else None)
    printer.emit(total)
    printer.frame(table_start, printer.row - 1)
    page_setup(ws, look, printer.row - 1, breaks)
    return FormPrint(title=title, pages=len(pages), rows=printer.row - 1, breaks=breaks)


def _top_rows(form: SelfEvaluation, look: Look) -> list[Row]:
    end = 1 if look.label_span else 0
    heads = ["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
    rows = [
        [Cell(0, end, "项目名称", "label"), Cell(end + 1, LAST, form.project_name, "value")],
        [
            Cell(0, end, "主管部门", "label"),
            Cell(end + 1, 3, form.department, "value"),
            Cell(4, 5, "实施单位", "label"),
            Cell(6, LAST, form.implementing_unit, "value"),
        ],
        [
            Cell(0, 0, look.funds_label, "label", rows=1 + len(form.funds)),
            Cell(1, 2, "", "head"),
            *(Cell(3 + i, 3 + i, h, "head") for i, h in enumerate(heads)),
        ],
    ]
    for line in form.funds:
        values = [line.initial, line.budget, line.executed, line.weight, line.rate, line.score]
        rows.append(
            [
                Cell(1, 2, line.label, "label"),
                *(Cell(3 + i, 3 + i, v, "amount") for i, v in enumerate(values)),
            ]
        )
    rows += [
        [
            Cell(0, 0, "年度总体目标", "label", rows=2),
            Cell(1, 4, "预期目标", "head"),
            Cell(5, LAST, "实际完成情况", "head"),
        ],
        [Cell(1, 4, form.goal_expected, "goal"), Cell(5, LAST, form.goal_actual, "goal")],
    ]
    sized = [Row(cells, look.top_row_pt) for cells in rows]
    fit_heights(sized, look)
    return sized


def _header_row(look: Look) -> Row:
    heads = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"]
    cells = [Cell(1 + i, 1 + i, h, "head") for i, h in enumerate(heads)]
    row = Row([*cells, Cell(LAST, LAST, "偏差原因分析及改进措施", "head")], look.top_row_pt)
    fit_heights([row], look)
    return row


def _block(form: SelfEvaluation, block: ScoredBlock, look: Look) -> RowBlock:
    rows = []
    for line in block.rows:
        values = [line.target, line.actual, line.weight, line.score]
        cells = [
            Cell(3, 3, line.name, "line"),
            *(Cell(4 + i, 4 + i, v, "lvalue") for i, v in enumerate(values)),
            Cell(LAST, LAST, line.deviation, "line"),
        ]
        rows.append(Row(cells, look.row_pt))
    rows[0].cells.insert(0, Cell(2, 2, block.level2, "level2", rows=len(rows)))
    fit_heights(rows, look)
    # The 一级指标 cell may end up holding this block alone on a page: leave it room.
    label = form.level1_label(block.level1)
    need = need_pt(Cell(1, 1, label, "level1"), look)
    if need > sum(r.height for r in rows):
        rows[-1].height += need - sum(r.height for r in rows)
    return RowBlock(label, rows)


def _total_row(form: SelfEvaluation, look: Look) -> Row:
    cells = [
        Cell(0, 5, "总分", "label"),
        Cell(6, 6, form.total_weight, "lvalue"),
        Cell(7, 7, form.total_score, "lvalue"),
        Cell(LAST, LAST, "", "lvalue"),
    ]
    row = Row(cells, look.top_row_pt)
    fit_heights([row], look)
    return row
