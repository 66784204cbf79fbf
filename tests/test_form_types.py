"""Form types as data: each page finds its type, and a new type needs no code.

Pages are hand-made tables of cells with their text, as the grid and OCR stages pass them on.
A third form type, `tests/data/form_types/project_acceptance.yaml` (a score sheet shaped
unlike the budget forms), reaches formscan through `FORMSCAN_FORM_TYPES` alone and goes
through mapping, checks, scoring, the store, every export and the review queue.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hand_made import QUAD, Cells, hand_made_page
from openpyxl import load_workbook

from pipeline.check import check_form
from pipeline.confidence import load_calibration, score_form
from pipeline.evaluate import evaluate
from pipeline.export import stored_records, write_jsonl
from pipeline.export_tables import write_csv, write_xlsx
from pipeline.form_spec import FORM_TYPES_ENV, known_form_types, load_template, read_template
from pipeline.mapping.forms import read_forms
from pipeline.mapping.scalars import map_scalar_fields
from pipeline.ocr.base import TextLine
from pipeline.pages import FileResult, PageRead
from pipeline.readings import FieldReading, FormReading
from pipeline.records import GoldRecord, read_export
from pipeline.review.labels import field_label
from pipeline.store import Store

FORM_TYPES = Path(__file__).parent / "data" / "form_types"


def _page(
    number: int,
    xs: Sequence[int],
    cells: Cells,
    above: Sequence[str] = (),
    text_at: dict[int, tuple[int, int]] | None = None,
) -> PageRead:
    """A page of a PDF from (row0, row1, col0, col1, text) cells, its lines boxed."""
    return hand_made_page(
        xs,
        cells,
        number=number,
        name="hand-made.pdf",
        above=above,
        line_boxes=True,
        text_at=text_at,
    )


ACCEPTANCE_XS = (0, 200, 300, 400, 600)  # 评分内容 | 满分 | 得分 | 备注
ACCEPTANCE: Cells = [
    (0, 0, 0, 0, "验收项目"),
    (0, 0, 1, 3, "社区服务中心改造"),
    (1, 1, 0, 0, "验收人"),
    (1, 1, 1, 3, "王立"),
    (2, 2, 0, 0, "评分内容"),
    (2, 2, 1, 1, "满分"),
    (2, 2, 2, 2, "得分"),
    (2, 2, 3, 3, "备注"),
    (3, 3, 0, 0, "资料完整"),
    (3, 3, 1, 1, "30"),
    (3, 3, 2, 2, "28"),
    (3, 3, 3, 3, ""),
    (4, 4, 0, 0, "进度按期"),
    (4, 4, 1, 1, "30"),
    (4, 4, 2, 2, "35"),  # a printed slip: more than the row's 满分
    (4, 4, 3, 3, "延期一月"),
    (5, 5, 0, 0, "资金合规"),
    (5, 5, 1, 1, "40"),
    (5, 5, 2, 2, "36"),
    (5, 5, 3, 3, ""),
    (6, 6, 0, 0, "合计"),
    (6, 6, 1, 1, "100"),
    (6, 6, 2, 2, "99"),
    (6, 6, 3, 3, ""),
]


def _stored(folder: Path, result: FileResult) -> tuple[Store, str]:
    """A new SQLite store in `folder` holding one read file, and the run that read it."""
    store = Store.open(f"sqlite:///{folder / 'formscan.db'}")
    run = store.start_run(["/scans"], {})
    document = store.add_document("1" * 64, f"/scans/{result.name}", result.name, 10, run)
    versions = {"formscan": "t", "ocr": "o", "template": "t", "calibration": "c"}
    store.save_reading(document, run, result, versions, {})
    return store, run


@pytest.fixture
def third_type(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test-only form type, known to formscan through its folder alone."""
    monkeypatch.setenv(FORM_TYPES_ENV, str(FORM_TYPES))
    return "project_acceptance"


