"""Indicator rows mapped from hand-made pages: worn lines joining cells, empty lines, lost numbers.

Each page is a table of cells with their text, as the grid and OCR stages would pass it on:
columns 一级 | 二级 | 三级 | 指标值 under a header row.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline.grid import Cell, Grid
from pipeline.ingest import PageImage, ScanFile
from pipeline.ocr.base import TextLine
from pipeline.ocr.cells import CellText
from pipeline.prepare import PreparedPage
from pipeline.readings import FormReading
from pipeline.template import IndicatorState, PageRead, load_template, map_indicators

TEMPLATE = load_template("budget_performance_approval")
XS = (0, 100, 200, 400, 500)  # 一级 | 二级 | 三级 | 指标值
ROW = 40


def _page(cells: list[tuple[int, int, int, int, str]]) -> PageRead:
    """A page from (row0, row1, col0, col1, text) cells; row 0 is the header."""
    rows = 1 + max(c[1] for c in cells)
    ys = tuple(range(0, (rows + 1) * ROW, ROW))
    grid_cells = tuple(
        Cell(r0, r1, c0, c1, (XS[c0], ys[r0], XS[c1 + 1], ys[r1 + 1]))
        for r0, r1, c0, c1, _ in cells
    )
    blank = np.full((ys[-1], XS[-1]), 255, np.uint8)
    source = PageImage(ScanFile(None, "hand-made.png"), 1, blank, 200.0)  # type: ignore[arg-type]
    prepared = PreparedPage(source, blank, blank, blank, blank == 0, np.eye(3), 0.0, 0, True)
    grid = Grid(xs=XS, ys=ys, cells=grid_cells, px_per_mm=8.0, line_px=2)
    quad = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    texts = [
        CellText(
            page=1,
            cell=cell,
            text=text,
            lines=(TextLine(text=text, score=0.99, box=quad),) if text else (),
            score=0.99,
            seal=False,
        )
        for cell, (*_, text) in zip(grid_cells, cells, strict=True)
    ]
    return PageRead(prepared, grid, texts, above=[])


HEADER = [
    (0, 0, 0, 0, "一级指标"),
    (0, 0, 1, 1, "二级指标"),
    (0, 0, 2, 2, "三级指标"),
    (0, 0, 3, 3, "指标值"),
]


def _rows(cells: list[tuple[int, int, int, int, str]]) -> tuple[list[tuple[str, ...]], FormReading]:
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, _page(HEADER + cells), form, IndicatorState())
    keys = ("level1", "level2", "seq", "name", "value")
    return [tuple(row[k].value for k in keys) for row in form.indicators], form


def test_a_2nd_level_cell_joined_with_its_lines_gives_one_row_per_line() -> None:
    # The line between 二级 and 三级 is worn away over the block: one cell spans both columns.
    rows, form = _rows(
        [
            (1, 3, 0, 0, "产出指标"),
            (1, 2, 1, 2, "指标1:覆盖率数量指标(必填)指标2:"),
            (1, 1, 3, 3, "100%"),
            (2, 2, 3, 3, ""),
            (3, 3, 1, 1, "质量指标"),
            (3, 3, 2, 2, "指标1:合格率"),
            (3, 3, 3, 3, "≥95%"),
        ]
    )
    assert rows == [
        ("产出指标", "数量指标", "1", "覆盖率", "100%"),
        ("产出指标", "质量指标", "1", "合格率", "≥95%"),
    ]
    joined = form.indicators[0]
    assert all(
        "二级 cell and 三级 lines read as one cell" in r.evidence.rule_failures
        for r in joined.values()
    )
    assert not form.indicators[1]["name"].evidence.rule_failures


def test_a_line_without_a_name_is_no_row_whatever_its_value_cell_holds() -> None:
    rows, form = _rows(
        [
            (1, 3, 0, 0, "产出指标"),
            (1, 3, 1, 1, "数量指标"),
            (1, 1, 2, 2, "指标1:覆盖率"),
            (1, 1, 3, 3, "100%"),
            (2, 2, 2, 2, "指标2:."),  # a speck after the label
            (2, 2, 3, 3, "A"),  # a stain read as a letter
            (3, 3, 2, 2, "指标3:"),
            (3, 3, 3, 3, ""),
        ]
    )
    assert rows == [("产出指标", "数量指标", "1", "覆盖率", "100%")]
    assert any("'A'" in issue and "empty 指标N line" in issue for issue in form.issues)


def test_a_lost_line_number_is_taken_from_the_rows_order_and_flagged() -> None:
    rows, form = _rows(
        [
            (1, 2, 0, 0, "效益指标"),
            (1, 2, 1, 1, "可持续影响指标"),
            (1, 1, 2, 2, "指标1:保障工作有效开展"),
            (1, 1, 3, 3, "长期"),
            (2, 2, 2, 2, "指标提高积极性"),  # the 2 not read
            (2, 2, 3, 3, "持续提升"),
        ]
    )
    assert rows[1] == ("效益指标", "可持续影响指标", "2", "提高积极性", "持续提升")
    assert "no 指标N label" in form.indicators[1]["seq"].evidence.rule_failures


def test_name_and_value_joined_in_one_cell_leave_the_value_unfound() -> None:
    rows, form = _rows(
        [
            (1, 1, 0, 0, "产出指标"),
            (1, 1, 1, 1, "质量指标"),
            (1, 1, 2, 3, "指标1:资金使用合规率≥98%"),  # the 三级|指标值 line worn away
        ]
    )
    assert rows == [("产出指标", "质量指标", "1", "资金使用合规率≥98%", "")]
    value = form.indicators[0]["value"]
    assert not value.evidence.found
    assert "name and value read as one cell" in value.evidence.rule_failures


def test_a_value_header_joined_with_the_first_value_is_taken_off_it() -> None:
    # The line under 指标值 is worn: the header cell runs into the first row's value.
    cells = [c for c in HEADER if c[4] != "指标值"] + [
        (1, 1, 0, 0, "产出指标"),
        (1, 1, 1, 1, "数量指标"),
        (1, 1, 2, 2, "指标1:覆盖率"),
        (0, 1, 3, 3, "指标值100%"),
    ]
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, _page(cells), form, IndicatorState())
    value = form.indicators[0]["value"]
    assert value.value == "100%"
    assert "header '指标值' joined to the value's cell" in value.evidence.rule_failures


def test_a_joined_name_and_value_cut_by_the_ocr_stage_are_parted_at_the_column() -> None:
    cells = [
        *HEADER,
        (1, 1, 0, 0, "产出指标"),
        (1, 1, 1, 1, "质量指标"),
        (1, 1, 2, 3, "指标1:资金使用合规率≥98%"),
    ]
    page = _page(cells)
    quad = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    joined = page.cells[-1]
    parts = (("指标1:资金使用合规率", (205, 45, 380, 75)), ("≥98%", (430, 45, 470, 75)))
    page.cells[-1] = replace(
        joined,
        lines=tuple(TextLine(text=t, score=0.99, box=quad) for t, _ in parts),
        boxes=tuple(b for _, b in parts),
    )
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, page, form, IndicatorState())
    row = form.indicators[0]
    assert (row["name"].value, row["value"].value) == ("资金使用合规率", "≥98%")
    assert "name and value read as one cell" in row["value"].evidence.rule_failures
