"""Rows and fields mapped from hand-made pages: worn lines joining cells, empty lines, lost numbers.

Each page is a table of cells with their text, as the grid and OCR stages would pass it on:
columns 一级 | 二级 | 三级 | 指标值 under a header row.
"""

from __future__ import annotations

from dataclasses import replace

from hand_made import Cells, hand_made_page

from pipeline.block_order import OrderCosts, RowCue, decode_blocks
from pipeline.form_spec import load_template
from pipeline.mapping.blocks import place_blocks
from pipeline.mapping.indicators import IndicatorState, map_indicators
from pipeline.mapping.scalars import map_scalar_fields
from pipeline.ocr.base import TextLine
from pipeline.ocr.cells import CellText
from pipeline.pages import PageRead
from pipeline.readings import FieldReading, FormReading

TEMPLATE = load_template("budget_performance_approval")
XS = (0, 100, 200, 400, 500)  # 一级 | 二级 | 三级 | 指标值


def _page(cells: Cells) -> PageRead:
    """A page from (row0, row1, col0, col1, text) cells; row 0 is the header."""
    return hand_made_page(XS, cells)


HEADER = [
    (0, 0, 0, 0, "一级指标"),
    (0, 0, 1, 1, "二级指标"),
    (0, 0, 2, 2, "三级指标"),
    (0, 0, 3, 3, "指标值"),
]


def _scalars(cells: list[tuple[int, int, int, int, str]]) -> dict[str, FieldReading]:
    """The scalar fields mapped from a page of (row0, row1, col0, col1, text) cells."""
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_scalar_fields(TEMPLATE, _page(cells), form)
    return form.fields


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
            (1, 2, 1, 2, "指标1:覆盖率数量指标(必填)指标2:;"),  # a speck on the empty line
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
            (1, 5, 0, 0, "产出指标"),
            (1, 5, 1, 1, "数量指标"),
            (1, 1, 2, 2, "指标1:覆盖率"),
            (1, 1, 3, 3, "100%"),
            (2, 2, 2, 2, "指标2:."),  # a speck after the label
            (2, 2, 3, 3, "A"),  # a stain read as a letter
            (3, 3, 2, 2, "指标3:万"),  # one character: a speck read as one
            (3, 3, 3, 3, ""),
            (4, 4, 2, 2, "指标4:1人"),  # a value spilled onto the empty line
            (4, 4, 3, 3, ""),
            (5, 5, 2, 2, "指标5:2107"),  # specks read as digits
            (5, 5, 3, 3, ""),
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
            (3, 3, 0, 0, "满意度指标"),
            (3, 3, 1, 1, "服务对象满意度指标"),
            (3, 3, 2, 2, "群众满意度"),  # the whole label worn away
            (3, 3, 3, 3, "≥90%"),
        ]
    )
    assert rows[1] == ("效益指标", "可持续影响指标", "2", "提高积极性", "持续提升")
    assert rows[2] == ("满意度指标", "服务对象满意度指标", "1", "群众满意度", "≥90%")
    for row in form.indicators[1:]:
        assert "no 指标N label" in row["seq"].evidence.rule_failures


def test_name_and_value_joined_in_one_cell_leave_a_worded_value_unfound() -> None:
    rows, form = _rows(
        [
            (1, 2, 0, 0, "产出指标"),
            (1, 2, 1, 1, "质量指标"),
            (1, 1, 2, 3, "指标1:工作完成情况高质量完成"),  # the 三级|指标值 line worn away
            (2, 2, 2, 3, "指标2:资金使用合规率≥98%"),
        ]
    )
    # Where the words part is not known the value stays unfound; a number with its unit at
    # the end is the value.
    assert [r[3:] for r in rows] == [("工作完成情况高质量完成", ""), ("资金使用合规率", "≥98%")]
    worded, numbered = (row["value"] for row in form.indicators)
    assert not worded.evidence.found and numbered.evidence.found
    assert "name and value read as one cell" in worded.evidence.rule_failures
    assert "name and value read as one cell" in numbered.evidence.rule_failures


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