def test_a_form_type_added_as_a_file_goes_through_every_stage(
    third_type: str, tmp_path: Path
) -> None:
    assert third_type in known_form_types()
    templates = [load_template(name) for name in known_form_types()]
    page = _page(1, ACCEPTANCE_XS, ACCEPTANCE, above=["项目验收评分表", "2024年"])

    # Mapping: the page types itself by its title, among every known type.
    [form], unrecognised = read_forms(templates, "acceptance.pdf", [page])
    assert form.form_type == third_type and not unrecognised
    template = load_template(third_type)
    assert list(form.fields) == template.scalar_keys
    fields = {k: r.value for k, r in form.fields.items()}
    assert fields == {
        "year": "2024",
        "project_name": "社区服务中心改造",
        "inspector": "王立",
        "total_full": "100",
        "total_score": "99",
    }
    rows = [{k: r.value for k, r in row.items()} for row in form.indicators]
    assert [list(row) for row in rows] == [template.indicators.keys] * 3
    assert [(r["seq"], r["item"], r["full"], r["score"]) for r in rows] == [
        ("1", "资料完整", "30", "28"),
        ("2", "进度按期", "30", "35"),
        ("3", "资金合规", "40", "36"),
    ]

    # Checks: the slip is flagged and kept as printed; the totals hold.
    check_form(template, form)
    slipped = form.indicators[1]
    assert slipped["score"].value == "35"
    assert "score above full" in slipped["score"].evidence.rule_failures
    assert slipped["score"].evidence.contradicted and slipped["full"].evidence.contradicted
    assert not form.fields["total_score"].evidence.contradicted

    # Scoring: a type without its own calibration is scored by the fallback's, and says so.
    calibration = load_calibration(third_type)
    assert calibration.version.endswith("@budget_performance_approval")
    score_form(form, template, calibration)
    assert slipped["score"].review and slipped["full"].review

    # The store, the exports and the review queue.
    result = FileResult("acceptance.pdf", pages=1, forms=[form], page_seconds=[1.0])
    store, _ = _stored(tmp_path, result)

    write_jsonl(store, tmp_path / "r.jsonl")
    [record] = read_export(tmp_path / "r.jsonl")
    assert record.form_type == third_type and record.fields["total_score"].value == "99"
    assert [row["score"].value for row in record.indicators] == ["28", "35", "36"]

    assert write_csv(store, tmp_path / "r.csv") == {tmp_path / "r.acceptance.csv": 1}
    table = list(
        csv.DictReader((tmp_path / "r.acceptance.csv").read_text("utf-8-sig").splitlines())
    )
    assert [r["row"] for r in table] == ["form", "indicator", "indicator", "indicator"]
    assert table[0]["inspector"] == "王立" and table[2]["remark"] == "延期一月"

    write_xlsx(store, tmp_path / "r.xlsx")
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["acceptance", "acceptance indicators"]
    head, *lines = list(book["acceptance indicators"].iter_rows(values_only=True))
    assert [line[head.index("item")] for line in lines] == ["资料完整", "进度按期", "资金合规"]

    tasks = [t for t in store.review_queue() if t.row == 1 and t.key == "score"]
    assert [t.form_type for t in tasks] == [third_type]
    assert field_label(third_type, "indicators.1.score", lambda s: s) == "得分, row 2"
    assert field_label(third_type, "fields.total_full", lambda s: s) == "合计 · 满分"

    # Eval scores it by its own keys: a score read as a number equal to the truth's is right.
    truth = GoldRecord(
        form_type=third_type,
        fields={**fields, "total_score": "99.0"},
        indicators=[{k: v for k, v in row.items()} for row in rows],
    )
    [(_, exported)] = list(stored_records(store))
    report = evaluate({"acceptance": [truth]}, [exported])
    assert report.field_accuracy == 1.0 and report.counts.missing_forms == 0
    store.close()


