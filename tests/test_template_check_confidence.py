"""Template loading and anchors, checks and calibration, on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.check import check_form, normalise_text
from pipeline.confidence import UNFITTED, fit_logistic, score_form
from pipeline.readings import Evidence, FieldReading, FormReading
from pipeline.records import SCALAR_KEYS
from pipeline.template import Template, _split_line, anchor_score, load_template

TEMPLATE = load_template("budget_performance_approval")


def test_template_declares_every_spec_field() -> None:
    # The year is read from the line under the title, the rest from anchored cells.
    assert ["year", *(f.key for f in TEMPLATE.fields)] == list(SCALAR_KEYS)
    assert TEMPLATE.level1_of["服务对象满意度指标"] == "满意度指标"


def test_broken_template_fails_at_load() -> None:
    data = TEMPLATE.model_dump()
    data["fields"][0]["kind"] = "picture"
    with pytest.raises(ValidationError):
        Template.model_validate(data)
    data = TEMPLATE.model_dump()
    data["surprise"] = 1
    with pytest.raises(ValidationError):
        Template.model_validate(data)
    with pytest.raises(FileNotFoundError, match="known: budget_performance_approval"):
        load_template("no_such_form")


@pytest.mark.parametrize(
    ("text", "anchor", "matches"),
    [
        ("项目名称", "项目名称", True),
        ("项目名林", "项目名称", True),  # an OCR slip in the label
        ("项目名称：", "项目名称", True),
        ("其中:财政拨款", "其中：财政拨款", True),
        ("绩效措标", "绩效指标", True),
        ("项目期", "项目属性", False),
        ("2024年项目名称相关的经费开支情况说明", "项目名称", False),  # a value that mentions it
        ("", "项目名称", False),
    ],
)
def test_anchor_matching_is_fuzzy_but_not_loose(text: str, anchor: str, matches: bool) -> None:
    assert (anchor_score(text, anchor) >= 75) == matches


@pytest.mark.parametrize(
    ("text", "seq", "name"),
    [
        ("指标1:社区工作者工资", "1", "社区工作者工资"),
        ("指标2：", "2", ""),
        ("指杯3: 无", "3", "无"),
        ("指标12:培训人次", "12", "培训人次"),
        (".....", None, ""),
        ("", None, ""),
    ],
)
def test_indicator_lines_split_into_number_and_name(text: str, seq: str | None, name: str) -> None:
    assert _split_line(text, "指标") == (seq, name)


def _reading(value: str) -> FieldReading:
    return FieldReading(value=value, raw=value)


def _form(total: str, fiscal: str, other: str, cost_value: str = "≤1万元") -> FormReading:
    row = {
        "level1": _reading("产出指标"),
        "level2": _reading("成本指标"),
        "seq": _reading("1"),
        "name": _reading("经费"),
        "value": _reading(cost_value),
    }
    return FormReading(
        file="f.pdf",
        form_type="budget_performance_approval",
        fields={
            "funds_total": _reading(total),
            "funds_fiscal": _reading(fiscal),
            "funds_other": _reading(other),
        },
        indicators=[row],
    )


def test_amounts_lose_their_unit_and_full_width_digits() -> None:
    form = _form("１.２５４万元", "1.254 万元", "")
    check_form(TEMPLATE, form)
    assert [form.fields[k].value for k in ("funds_total", "funds_fiscal", "funds_other")] == [
        "1.254",
        "1.254",
        "",
    ]
    assert not any(form.fields[k].evidence.rule_failures for k in form.fields)


def test_a_failed_sum_flags_every_part_and_changes_nothing() -> None:
    form = _form("3", "2", "0.5")
    check_form(TEMPLATE, form)
    assert [form.fields[k].value for k in ("funds_total", "funds_fiscal", "funds_other")] == [
        "3",
        "2",
        "0.5",
    ]
    assert all(form.fields[k].evidence.rule_failures for k in form.fields)


def test_cost_above_total_is_flagged() -> None:
    form = _form("3", "3", "", cost_value="≤30万元")
    check_form(TEMPLATE, form)
    assert form.indicators[0]["value"].evidence.rule_failures == ["成本指标 above funds_total"]
    assert form.indicators[0]["value"].value == "≤30万元"


def test_normalise_text_is_the_specs_comparison_form() -> None:
    assert normalise_text(" ≧９０％ ") == "≥90%"
    assert normalise_text("（含网格员）") == "(含网格员)"


def test_logistic_fit_recovers_a_known_model() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(4000), rng.normal(size=4000), rng.normal(size=4000)])
    true_w = np.array([1.0, 2.0, -1.5])
    y = (rng.random(4000) < 1 / (1 + np.exp(-x @ true_w))).astype(float)
    w = fit_logistic(x, y, l2=0.0)
    assert np.allclose(w, true_w, atol=0.2)


def test_scoring_sends_doubtful_fields_to_review() -> None:
    sure = FieldReading(value="项目", raw="项目", evidence=Evidence(rec_score=0.999, char_min=0.99))
    doubtful = FieldReading(
        value="项日",
        raw="项日",
        evidence=Evidence(rec_score=0.6, char_min=0.3, rule_failures=["x"]),
    )
    form = FormReading(
        file="f", form_type="t", fields={"project_name": sure, "department": doubtful}
    )
    score_form(form, (), UNFITTED)  # a form of scalars alone: no blocks expected
    assert not sure.review and sure.confidence > UNFITTED.threshold
    assert doubtful.review and doubtful.confidence < UNFITTED.threshold