def _with_lines(cell: CellText, lines: list[tuple[str, tuple[int, int, int, int]]]) -> CellText:
    """`cell` as the OCR stage gives a cell of several lines: each with its box on the page."""
    quad = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    return replace(
        cell,
        text="".join(t for t, _ in lines),
        lines=tuple(TextLine(text=t, score=0.99, box=quad) for t, _ in lines),
        boxes=tuple(b for _, b in lines),
    )


def test_a_3rd_level_cell_holding_two_lines_gives_two_rows_with_the_values_at_their_heights() -> (
    None
):
    # The line under 指标1 is worn away in the 三级 column only: its cell spans two rows,
    # while the 指标值 column keeps a cell per row.
    page = _page(
        [
            *HEADER,
            (1, 2, 0, 0, "效益指标"),
            (1, 2, 1, 1, "可持续影响指标"),
            (1, 2, 2, 2, ""),
            (1, 1, 3, 3, "长期"),
            (2, 2, 3, 3, "持续提升"),
        ]
    )
    page.cells[6] = _with_lines(
        page.cells[6],
        [("指标1:保障工作有效开展", (205, 45, 390, 75)), ("指标2:提高积极性", (205, 85, 390, 115))],
    )
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, page, form, IndicatorState())
    rows = [tuple(row[k].value for k in ("seq", "name", "value")) for row in form.indicators]
    assert rows == [("1", "保障工作有效开展", "长期"), ("2", "提高积极性", "持续提升")]


def test_two_labelled_lines_beside_one_value_cell_flag_the_value() -> None:
    page = _page(
        [
            *HEADER,
            (1, 2, 0, 0, "效益指标"),
            (1, 2, 1, 1, "可持续影响指标"),
            (1, 2, 2, 2, ""),
            (1, 2, 3, 3, "长期"),
        ]
    )
    page.cells[6] = _with_lines(
        page.cells[6],
        [("指标1:保障工作有效开展", (205, 45, 390, 75)), ("指标2:提高积极性", (205, 85, 390, 115))],
    )
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, page, form, IndicatorState())
    assert [row["name"].value for row in form.indicators] == ["保障工作有效开展", "提高积极性"]
    assert all(
        "value cell beside 2 rows" in row["value"].evidence.rule_failures for row in form.indicators
    )


def test_a_2nd_level_cell_spanning_two_blocks_gives_the_later_rows_the_next_block() -> None:
    # The line under 质量指标's block is worn away: its cell runs down beside 时效指标's row,
    # whose own 二级 cell is lost with it.
    rows, form = _rows(
        [
            (1, 4, 0, 0, "产出指标"),
            (1, 1, 1, 1, "数量指标"),
            (1, 1, 2, 2, "指标1:覆盖率"),
            (1, 1, 3, 3, "100%"),
            (2, 4, 1, 1, "质量指标"),
            (2, 2, 2, 2, "指标1:合格率"),
            (2, 2, 3, 3, "≥95%"),
            (3, 3, 2, 2, "指标2:达标率"),
            (3, 3, 3, 3, "≥90%"),
            (4, 4, 2, 2, "指标1:完成及时性"),
            (4, 4, 3, 3, "及时"),
        ]
    )
    assert [r[1] for r in rows] == ["数量指标", "质量指标", "质量指标", "质量指标"]
    place_blocks(TEMPLATE, form)
    placed = [(row["level2"].value, row["seq"].value) for row in form.indicators]
    assert placed == [("数量指标", "1"), ("质量指标", "1"), ("质量指标", "2"), ("时效指标", "1")]
    moved = form.indicators[3]["level2"]
    assert moved.evidence.placed_by_order
    assert moved.raw == "质量指标"  # what the cell read stays on the field
    assert not form.indicators[2]["level2"].evidence.placed_by_order
    assert any("完成及时性" in issue and "时效指标" in issue for issue in form.issues)