APPROVAL_XS = (0, 100, 200, 400, 500)  # 一级 | 二级 | 三级 | 指标值
APPROVAL_FIRST: Cells = [
    (0, 0, 0, 0, "项目名称"),
    (0, 0, 1, 3, "社区服务"),
    (1, 1, 0, 0, "主管部门及代码"),
    (1, 1, 1, 3, "民政局(101)"),
    (2, 2, 0, 0, "一级指标"),
    (2, 2, 1, 1, "二级指标"),
    (2, 2, 2, 2, "三级指标"),
    (2, 2, 3, 3, "指标值"),
    (3, 3, 0, 0, "产出指标"),
    (3, 3, 1, 1, "数量指标"),
    (3, 3, 2, 2, "指标1:服务人数"),
    (3, 3, 3, 3, "200人"),
]
APPROVAL_MORE: Cells = [
    (0, 0, 0, 0, "效益指标"),
    (0, 0, 1, 1, "社会效益指标"),
    (0, 0, 2, 2, "指标1:群众知晓率"),
    (0, 0, 3, 3, "≥90%"),
    (1, 1, 0, 0, "效益指标"),
    (1, 1, 1, 1, "社会效益指标"),
    (1, 1, 2, 2, "指标2:覆盖率"),
    (1, 1, 3, 3, "≥80%"),
]
# The self-evaluation's first rows, its title under a seal: only its own labels say what it is.
EVALUATION_XS = (0, 100, 200, 300, 400, 500, 600)
EVALUATION_FIRST: Cells = [
    (0, 0, 0, 0, "项目名称"),
    (0, 0, 1, 5, "社区服务"),
    (1, 1, 0, 1, ""),
    (1, 1, 2, 2, "年初预算数"),
    (1, 1, 3, 3, "全年预算数"),
    (1, 1, 4, 4, "全年执行数"),
    (1, 1, 5, 5, "执行率"),
    (2, 2, 0, 1, "年度资金总额"),
    (2, 2, 2, 2, "10"),
    (2, 2, 3, 3, "12"),
    (2, 2, 4, 4, "11.4"),
    (2, 2, 5, 5, "95%"),
]
LETTER: Cells = [(0, 0, 0, 3, "关于报送2024年度项目绩效材料的函")]


def test_each_page_of_a_file_is_read_as_its_own_type_or_listed_as_none() -> None:
    templates = [load_template(name) for name in known_form_types()]
    pages = [
        _page(1, APPROVAL_XS, LETTER),  # a cover letter before the forms
        _page(2, APPROVAL_XS, APPROVAL_FIRST, above=["部门项目支出预算绩效批复表", "(2024年度)"]),
        _page(3, APPROVAL_XS, APPROVAL_MORE),  # continues the approval form's table
        _page(4, EVALUATION_XS, EVALUATION_FIRST, above=["(2024年度)"]),
    ]
    forms, unrecognised = read_forms(templates, "both.pdf", pages)
    assert [(f.form_type, f.pages) for f in forms] == [
        ("budget_performance_approval", [2, 3]),
        ("performance_self_evaluation", [4]),
    ]
    assert list(unrecognised) == [1]
    assert len(forms[0].indicators) == 3
    evaluation = forms[1].fields
    assert (evaluation["funds_total_budget"].value, evaluation["funds_rate"].value) == ("12", "95%")
    # The letter is no form even right after one: a page must show a form's table to continue it.
    forms, unrecognised = read_forms(templates, "both.pdf", [pages[1], pages[0]])
    assert [f.pages for f in forms] == [[2]] and list(unrecognised) == [1]


def test_a_page_titled_as_one_type_is_not_read_as_another_whose_title_is_near() -> None:
    # 部门预算项目支出绩效自评表 and 部门项目支出预算绩效批复表 share most characters.
    templates = [load_template(name) for name in known_form_types()]
    page = _page(1, APPROVAL_XS, APPROVAL_FIRST[:4], above=["部门预算项目支出绩效自评表"])
    [form], _ = read_forms(templates, "f.pdf", [page])
    assert form.form_type == "performance_self_evaluation"


def test_a_run_given_one_form_type_reads_every_page_as_it() -> None:
    approval = load_template("budget_performance_approval")
    pages = [_page(1, APPROVAL_XS, LETTER), _page(2, APPROVAL_XS, APPROVAL_MORE)]
    [form], unrecognised = read_forms([approval], "f.pdf", pages)
    assert form.form_type == approval.form_type and form.pages == [1, 2] and not unrecognised


