"""Template loading and anchors, checks and calibration, on small hand-made inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.calibration_fit import (
    LabelledField,
    choose_threshold,
    fit_calibration,
    fit_logistic,
    labels_version,
    upper_bound,
)
from pipeline.check import check_form, normalise_text
from pipeline.confidence import (
    FEATURES,
    NO_FORM_SIGNALS,
    UNFITTED,
    Calibration,
    GroupModel,
    condition_of,
    form_signals,
    load_calibration,
    model_names,
    score_form,
)
from pipeline.export import form_of, to_record
from pipeline.form_spec import Template, load_template
from pipeline.mapping.anchors import anchor_score
from pipeline.mapping.indicators import _split_line
from pipeline.mapping.page_types import is_first_page
from pipeline.pages import PageRead
from pipeline.readings import Evidence, FieldReading, FormReading

TEMPLATE = load_template("budget_performance_approval")
# The spec's keys of the approval form (shared/spec/record-format.md), in its order.
SCALAR_KEYS = (
    "year",
    "project_name",
    "department",
    "implementing_unit",
    "project_attribute",
    "project_period",
    "funds_total",
    "funds_fiscal",
    "funds_other",
    "overall_goal",
)
# The approval form with no 二级 blocks expected: for forms of scalars alone.
NO_BLOCKS = TEMPLATE.model_copy(
    update={"indicators": TEMPLATE.indicators.model_copy(update={"vocabulary": {}})}
)


def test_template_declares_every_spec_field() -> None:
    # The year is read from the line under the title, the rest from anchored cells.
    assert TEMPLATE.scalar_keys == list(SCALAR_KEYS)
    assert TEMPLATE.indicators.keys == ["level1", "level2", "seq", "name", "value"]
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
        ("指标12024年社区工作者工资", "1", "2024年社区工作者工资"),  # the colon worn away
        ("报和:社区工作者工作完成情况", None, "社区工作者工作完成情况"),  # the label garbled
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


def test_a_broken_sum_sends_its_fields_to_review_however_sure_they_read() -> None:
    trusting = UNFITTED.model_copy(update={"threshold": 0.0})  # no confidence is too low
    for total, flagged in (("2.5", False), ("25", True)):  # a decimal point lost
        form = _form(total, "2.5", "")
        check_form(TEMPLATE, form)
        score_form(form, TEMPLATE, trusting)
        funds = [form.fields[k] for k in ("funds_total", "funds_fiscal", "funds_other")]
        assert [f.review for f in funds] == [flagged] * 3, total


def test_a_field_whose_cell_was_not_found_is_never_taken_as_read() -> None:
    """Whatever else its evidence says, and under the fitted models of every condition."""
    calibration = load_calibration()
    variants = [
        Evidence(found=False),
        Evidence(found=False, blank=True),
        Evidence(found=False, rec_score=1.0, char_min=1.0, vocab_score=1.0),
        Evidence(column_lost=True),
        Evidence(column_lost=True, blank=True),
        Evidence(found=False, photo=True),
    ]
    for evidence in variants:
        for value in ("", "≥90%", "数量指标"):
            row = {
                key: FieldReading(value=value, raw=value, evidence=evidence.model_copy())
                for key in ("level1", "level2", "seq", "name", "value")
            }
            fields = {
                key: FieldReading(value=value, raw=value, evidence=evidence.model_copy())
                for key in SCALAR_KEYS
            }
            form = FormReading(file="f", form_type="t", fields=fields, indicators=[row])
            score_form(form, TEMPLATE, calibration)
            for key, reading in form.all_fields():
                assert reading.review, (key, value, evidence)
                assert reading.confidence <= 0.5, (key, value, evidence)
    found = FieldReading(value="", raw="", evidence=Evidence(blank=True))  # a cell, empty
    form = FormReading(file="f", form_type="t", indicators=[{"value": found}])
    score_form(form, NO_BLOCKS, calibration)
    assert found.confidence > 0.5, "a blank cell that was found is evidence of a blank"


def test_an_amount_with_a_scrap_glued_to_it_goes_to_review_however_sure_it_reads() -> None:
    trusting = UNFITTED.model_copy(update={"threshold": 0.0})
    form = _form("名286", "286", "")
    check_form(TEMPLATE, form)
    score_form(form, TEMPLATE, trusting)
    total, fiscal = form.fields["funds_total"], form.fields["funds_fiscal"]
    assert total.value == "名286" and "not a number" in total.evidence.rule_failures
    assert total.review and not fiscal.review


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


def test_the_review_threshold_holds_the_silent_rate_at_its_upper_bound() -> None:
    assert upper_bound(0, 1000, 1.645) > 0.002  # no error in 1000 is not proof of under 0.2%
    assert upper_bound(20, 10000, 1.645) > 0.002 > 20 / 10000 - 0.0001
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    ok = rng.random(20000) < p  # a calibrated score: right with probability p
    scored = [(q, right, 1.0) for q, right in zip(p.tolist(), ok.tolist(), strict=True)]
    plain = choose_threshold(scored, 0.002, 0.0)
    bounded = choose_threshold(scored, 0.002, 1.645)
    assert bounded > plain  # the bound asks for a stricter threshold than the count
    through = [(q, right) for q, right, _ in scored if q >= bounded]
    assert sum(not right for _, right in through) / len(scored) <= 0.002


def test_a_calibration_fitted_on_other_fields_of_as_many_is_versioned_apart() -> None:
    """Two fits of one day on as many fields were both `fit-DATE-19583`: records could not
    tell which scored them, and a rerun would not read them again."""

    def fields(correct: bool) -> list[LabelledField]:
        return [
            LabelledField(("default",), "whole", np.ones(len(FEATURES)), correct, (0, "d"))
            for _ in range(3)
        ]

    right, wrong = labels_version("fit", fields(True)), labels_version("fit", fields(False))
    assert right == labels_version("fit", fields(True))
    assert right != wrong
    assert right.startswith("fit-") and right.split("-")[-2] == "3"


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
    score_form(form, NO_BLOCKS, UNFITTED)  # a form of scalars alone: no blocks expected
    assert not sure.review and sure.confidence > UNFITTED.threshold
    assert doubtful.review and doubtful.confidence < UNFITTED.threshold


def test_a_value_holding_a_printed_label_is_flagged() -> None:
    form = _form("3", "3", "")
    form.fields["department"] = _reading("中宁县河川乡办事处实施单位")  # two cells run together
    form.fields["project_name"] = _reading("高龄老人培训经费")
    check_form(TEMPLATE, form)
    assert "value holds the label 实施单位" in form.fields["department"].evidence.rule_failures
    assert not form.fields["project_name"].evidence.rule_failures
    assert form.fields["department"].value == "中宁县河川乡办事处实施单位"


def test_a_row_without_a_name_is_flagged_in_every_field() -> None:
    form = _form("3", "3", "")
    values = ("效益指标", "社会效益指标", "2", "", "A")  # a speck read as a value
    stray = {k: _reading(v) for k, v in zip(INDICATOR_ROW, values, strict=True)}
    form.indicators.append(stray)
    check_form(TEMPLATE, form)
    assert all("indicator row without a name" in r.evidence.rule_failures for r in stray.values())
    named = form.indicators[0]
    assert not any(
        "indicator row without a name" in r.evidence.rule_failures for r in named.values()
    )


INDICATOR_ROW = ("level1", "level2", "seq", "name", "value")


def _page(above: list[str]) -> PageRead:
    # Only the text matters to is_first_page; no cell reads as a label here.
    return PageRead(prepared=None, grid=None, cells=[], above=above)  # type: ignore[arg-type]


def test_a_first_page_is_known_by_its_title_when_no_label_cell_reads() -> None:
    assert is_first_page(TEMPLATE, _page(["部门项目支出预算绩效批复袁", "（2024年度）"]))
    assert not is_first_page(TEMPLATE, _page(["（2024年度）"]))
    assert not is_first_page(TEMPLATE, _page([]))


def _whole_and_damaged() -> Calibration:
    """A calibration that trusts fields of whole forms and doubts those of damaged ones."""
    weights = [0.0] * len(UNFITTED.groups["default"].weights)
    return Calibration(
        version="test",
        features=UNFITTED.features,
        groups={
            "default": GroupModel(weights=[0.0, *weights[1:]]),
            "text|whole": GroupModel(weights=[6.0, *weights[1:]]),
            "text|damaged": GroupModel(weights=[-1.0, *weights[1:]]),
        },
        threshold=0.9,
    )


def test_whole_and_damaged_forms_are_scored_by_their_own_models() -> None:
    calibration = _whole_and_damaged()
    whole = FormReading(file="f", form_type="t", fields={"project_name": _reading("项目")})
    damaged = FormReading(
        file="f",
        form_type="t",
        fields={
            "project_name": _reading("项目"),
            "department": FieldReading(value="", raw="", evidence=Evidence(found=False)),
        },
    )
    score_form(whole, NO_BLOCKS, calibration)
    score_form(damaged, NO_BLOCKS, calibration)
    assert not whole.fields["project_name"].review
    assert damaged.fields["project_name"].review
    assert model_names("indicators.value", NO_FORM_SIGNALS) == (
        "indicators.value|whole",
        "whole",
        "indicators.value",
        "default",
    )


def test_a_damaged_form_has_its_own_stricter_review_threshold() -> None:
    # Both conditions score the field the same; damaged forms hold back more of it.
    calibration = _whole_and_damaged().model_copy(
        update={
            "groups": {"default": GroupModel(weights=[2.5] + [0.0] * (len(UNFITTED.features) - 1))},
            "thresholds": {"damaged": 0.95},
        }
    )
    whole = FormReading(file="f", form_type="t", fields={"project_name": _reading("项目")})
    damaged = whole.model_copy(deep=True)
    damaged.fields["department"] = FieldReading(value="", raw="", evidence=Evidence(found=False))
    score_form(whole, NO_BLOCKS, calibration)
    score_form(damaged, NO_BLOCKS, calibration)
    name, damaged_name = whole.fields["project_name"], damaged.fields["project_name"]
    assert name.confidence == damaged_name.confidence == pytest.approx(0.924, abs=1e-3)
    assert not name.review and damaged_name.review


def test_a_field_group_with_a_threshold_of_its_own_is_held_to_it() -> None:
    # Text and amounts score alike; amounts on whole forms have a laxer threshold of their own.
    calibration = _whole_and_damaged().model_copy(
        update={
            "groups": {"default": GroupModel(weights=[2.5] + [0.0] * (len(UNFITTED.features) - 1))},
            "threshold": 0.95,
            "group_thresholds": {"amount|whole": 0.9},
        }
    )
    form = FormReading(
        file="f",
        form_type="t",
        fields={"project_name": _reading("项目"), "funds_total": _reading("12.5")},
    )
    score_form(form, NO_BLOCKS, calibration)
    name, total = form.fields["project_name"], form.fields["funds_total"]
    assert name.confidence == total.confidence == pytest.approx(0.924, abs=1e-3)
    assert name.review and not total.review
    assert calibration.threshold_in("damaged", "amount") == 0.95  # another condition's


def test_thresholds_are_chosen_on_the_fields_no_score_sends_to_review() -> None:
    """A field a broken rule sends to review is never let through, however high it scores:
    counted, such fields once held every threshold at 1.0 and sent everything to review."""
    rng = np.random.default_rng(2)
    rec = FEATURES.index("rec_logit")

    def field(score: float, correct: bool, forced: bool, index: int) -> LabelledField:
        x = np.zeros(len(FEATURES))
        x[0], x[rec] = 1.0, score
        return LabelledField(
            names=("text|whole", "whole", "text", "default"),
            condition="whole",
            x=x,
            correct=correct,
            document=(0, f"d{index % 40}"),
            group="text",
            forced=forced,
        )

    scores = rng.normal(4.0, 2.0, 6000)
    fields = [
        field(float(s), bool(rng.random() < 1 / (1 + np.exp(-s))), False, i)
        for i, s in enumerate(scores)
    ]
    # Sure-looking fields a rule found wrong: each goes to review whatever it scores.
    fields += [field(9.0, False, True, i) for i in range(60)]
    fit = fit_calibration(fields, "test", "")
    counted = [replace(f, forced=False) for f in fields]
    unforced = fit_calibration(counted, "test", "")
    assert fit.calibration.threshold < unforced.calibration.threshold
    assert fit.review_load(fields) < 0.8 < 0.99 < unforced.review_load(counted)
    assert fit.silent_error(fields) <= 0.002


def test_a_form_read_from_photos_is_scored_by_photo_models_first() -> None:
    photo = _form("3", "3", "")
    for _, reading in photo.all_fields():
        reading.evidence.photo = True
    signals = form_signals(photo, NO_BLOCKS)
    assert signals.photo and condition_of(signals) == "whole-photo"
    assert model_names("text", signals) == (
        "text|whole-photo",
        "whole-photo",
        "text|whole",
        "whole",
        "text",
        "default",
    )
    assert not form_signals(_form("3", "3", ""), NO_BLOCKS).photo


def test_an_export_scored_again_gets_the_confidences_of_a_live_run() -> None:
    calibration = _whole_and_damaged()
    form = _form("3", "2", "0.5")  # a failed sum: rule features as well as plain ones
    check_form(TEMPLATE, form)
    score_form(form, TEMPLATE, calibration)
    record = to_record(form, {})
    for field in record.fields.values():
        field.confidence, field.review = 0.5, True
    again = form_of(record)
    score_form(again, TEMPLATE, calibration)
    assert {k: f.confidence for k, f in again.fields.items()} == {
        k: r.confidence for k, r in form.fields.items()
    }
    assert [f.review for f in again.fields.values()] == [r.review for r in form.fields.values()]
    assert again.fields["funds_total"].evidence == form.fields["funds_total"].evidence


def test_ticks_and_specks_at_the_ends_of_a_value_are_dropped_and_recorded() -> None:
    form = _form("3万元.", "3", "")
    form.indicators[0]["name"] = _reading("经费发放及时率√")
    form.indicators[0]["value"] = _reading("≥1.5万元")
    check_form(TEMPLATE, form)
    assert form.fields["funds_total"].value == "3"
    assert form.indicators[0]["name"].value == "经费发放及时率"
    assert (
        "stray marks dropped: '经费发放及时率√'"
        in form.indicators[0]["name"].evidence.rule_failures
    )
    assert form.indicators[0]["value"].value == "≥1.5万元"  # a point inside a value stays
    assert not form.indicators[0]["value"].evidence.rule_failures


def test_a_doubtful_scrap_under_a_seal_is_blanked_and_recorded() -> None:
    form = _form("3", "3", "C")
    form.fields["funds_other"].evidence = Evidence(seal=True, rec_score=0.19)
    form.indicators[0]["value"] = FieldReading(
        value="≥90%", raw="≥90%", evidence=Evidence(seal=True, rec_score=0.19)
    )
    form.indicators[0]["name"] = FieldReading(
        value="长期", raw="长期", evidence=Evidence(seal=False, rec_score=0.19)
    )
    check_form(TEMPLATE, form)
    assert form.fields["funds_other"].value == ""
    assert "seal remnant dropped: 'C'" in form.fields["funds_other"].evidence.rule_failures
    assert form.indicators[0]["value"].value == "≥90%"  # longer than a scrap
    assert form.indicators[0]["name"].value == "长期"  # no seal over it


def test_a_plain_sign_is_put_back_to_the_printed_one_and_recorded() -> None:
    form = _form("3", "3", "", cost_value="<1万元")
    check_form(TEMPLATE, form)
    value = form.indicators[0]["value"]
    assert value.value == "≤1万元"
    assert value.raw == "<1万元"
    assert value.evidence.rule_failures == ["sign read as '<1万元'; these forms print ≥, ≤"]
    printed = _form("3", "3", "", cost_value="≤1万元")
    check_form(TEMPLATE, printed)
    assert not printed.indicators[0]["value"].evidence.rule_failures


def test_an_empty_field_that_every_form_fills_is_flagged() -> None:
    form = _form("", "3", "")
    check_form(TEMPLATE, form)
    assert (
        "a field every form fills read empty" in form.fields["funds_total"].evidence.rule_failures
    )
    other = form.fields["funds_other"].evidence.rule_failures
    assert "a field every form fills read empty" not in other  # may be left blank


@pytest.mark.parametrize(
    ("key", "value", "flagged"),
    [
        ("department", "原州区古雁街道办事处", False),
        ("department", "泾源县财政局 325008", False),  # the code printed after the name
        ("department", "原州区古雁街", True),  # cut short
        ("implementing_unit", "永宁县应急管理局一", True),
        ("project_attribute", "一年期项目", False),
        ("project_attribute", "一年期项目1", True),
        ("project_period", "2024-2026年", False),
        ("project_period", "年", True),
        ("project_name", "年", False),  # no pattern
        (
            "overall_goal",
            "本项目主要用于辖区困难群众救助资金,主要目标是保障群众顺利渡过难关。",
            False,
        ),
        ("overall_goal", "本项目主要用于辖区困难群众救助资金,主要目标是保障群众顺利渡过难关", True),
    ],
)
def test_a_value_unlike_its_fields_pattern_is_flagged_and_kept(
    key: str, value: str, flagged: bool
) -> None:
    form = _form("3", "3", "")
    form.fields[key] = _reading(value)
    check_form(TEMPLATE, form)
    assert (f"not like a {key}" in form.fields[key].evidence.rule_failures) == flagged
    assert form.fields[key].value == normalise_text(value)


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ("≤226,51万元", "a number misread"),
        ("≤33,002万元", "a number misread"),
        ("≥95%6", "a number misread"),
        ("坡≥80%", "a stray character before the number"),
        ("≤226.51万元", None),
        ("约30万元", None),
    ],
)
def test_a_misread_number_is_flagged_and_kept(value: str, flagged: str | None) -> None:
    form = _form("1000", "1000", "", cost_value=value)
    check_form(TEMPLATE, form)
    reading = form.indicators[0]["value"]
    assert reading.evidence.rule_failures == ([flagged] if flagged else [])
    assert reading.value == value


def test_a_name_ending_like_a_value_and_a_year_not_read_are_flagged() -> None:
    form = _form("3", "3", "")
    form.indicators[0]["name"] = _reading("残疾人满意度≥80%")
    form.fields["year"] = _reading("")
    check_form(TEMPLATE, form)
    assert "name ends like a value" in form.indicators[0]["name"].evidence.rule_failures
    assert "no year read above the table" in form.fields["year"].evidence.rule_failures
    plain = _form("3", "3", "")
    plain.fields["year"] = _reading("2024")
    check_form(TEMPLATE, plain)
    assert not plain.indicators[0]["name"].evidence.rule_failures
    assert not plain.fields["year"].evidence.rule_failures


@pytest.mark.parametrize(
    ("value", "flagged"),
    [("≥958", True), ("100", True), ("≥95%", False), ("30个", False), ("高质量完成", False)],
)
def test_a_number_without_its_unit_is_flagged(value: str, flagged: bool) -> None:
    form = _form("3", "3", "", cost_value=value)
    check_form(TEMPLATE, form)
    value_reading = form.indicators[0]["value"]
    assert ("a number without its unit" in value_reading.evidence.rule_failures) == flagged


def test_a_1st_or_2nd_level_name_read_as_a_3rd_level_name_flags_the_row() -> None:
    form = _form("3", "3", "")
    form.indicators[0]["name"] = _reading("效益指标")  # the columns were taken one off
    check_form(TEMPLATE, form)
    assert all(
        "三级指标 holds a 一级 or 二级 name" in r.evidence.rule_failures
        for r in form.indicators[0].values()
    )


def _row(name: FieldReading, value: FieldReading) -> dict[str, FieldReading]:
    sure = Evidence(vocab_score=1.0)
    return {
        "level1": FieldReading(value="效益指标", raw="效益指标", evidence=sure.model_copy()),
        "level2": FieldReading(
            value="生态效益指标",
            raw="生态效益指标",
            evidence=sure.model_copy(),
        ),
        "seq": FieldReading(value="2", raw="指标2", evidence=Evidence()),
        "name": name,
        "value": value,
    }


def test_a_doubtful_name_over_a_blank_value_sends_its_whole_row_to_review() -> None:
    # A pen's stroke on an empty 指标2 line, read as a name: the row is likely not there at
    # all, and its sure 一级, 二级, number and blank would go through as a row the form lacks.
    calibration = UNFITTED.model_copy(update={"threshold": 0.0})  # each field passes alone
    doubtful = Evidence(second_reading="最综", second_disagrees=True)
    for value, whole in (("", True), ("≥90%", False)):
        name = FieldReading(value="最综合", raw="最综合", evidence=doubtful.model_copy())
        cell = FieldReading(value=value, raw=value, evidence=Evidence(blank=not value))
        form = FormReading(file="f", form_type="t", indicators=[_row(name, cell)])
        score_form(form, TEMPLATE, calibration)
        row = form.indicators[0]
        assert row["name"].review
        assert row["level2"].review is whole and row["seq"].review is whole, value
    sure_name = FieldReading(value="无", raw="无", evidence=Evidence())
    blank = FieldReading(value="", raw="", evidence=Evidence(blank=True))
    form = FormReading(file="f", form_type="t", indicators=[_row(sure_name, blank)])
    score_form(form, TEMPLATE, calibration)
    assert not any(reading.review for reading in form.indicators[0].values())


def test_a_field_every_form_fills_read_empty_goes_to_review_however_sure_the_blank() -> None:
    # The project name's text ran out of its cell: the empty cell is found and surely blank.
    trusting = UNFITTED.model_copy(update={"threshold": 0.0})
    form = _form("3", "3", "")
    blank = Evidence(blank=True, lines=0)
    form.fields["project_name"] = FieldReading(value="", raw="", evidence=blank.model_copy())
    form.fields["year"] = FieldReading(value="", raw="", evidence=Evidence(found=True))
    check_form(TEMPLATE, form)
    score_form(form, TEMPLATE, trusting)
    assert form.fields["project_name"].review
    assert form.fields["year"].review
    assert not form.fields["funds_other"].review, "an empty 其他资金 is a common, right blank"