def test_blocks_follow_the_order_and_a_cell_says_which_block_was_lost() -> None:
    costs = OrderCosts()
    nothing = (0.0,) * 4
    first, second, last = (1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)
    # No cell read: each 指标1 starts the next block, a 指标2 continues one.
    cues = [RowCue(1, nothing), RowCue(1, nothing), RowCue(2, nothing)]
    assert decode_blocks(cues, 4, costs) == [0, 1, 1]
    # Three rows for four blocks: the third row's cell names the last block, so the block
    # without rows is the third, not the last.
    cues = [RowCue(1, nothing), RowCue(1, nothing), RowCue(1, last)]
    assert decode_blocks(cues, 4, costs) == [0, 1, 3]
    # A block whose 指标1 row was lost starts at 指标2: only its cell can say so.
    assert decode_blocks([RowCue(1, first), RowCue(2, second)], 4, costs) == [0, 1]
    assert decode_blocks([RowCue(1, first), RowCue(2, nothing)], 4, costs) == [0, 0]


def test_a_label_joined_to_the_end_of_a_value_is_taken_off() -> None:
    fields = _scalars(
        [
            (0, 0, 0, 0, "项目属性"),
            (0, 0, 1, 2, "一年期项目项目期"),  # the line before the 项目期 label is worn
            (1, 1, 0, 0, "年度总体目标"),
            (1, 1, 1, 3, "保障工作正常开展。二级指标三级指标指标值"),
        ]
    )
    attribute, goal = fields["project_attribute"], fields["overall_goal"]
    assert (attribute.value, goal.value) == ("一年期项目", "保障工作正常开展。")
    assert "labels '项目期' joined to the value's cell" in attribute.evidence.rule_failures
    assert goal.raw.endswith("指标值")


def test_a_label_joined_to_a_neighbour_cell_still_finds_its_value() -> None:
    fields = _scalars(
        [
            (0, 0, 0, 0, "主管部门及代码"),
            (0, 0, 1, 2, "隆德县司法局实施单位"),  # the line before 实施单位 is worn
            (0, 0, 3, 3, "隆德县司法局文化馆"),
            (1, 1, 0, 3, "其中：财政拨款4万元"),  # the line after the label is worn
        ]
    )
    assert fields["department"].value == "隆德县司法局"
    assert fields["implementing_unit"].value == "隆德县司法局文化馆"
    assert fields["funds_fiscal"].value == "4万元"  # the check stage takes the unit off
    assert "label read joined to the cell before it" in (
        fields["implementing_unit"].evidence.rule_failures
    )
    assert "label read joined to its value" in fields["funds_fiscal"].evidence.rule_failures


def test_a_label_at_the_end_of_a_cell_spanning_two_rows_takes_the_value_of_the_last() -> None:
    fields = _scalars(
        [
            (0, 1, 0, 0, "项目名称主管部门及代码"),  # the row line between the labels is worn
            (0, 0, 1, 3, "2025年残疾人补助资金"),
            (1, 1, 1, 3, "西夏区农业农村局"),
        ]
    )
    assert fields["department"].value == "西夏区农业农村局"


def test_a_value_cut_by_a_stray_line_is_read_across_its_pieces_up_to_the_next_label() -> None:
    fields = _scalars(
        [
            (0, 0, 0, 0, "主管部门及代码"),
            (0, 0, 1, 1, "原州区古雁街"),  # a seal's ring or a pen stroke read as a line
            (0, 0, 2, 2, "道办事处"),
            (0, 0, 3, 3, "实施单位"),
            (1, 1, 0, 0, "年度资金总额"),
            (1, 1, 1, 1, "673.5"),
            (1, 1, 2, 2, "63"),
            (1, 1, 3, 3, ""),
            (2, 2, 0, 0, "项目属性"),
            (2, 2, 1, 1, "一年期项目"),
            (2, 2, 2, 2, "项目期1年"),  # the label's own line is worn: not part of the value
        ]
    )
    department, total = fields["department"], fields["funds_total"]
    assert (department.value, total.value) == ("原州区古雁街道办事处", "673.563")
    assert "value read across 2 cells" in department.evidence.rule_failures
    assert department.bbox is not None and department.bbox[2] == XS[3]
    attribute = fields["project_attribute"]
    assert attribute.value == "一年期项目"
    assert not attribute.evidence.rule_failures