def _evaluation(**changed: str) -> FormReading:
    """A rightly printed self-evaluation, with `changed` fields (`KEY` or `ROW.KEY`) misprinted."""
    fields = {
        "funds_total_initial": "100",
        "funds_total_budget": "120",
        "funds_total_executed": "114",
        "funds_fiscal_initial": "100",
        "funds_fiscal_budget": "100",
        "funds_fiscal_executed": "96",
        "funds_carryover_initial": "",
        "funds_carryover_budget": "20",
        "funds_carryover_executed": "18",
        "funds_other_initial": "",
        "funds_other_budget": "",
        "funds_other_executed": "",
        "funds_weight": "10",
        "funds_rate": "95.00%",
        "funds_score": "9.5",
        "total_weight": "100",
        "total_score": "96.5",
    }
    rows = [
        {
            "level1": "产出指标",
            "level2": "数量指标",
            "name": "服务人数",
            "target": "≥200人",
            "weight": "50",
            "score": "50",
        },
        {
            "level1": "产出指标",
            "level2": "质量指标",
            "name": "合格率",
            "target": "≥95%",
            "weight": "40",
            "score": "37",
        },
    ]
    for key, value in changed.items():
        if key.startswith("row_"):  # `row_1_score`: row 1's score
            _, row, column = key.split("_", 2)
            rows[int(row)][column] = value
        else:
            fields[key] = value
    return FormReading(
        file="f.pdf",
        form_type="performance_self_evaluation",
        fields={k: FieldReading(value=v, raw=v) for k, v in fields.items()},
        indicators=[{k: FieldReading(value=v, raw=v) for k, v in row.items()} for row in rows],
    )


def _contradicted(form: FormReading) -> set[str]:
    return {key for key, reading in form.all_fields() if reading.evidence.contradicted}


@pytest.mark.parametrize(
    ("slip", "tied"),
    [
        # In each funds column, total = fiscal + carryover + other.
        ({"funds_total_budget": "130"}, {"funds_total_budget", "funds_fiscal_budget"}),
        # A part read blank is nothing: the total then breaks its sum.
        (
            {"funds_fiscal_executed": ""},
            {"funds_total_executed", "funds_fiscal_executed", "funds_carryover_executed"},
        ),
        # And so is a total read blank.
        (
            {"funds_total_budget": ""},
            {"funds_total_budget", "funds_fiscal_budget", "funds_carryover_budget"},
        ),
        # 执行率 = 全年执行数 / 全年预算数, to the places printed.
        ({"funds_rate": "96.00%"}, {"funds_rate", "funds_total_executed"}),
        # A row's 得分 is not above its 分值.
        ({"row_1_score": "45"}, {"indicators.score", "indicators.weight"}),
        # The rows' weights and the funds row's add up to 总分's.
        ({"total_weight": "90"}, {"total_weight", "funds_weight", "indicators.weight"}),
        # The rows' scores and the funds row's add up to the total score.
        ({"total_score": "98.5"}, {"total_score", "funds_score", "indicators.score"}),
    ],
)
def test_each_typed_rule_flags_a_printed_slip_and_keeps_it(
    slip: dict[str, str], tied: set[str]
) -> None:
    template = load_template("performance_self_evaluation")
    right = _evaluation()
    check_form(template, right)
    assert not _contradicted(right)
    slipped = _evaluation(**slip)
    check_form(template, slipped)
    assert tied <= _contradicted(slipped)
    key, printed = next(iter(slip.items()))
    if key.startswith("row_"):
        assert slipped.indicators[1]["score"].value == printed
    else:
        assert slipped.fields[key].value == printed


