"""Where everything on a printed 项目支出绩效自评表 goes, in millimetres.

Nine columns, as the national template rules them: A holds the section labels (项目资金,
年度总体目标, 绩效指标); the funds block uses B-C for its row labels and D-I for 年初预算数,
全年预算数, 全年执行数, 分值, 执行率, 得分; the indicator table uses B 一级, C 二级, D 三级,
E 年度指标值, F 实际完成值, G 分值, H 得分, I 偏差原因分析及改进措施; the 总分 row closes it.
Rows are sized and cut over pages by the same code as the approval form (`synth.layout`).
"""

from __future__ import annotations

import random
from dataclasses import replace

from synth.layout import Measure, PageLayout, Style, TableRow, paginate, size_rows
from synth.self_evaluation import SelfEvaluation

FONT_MM = (3.0, 3.5)  # smaller than the approval's: nine columns share the A4 width
# Width ranges of columns A-I in mm before they are scaled to the table's width.
WIDTHS_MM = (
    (13, 17),
    (15, 19),
    (16, 21),
    (30, 40),
    (17, 22),
    (17, 22),
    (10, 12),
    (13, 16),
    (26, 34),
)
TABLE_MM = (172, 186)
LAST = len(WIDTHS_MM) - 1


def evaluation_style(rng: random.Random, *, tall_rows: bool = False) -> Style:
    """A random look for a self-evaluation: the approval's habits, nine columns, a smaller face."""
    style = Style.draw(rng, tall_rows=tall_rows)
    widths = [rng.uniform(*r) for r in WIDTHS_MM]
    scale = rng.uniform(*TABLE_MM) / sum(widths)
    return replace(style, columns=tuple(w * scale for w in widths), font_mm=rng.uniform(*FONT_MM))


def layout_self_evaluation(
    form: SelfEvaluation, style: Style, measure: Measure
) -> list[PageLayout]:
    """Lay one self-evaluation out on as many A4 pages as its rows need."""
    rows = [*_head_rows(form, style), *_funds_rows(form), *_goal_rows(form), *_table(form)]
    size_rows(rows, style, measure)
    return paginate(form.title, form.year, rows, style, measure)


def _head_rows(form: SelfEvaluation, s: Style) -> list[TableRow]:
    end = 1 if s.label_span else 0
    align = "center" if s.values_centered else "left"
    return [
        TableRow(
            [
                (0, end, 1, "项目名称", "center", "label:项目名称"),
                (end + 1, LAST, 1, form.project_name, align, "value:project_name"),
            ]
        ),
        TableRow(
            [
                (0, end, 1, "主管部门", "center", "label:主管部门"),
                (end + 1, 3, 1, form.department, align, "value:department"),
                (4, 5, 1, "实施单位", "center", "label:实施单位"),
                (6, LAST, 1, form.implementing_unit, align, "value:implementing_unit"),
            ]
        ),
    ]


def _funds_rows(form: SelfEvaluation) -> list[TableRow]:
    heads = ["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
    rows = [
        TableRow(
            [
                (0, 0, 1 + len(form.funds), "项目资金\n（万元）", "center", "label:项目资金"),
                (1, 2, 1, "", "center", "label:funds_corner"),
                *((3 + i, 3 + i, 1, h, "center", f"label:{h}") for i, h in enumerate(heads)),
            ]
        )
    ]
    for line in form.funds:
        values = [line.initial, line.budget, line.executed, line.weight, line.rate, line.score]
        keys = ["initial", "budget", "executed", "weight", "rate", "score"]
        cells = [(1, 2, 1, line.label, "left" if line.key != "total" else "center", "label")]
        cells += [
            (3 + i, 3 + i, 1, v, "center", f"value:funds_{line.key}_{k}")
            for i, (v, k) in enumerate(zip(values, keys, strict=True))
        ]
        rows.append(TableRow(cells, breakable_before=False))
    return rows


def _goal_rows(form: SelfEvaluation) -> list[TableRow]:
    return [
        TableRow(
            [
                (0, 0, 2, "年度总体目标", "center", "label:年度总体目标"),
                (1, 4, 1, "预期目标", "center", "label:预期目标"),
                (5, LAST, 1, "实际完成情况", "center", "label:实际完成情况"),
            ]
        ),
        TableRow(
            [
                (1, 4, 1, form.goal_expected, "left", "value:goal_expected"),
                (5, LAST, 1, form.goal_actual, "left", "value:goal_actual"),
            ],
            breakable_before=False,
        ),
    ]


def _table(form: SelfEvaluation) -> list[TableRow]:
    """The column heads, one row per 三级指标 with 一级 and 二级 merged over theirs, 总分."""
    count = sum(len(b.rows) for b in form.blocks)
    heads = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"]
    rows = [
        TableRow(
            [
                (0, 0, 1 + count, "绩效指标", "center", "label:绩效指标"),
                *((1 + i, 1 + i, 1, h, "center", f"label:{h}") for i, h in enumerate(heads)),
                (LAST, LAST, 1, "偏差原因分析及改进措施", "center", "label:偏差原因分析及改进措施"),
            ],
            is_header=True,
        )
    ]
    level1_rows: dict[str, int] = {}
    for b in form.blocks:
        level1_rows[b.level1] = level1_rows.get(b.level1, 0) + len(b.rows)
    seen: set[str] = set()
    for b in form.blocks:
        start = len(rows)
        for i, row in enumerate(b.rows):
            cells = [
                (3, 3, 1, row.name, "left", "ind:name"),
                (4, 4, 1, row.target, "center", "ind:target"),
                (5, 5, 1, row.actual, "center", "ind:actual"),
                (6, 6, 1, row.weight, "center", "ind:weight"),
                (7, 7, 1, row.score, "center", "ind:score"),
                (8, 8, 1, row.deviation, "left", "ind:deviation"),
            ]
            if i == 0:
                cells.insert(0, (2, 2, len(b.rows), b.level2, "center", f"level2:{b.level2}"))
                if b.level1 not in seen:
                    seen.add(b.level1)
                    label = form.level1_label(b.level1)
                    cells.insert(0, (1, 1, level1_rows[b.level1], label, "center", "level1"))
            rows.append(TableRow(cells, block_start=start))
    rows.append(
        TableRow(
            [
                (0, 5, 1, "总分", "center", "label:总分"),
                (6, 6, 1, form.total_weight, "center", "value:total_weight"),
                (7, 7, 1, form.total_score, "center", "value:total_score"),
                (8, 8, 1, "", "center", "value:total_note"),
            ],
            breakable_before=False,
        )
    )
    return rows