def test_two_headers_read_as_one_cell_still_give_both_columns() -> None:
    # The line between the 三级指标 and 指标值 headers is worn: one cell reads both.
    cells = [c for c in HEADER if c[4] not in ("三级指标", "指标值")] + [
        (0, 0, 2, 3, "三级指标指标值"),
        (1, 1, 0, 0, "产出指标"),
        (1, 1, 1, 1, "数量指标"),
        (1, 1, 2, 2, "指标1:覆盖率"),
        (1, 1, 3, 3, "100%"),
    ]
    form = FormReading(file="hand-made.png", form_type=TEMPLATE.form_type)
    map_indicators(TEMPLATE, _page(cells), form, IndicatorState())
    rows = [tuple(row[k].value for k in ("level2", "name", "value")) for row in form.indicators]
    assert rows == [("数量指标", "覆盖率", "100%")]


def test_a_value_read_into_its_name_beside_an_empty_value_cell_is_taken_out() -> None:
    rows, form = _rows(
        [
            (1, 2, 0, 0, "满意度指标"),
            (1, 2, 1, 1, "服务对象满意度指标"),
            (1, 1, 2, 2, "指标1:网格员满意度≥95%"),  # the line before 指标值 is worn
            (1, 1, 3, 3, ""),
            (2, 2, 2, 2, "指标2:控制在2024年预算内"),  # a year inside a name stays
            (2, 2, 3, 3, "达标"),
        ]
    )
    assert [r[3:] for r in rows] == [("网格员满意度", "≥95%"), ("控制在2024年预算内", "达标")]
    parted = form.indicators[0]
    assert "name and value read as one cell" in parted["value"].evidence.rule_failures
    assert not form.indicators[1]["value"].evidence.rule_failures


def test_a_header_read_again_in_the_name_column_is_no_row() -> None:
    rows, _ = _rows(
        [
            (1, 1, 0, 0, "一级指标"),
            (1, 1, 1, 1, "二级指标"),
            (1, 1, 2, 2, "三级指标"),
            (1, 1, 3, 3, "指标值"),
            (2, 2, 0, 0, "产出指标"),
            (2, 2, 1, 1, "数量指标"),
            (2, 2, 2, 2, "指标1:覆盖率"),
            (2, 2, 3, 3, "100%"),
        ]
    )
    assert [r[3] for r in rows] == ["覆盖率"]


def test_a_page_whose_value_cells_are_missing_lost_its_value_column() -> None:
    # No right frame line: the table ends at the 三级 column, the 指标值 cells are not cells.
    lines = [
        (1, 3, 0, 0, "产出指标"),
        (1, 3, 1, 1, "数量指标"),
        (1, 1, 2, 2, "指标1:覆盖率"),
        (2, 2, 2, 2, "指标2:发放人数"),
        (3, 3, 2, 2, "指标3:合格率"),
    ]
    rows, form = _rows(lines)
    assert [r[3] for r in rows] == ["覆盖率", "发放人数", "合格率"]
    assert all(row["value"].evidence.column_lost for row in form.indicators)
    assert any("column lost" in issue for issue in form.issues)

    # One row without its value cell is that row's trouble, not its column's.
    rows, form = _rows([*lines, (1, 1, 3, 3, "100%"), (2, 2, 3, 3, "20人")])
    assert [r[4] for r in rows] == ["100%", "20人", ""]
    assert [row["value"].evidence.found for row in form.indicators] == [True, True, False]
    assert not any(row["value"].evidence.column_lost for row in form.indicators)


def test_a_year_not_read_above_the_table_is_taken_from_the_project_name_for_review() -> None:
    # A seal pressed over the year line: nothing above the table read.
    fields = _scalars([(0, 0, 0, 0, "项目名称"), (0, 0, 1, 3, "2024年全区团支部书记岗位津贴")])
    year = fields["year"]
    assert year.value == "2024" and not year.evidence.found
    assert year.bbox == fields["project_name"].bbox
    assert "year not read above the table: taken from project_name" in year.evidence.rule_failures

    fields = _scalars([(0, 0, 0, 0, "项目名称"), (0, 0, 1, 3, "全区团支部书记岗位津贴")])
    assert fields["year"].value == "" and not fields["year"].evidence.found