EVALUATION_TABLE_XS = (0, 100, 200, 400, 500, 600, 700, 800, 1000)
EVALUATION_HEADER: Cells = [
    (0, 0, 0, 0, "一级指标"),
    (0, 0, 1, 1, "二级指标"),
    (0, 0, 2, 2, "三级指标"),
    (0, 0, 3, 3, "年度指标值"),
    (0, 0, 4, 4, "实际完成值"),
    (0, 0, 5, 5, "分值"),
    (0, 0, 6, 6, "得分"),
    (0, 0, 7, 7, "偏差原因分析及改进措施"),
]


def _evaluation_row(row: int, name: str, weight: str) -> Cells:
    return [
        (row, row, 2, 2, name),
        (row, row, 3, 3, "达标"),
        (row, row, 4, 4, "达标"),
        (row, row, 5, 5, weight),
        (row, row, 6, 6, weight),
        (row, row, 7, 7, ""),
    ]


def test_a_block_name_cut_off_by_a_stray_line_still_names_its_rows() -> None:
    """时效指标 is printed at the middle of its three rows; a stray line cut its cell after row 2.

    The blank piece above the name is the same block, not the one above it.
    """
    evaluation = load_template("performance_self_evaluation")
    cells = [
        *EVALUATION_HEADER,
        (1, 4, 0, 0, "产出指标"),
        (1, 1, 1, 1, "质量指标"),
        *_evaluation_row(1, "验收合格率", "10"),
        (2, 2, 1, 1, ""),  # the piece the stray line cut off
        *_evaluation_row(2, "发放及时率", "10"),
        (3, 4, 1, 1, "时效指标"),
        *_evaluation_row(3, "完成及时性", "10"),
        *_evaluation_row(4, "发放时限", "10"),
    ]
    name_cell = cells.index((3, 4, 1, 1, "时效指标"))
    # Rows are 40 px from y 0: rows 2 to 4 are 80–200 px, their middle at 140.
    page = _page(1, EVALUATION_TABLE_XS, cells, text_at={name_cell: (130, 150)})
    [form], _ = read_forms([evaluation], "f.pdf", [page])
    blocks = [(row["level2"].value, row["seq"].value) for row in form.indicators]
    assert blocks == [("质量指标", "1"), ("时效指标", "1"), ("时效指标", "2"), ("时效指标", "3")]


def test_a_blank_block_cell_at_the_page_s_foot_is_not_taken_for_the_block_above() -> None:
    """满意度指标 begins on the last row of the page and prints its name at the middle of
    its two rows, on the next page: the blank cell at this page's foot is its own block's,
    separate from the block above, and was read as that block at 0.9996."""
    evaluation = load_template("performance_self_evaluation")
    cells = [
        *EVALUATION_HEADER,
        (1, 2, 0, 0, "效益指标"),
        (1, 2, 1, 1, "可持续影响指标"),
        *_evaluation_row(1, "提高积极性", "10"),
        *_evaluation_row(2, "保障工作有效开展", "10"),
        (3, 3, 0, 0, ""),
        (3, 3, 1, 1, ""),
        *_evaluation_row(3, "对象满意度", "5"),
    ]
    [form], _ = read_forms([evaluation], "f.pdf", [_page(1, EVALUATION_TABLE_XS, cells)])
    doubted = [
        {key for key in ("level1", "level2") if row[key].evidence.contradicted}
        for row in form.indicators
    ]
    assert doubted == [set(), set(), {"level1", "level2"}]


def test_a_block_cell_whose_name_a_line_cut_in_two_is_doubted_not_taken_for_the_block_above() -> (
    None
):
    """成本指标, printed across the row line of the columns beside it, was cut by a line
    found through it: both pieces read blank and took 时效指标 from above at 0.9994."""
    evaluation = load_template("performance_self_evaluation")
    cells = [
        *EVALUATION_HEADER,
        (1, 4, 0, 0, "产出指标"),
        (1, 2, 1, 1, "时效指标"),
        *_evaluation_row(1, "发放时限", "10"),
        *_evaluation_row(2, "发放及时率", "10"),
        (3, 3, 1, 1, ""),  # 成本指标's upper half
        *_evaluation_row(3, "发放金额", "10"),
        (4, 4, 1, 1, ""),  # and its lower half
        *_evaluation_row(4, "购置经费", "10"),
        (5, 5, 0, 7, "总分"),
    ]
    page = _page(1, EVALUATION_TABLE_XS, cells)
    halves = [i for i, c in enumerate(page.cells) if c.cell.col0 == 1 and c.cell.row0 in (3, 4)]
    for index in halves:
        page.cells[index] = replace(page.cells[index], cut=True)
    [form], _ = read_forms([evaluation], "f.pdf", [page])
    doubted = [row["level2"].evidence.contradicted for row in form.indicators]
    assert doubted == [False, False, True, True]