def test_one_value_cell_beside_rows_of_their_own_sends_each_of_its_values_to_review() -> None:
    # The lines between three values wore away: the one cell holds all three, and each row
    # beside it took the lot (`明显增强良好有效提高`), sure of every character.
    rows, form = _rows(
        [
            (1, 3, 0, 0, "效益指标"),
            (1, 3, 1, 1, "社会效益指标"),
            (1, 1, 2, 2, "指标1:提升工作质量"),
            (2, 2, 2, 2, "指标2:保障稳定运行"),
            (3, 3, 2, 2, "指标3:提高积极性"),
            (1, 3, 3, 3, "明显增强良好有效提高"),
            (4, 4, 0, 0, "满意度指标"),
            (4, 4, 1, 1, "服务对象满意度指标"),
            (4, 4, 2, 2, "指标1:群众满意度"),
            (4, 4, 3, 3, "≥95%"),
        ]
    )
    assert [r[3] for r in rows] == ["提升工作质量", "保障稳定运行", "提高积极性", "群众满意度"]
    shared = [row["value"].evidence.contradicted for row in form.indicators]
    assert shared == [True, True, True, False]
    assert any("read from one cell for 3 rows" in issue for issue in form.issues)


def test_every_field_on_a_page_ruled_with_more_columns_than_the_form_prints_goes_to_review() -> (
    None
):
    # A seal's ring and a pen's strokes taken for column lines cut the page's cells where the
    # form has none: what each piece reads is sure of itself, and the page is not the form.
    from pipeline.confidence import UNFITTED, score_form
    from pipeline.mapping.forms import read_forms

    trusting = UNFITTED.model_copy(update={"threshold": 0.0})
    cells = [
        *HEADER,
        (1, 1, 0, 0, "满意度指标"),
        (1, 1, 1, 1, "服务对象满意度指标"),
        (1, 1, 2, 2, "指标1:群众满意度"),
        (1, 1, 3, 3, "≥95%"),
    ]
    assert TEMPLATE.most_columns is not None
    for extra, doubted in ((0, False), (TEMPLATE.most_columns, True)):
        page = _page(cells)
        xs = tuple(sorted({*XS, *range(450, 450 + extra)}))  # strokes in the 指标值 column
        page = replace(page, grid=replace(page.grid, xs=xs))
        (form,), _ = read_forms([TEMPLATE], "hand-made.png", [page])
        score_form(form, TEMPLATE, trusting)
        row = form.indicators[0]
        assert row["value"].value == "≥95%"
        assert all(reading.review is doubted for reading in row.values()), extra
        assert any("more column lines" in issue for issue in form.issues) is doubted


def test_a_page_whose_title_and_first_label_are_under_a_seal_still_starts_a_form() -> None:
    # A seal over the title and 项目名称: missed, the page joined the form before it, and
    # every later form of the file shifted onto the wrong record, each field read sure.
    from pipeline.mapping.page_types import is_first_page

    header_rows = [
        (1, 1, 0, 0, "项■"),  # the first label, under the seal
        (1, 1, 1, 3, "2024年社区工作者工资"),
        (2, 2, 0, 0, "实施单位"),
        (2, 2, 1, 3, "西夏区北塬街道办事处"),
        (3, 3, 0, 0, "项目属性"),
        (3, 3, 1, 3, "经常性项目"),
    ]
    rows = [(4, 4, 0, 0, "产出指标"), (4, 4, 1, 1, "数量指标"), (4, 4, 2, 2, "指标1:人数")]
    assert is_first_page(TEMPLATE, _page([*HEADER, *header_rows, *rows]))
    one_label = [header_rows[0], header_rows[1], header_rows[2], header_rows[3]]
    assert not is_first_page(TEMPLATE, _page([*HEADER, *one_label, *rows])), "one label alone"
    assert not is_first_page(TEMPLATE, _page([*HEADER, *rows])), "a continuation page"