def test_the_total_row_on_the_next_page_is_read_under_the_columns_carried_over() -> None:
    acceptance_xs, rows = ACCEPTANCE_XS, ACCEPTANCE[:-4]  # page 1 ends before 合计
    total = [(0, 0, 0, 0, "合计"), (0, 0, 1, 1, "100"), (0, 0, 2, 2, "99"), (0, 0, 3, 3, "")]
    template = read_template(FORM_TYPES / "project_acceptance.yaml")
    pages = [
        _page(1, acceptance_xs, rows, above=["项目验收评分表", "2024年"]),
        _page(2, acceptance_xs, [*total, (1, 1, 0, 3, "")]),
    ]
    [form], _ = read_forms([template], "f.pdf", pages)
    assert (form.fields["total_full"].value, form.fields["total_score"].value) == ("100", "99")
    assert form.fields["total_full"].page == 2
    assert [row["item"].value for row in form.indicators] == ["资料完整", "进度按期", "资金合规"]


def test_a_goal_cut_down_its_middle_is_read_line_by_line_across_the_pieces() -> None:
    evaluation = load_template("performance_self_evaluation")
    xs = (0, 100, 300, 500, 700)
    cells: Cells = [
        (0, 1, 0, 0, "年度总体目标"),
        (0, 0, 1, 2, "预期目标"),
        (0, 0, 3, 3, "实际完成情况"),
        (1, 1, 1, 1, "本项目主要用于"),  # a stray line down the cell at x 300
        (1, 1, 2, 2, "社区服务,目标"),
        (1, 1, 3, 3, "已完成。"),
    ]
    page = _page(1, xs, cells)
    pieces = page.cells[3:5]
    # Two lines in each piece: the first piece's second line, then the second's.
    lines = (
        [("本项目主要", (44, 60)), ("用于", (64, 80))],
        [("社区服务,", (44, 60)), ("目标", (64, 80))],
    )
    for index, (piece, parts) in enumerate(zip(pieces, lines, strict=True)):
        x0, _, x1, _ = piece.cell.box
        page.cells[3 + index] = replace(
            piece,
            lines=tuple(TextLine(text=t, score=0.99, box=QUAD) for t, _ in parts),
            boxes=tuple((x0 + 4, top, x1 - 4, bottom) for _, (top, bottom) in parts),
        )
    form = FormReading(file="f.pdf", form_type=evaluation.form_type)
    map_scalar_fields(evaluation, page, form)
    goal = form.fields["goal_expected"]
    assert goal.value == "本项目主要社区服务,用于目标"
    assert "value read across 2 cells" in goal.evidence.rule_failures


def test_a_figure_cut_across_by_a_line_its_row_label_does_not_share_goes_to_review() -> None:
    """A stretch of line through 432.21 parted its cell in two, one above the other; the row
    label's cell spans both. Each piece was read blank and the field came out blank at 0.99."""
    evaluation = load_template("performance_self_evaluation")
    xs = (0, 100, 300, 400, 500, 600)
    cells: Cells = [
        (0, 0, 1, 1, ""),
        (0, 0, 2, 2, "年初预算数"),
        (0, 0, 3, 3, "全年预算数"),
        (0, 0, 4, 4, "全年执行数"),
        (1, 2, 1, 1, "其中：当年财政拨款"),
        (1, 2, 2, 2, "425.1"),
        (1, 2, 3, 3, "447.49"),
        (1, 1, 4, 4, ""),  # the figure's upper half, read as nothing
        (2, 2, 4, 4, "2.21"),  # and its lower half, read as something else
    ]
    form = FormReading(file="f.pdf", form_type=evaluation.form_type)
    map_scalar_fields(evaluation, _page(1, xs, cells), form)
    assert form.fields["funds_fiscal_budget"].value == "447.49"
    assert not form.fields["funds_fiscal_budget"].evidence.contradicted
    cut = form.fields["funds_fiscal_executed"]
    assert cut.value == "2.21"
    assert cut.evidence.contradicted
    assert "value read across 2 cells" in cut.evidence.rule_failures


def test_headers_unread_side_by_side_take_the_grid_s_columns_between_their_neighbours() -> None:
    """A stray line cut the wrapped headers 年度指标值 and 实际完成值: both read blank."""
    from pipeline.mapping.columns import column_ranges

    page = _page(
        1,
        (0, 100, 300, 400, 500, 600),
        [(0, 0, 0, 0, "三级指标"), (0, 0, 1, 1, ""), (0, 0, 2, 2, ""), (0, 0, 3, 3, "分值")],
    )
    found = {"name": page.cells[0], "weight": page.cells[3]}
    keys = ["name", "target", "actual", "weight"]
    ranges = column_ranges(found, keys, 0, 600, page.grid.xs if page.grid else ())
    assert ranges["target"] == (100 / 600, 300 / 600)
    assert ranges["actual"] == (300 / 600, 400 / 600)
    # Without the grid's lines between them, they are left unplaced, as before.
    assert "target" not in column_ranges(found, keys, 0, 600)


def test_a_page_of_no_known_type_is_kept_in_the_store_and_listed(tmp_path: Path) -> None:
    from pipeline.report import RunReport

    templates = [load_template(name) for name in known_form_types()]
    pages = [
        _page(1, APPROVAL_XS, APPROVAL_FIRST, above=["部门项目支出预算绩效批复表"]),
        _page(2, APPROVAL_XS, LETTER),
    ]
    forms, unrecognised = read_forms(templates, "with-letter.pdf", pages)
    result = FileResult(
        "with-letter.pdf", pages=2, forms=forms, page_seconds=[1.0, 1.0], unrecognised=unrecognised
    )
    store, run = _stored(tmp_path, result)
    [(name, page, why)] = store.unrecognised_pages()
    assert (name, page) == ("with-letter.pdf", 2) and why.startswith("no known form type")
    store.close()
    report = RunReport(run_id=run, store="sqlite://")
    report.add_file(result)
    assert report.summary()["unrecognised_pages"] == [f"with-letter.pdf, page 2: {unrecognised[2]}"]


def test_two_form_types_of_one_export_name_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.form_spec import load_templates

    text = (FORM_TYPES / "project_acceptance.yaml").read_text(encoding="utf-8")
    twin = text.replace("form_type: project_acceptance", "form_type: acceptance_copy")
    (tmp_path / "acceptance_copy.yaml").write_text(twin, encoding="utf-8")
    monkeypatch.setenv(FORM_TYPES_ENV, f"{FORM_TYPES}{os.pathsep}{tmp_path}")
    with pytest.raises(
        ValueError,
        match=r"(acceptance_copy and project_acceptance|project_acceptance and acceptance_copy)",
    ):
        load_templates()
    assert [t.form_type for t in load_templates(["project_acceptance"])] == ["project_acceptance"]


def test_the_self_evaluation_type_declares_the_spec_s_keys() -> None:
    """Its record keys are the spec's, as the corpus generators write its truth."""
    from truth_files import SELF_EVALUATION_INDICATOR_KEYS, SELF_EVALUATION_SCALAR_KEYS

    evaluation = load_template("performance_self_evaluation")
    assert evaluation.scalar_keys == list(SELF_EVALUATION_SCALAR_KEYS)
    assert evaluation.indicators.keys == list(SELF_EVALUATION_INDICATOR_KEYS)
    assert evaluation.titles == ["项目支出绩效自评表", "部门预算项目支出绩效自评表"]
