"""Scoring rules of shared/spec/record-format.md, on hand-made cases worked out by hand.

The base truth form has 5 scalar fields and 1 indicator row (5 fields): 10 truth fields.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.evaluate import (
    EvalReport,
    calibration_error,
    evaluate,
    load_gold_set,
    normalize_text,
    output_truths,
    values_match,
)
from pipeline.form_spec import is_numeric
from pipeline.readings import key_of_path
from pipeline.records import ExportRecord, FieldResult, GoldRecord, Source

REPO = Path(__file__).resolve().parents[1]
GOLD_AS_EXPORT = REPO / "scripts" / "gold_as_export.py"
SEED_GOLD = REPO / "scripts" / "synth" / "data" / "seed-forms-2024.gold.jsonl"
FORMSCAN = Path(sys.executable).parent / "formscan"

ROW_COUNT = {
    "level1": "产出指标",
    "level2": "数量指标",
    "seq": "1",
    "name": "参保人数",
    "value": "57人",
}
ROW_QUALITY = {
    "level1": "产出指标",
    "level2": "质量指标",
    "seq": "1",
    "name": "标准",
    "value": "≥90%",
}
FIELDS = {
    "year": "2024",
    "project_name": "社区工作者（含网格员）",
    "funds_total": "1.40",
    "funds_other": "",
    "overall_goal": "保障社区工作正常运行",
}


def gold_form(
    fields: dict[str, str] | None = None, rows: list[dict[str, str]] | None = None
) -> GoldRecord:
    return GoldRecord(
        fields=FIELDS if fields is None else fields,
        indicators=[dict(row) for row in ([ROW_COUNT] if rows is None else rows)],
    )


def read_as(value: str, confidence: float = 1.0, review: bool = False) -> FieldResult:
    return FieldResult(value=value, confidence=confidence, review=review)


def perfect(truth: GoldRecord, file: str = "a.pdf", pages: list[int] | None = None) -> ExportRecord:
    """The export of a perfect, certain reading of `truth`; tests then spoil single fields."""
    return ExportRecord(
        source=Source(file=file, pages=pages or []),
        fields={key: read_as(value) for key, value in truth.fields.items()},
        indicators=[
            {key: read_as(value) for key, value in row.items()} for row in truth.indicators
        ],
    )


def wrong_keys(report: EvalReport) -> list[tuple[int, str, int | None]]:
    return [(w.form_index, w.key, w.row) for w in report.wrong_fields]


# --- value comparison -------------------------------------------------------------------


def test_normalize_text_folds_width_whitespace_and_inequality_signs() -> None:
    # NFKC: （）→(), ％→%, full-width digits → ASCII; every whitespace goes; ≧ → ≥, ≦ → ≤.
    assert normalize_text(" 社区 工作者（含\t网格员）\n") == "社区工作者(含网格员)"
    assert normalize_text("≧ ９０％") == "≥90%"
    assert normalize_text("≦1.254万元") == "≤1.254万元"


def test_values_match_numeric_fields_as_numbers_other_fields_as_text() -> None:
    assert values_match("1.40", "1.4", numeric=True)  # same number
    assert values_match("286", "286.0", numeric=True)  # same number
    assert values_match("1.254", "１.２５４", numeric=True)  # NFKC first, then a number
    assert not values_match("", "0", numeric=True)  # "" equals only ""
    assert values_match("", " ", numeric=True)  # whitespace is removed: "" == ""
    assert not values_match("约1.4", "约1.40", numeric=True)  # not numbers: text differs
    assert values_match("NaN", "NaN", numeric=True)  # NaN is no amount: text, equal
    assert not values_match("1.40", "1.4")  # not a numeric field: text
    assert values_match("≥90%", "≧ 90％")
    # A rate keeps its %, which both sides must have.
    assert values_match("99.970%", "99.97%", numeric=True)
    assert not values_match("99.97", "99.97%", numeric=True)


def test_which_fields_are_numeric_comes_from_each_form_type() -> None:
    approval, evaluation = "budget_performance_approval", "performance_self_evaluation"
    assert is_numeric(approval, "funds_total") and not is_numeric(approval, "project_name")
    assert not is_numeric(approval, "indicators.value")  # a 指标值 is text as printed
    assert is_numeric(evaluation, "funds_rate") and is_numeric(evaluation, "total_score")
    assert is_numeric(evaluation, "indicators.weight") and is_numeric(
        evaluation, "indicators.score"
    )
    assert not is_numeric(evaluation, "indicators.target")
    assert not is_numeric("no_such_form", "funds_total")


# --- whole forms ------------------------------------------------------------------------


def test_exact_match_scores_perfectly() -> None:
    truth = gold_form()
    report = evaluate({"a": [truth]}, [perfect(truth)])
    assert report.field_accuracy == 1.0  # 10 of 10 truth fields
    assert report.silent_error_rate == 0.0  # 0 of 10 output fields
    assert report.review_load == 0.0  # 0 of 10 output fields
    assert report.calibration_error == 0.0  # bin 9: accuracy 1, confidence 1
    assert report.straight_through_rate == 1.0  # 1 of 1 form
    assert report.counts.truth_fields == 10 and report.counts.output_fields == 10
    assert report.wrong_fields == []
    assert set(report.per_field.values()) == {1.0}
    assert list(report.per_field)[:2] == ["year", "project_name"]  # spec order
    assert len(report.per_field) == 10  # 5 scalar keys + 5 indicator keys


def test_decimal_fields_compare_as_numbers() -> None:
    truth = gold_form()
    output = perfect(truth)
    output.fields["funds_total"] = read_as("1.4")  # "1.40" == "1.4": correct
    output.fields["funds_other"] = read_as("0")  # "" != "0": wrong, not reviewed
    report = evaluate({"a": [truth]}, [output])
    assert report.field_accuracy == pytest.approx(9 / 10)  # only funds_other wrong
    assert report.silent_error_rate == pytest.approx(1 / 10)  # 1 wrong unreviewed of 10
    assert report.per_field["funds_total"] == 1.0
    assert report.per_field["funds_other"] == 0.0
    assert wrong_keys(report) == [(0, "funds_other", None)]


def test_text_normalisation_nfkc_whitespace_and_signs() -> None:
    truth = gold_form(rows=[ROW_QUALITY])
    output = perfect(truth)
    output.fields["project_name"] = read_as("社区 工作者(含网格员)")  # ASCII parens, a space
    output.fields["overall_goal"] = read_as("保障社区\n工作正常运行")  # a wrapped cell
    output.indicators[0]["value"] = read_as("≧ ９０％")  # ≧, full-width digits and %
    output.indicators[0]["level2"] = read_as("质量 指标")  # pairs on the normalised key
    report = evaluate({"a": [truth]}, [output])
    assert report.field_accuracy == 1.0  # all 10 equal after normalising
    assert report.silent_error_rate == 0.0


def test_wrong_field_is_silent_only_when_not_sent_to_review() -> None:
    truth = gold_form()
    reviewed, unreviewed = perfect(truth, "a.pdf"), perfect(truth, "b.pdf")
    reviewed.fields["project_name"] = read_as("社区工作者", confidence=0.4, review=True)
    unreviewed.fields["project_name"] = read_as("社区工作者", confidence=0.4, review=False)
    report = evaluate({"a": [truth], "b": [truth]}, [reviewed, unreviewed])
    assert report.field_accuracy == pytest.approx(18 / 20)  # one wrong in each form
    assert report.review_load == pytest.approx(1 / 20)  # a's project_name
    assert report.silent_error_rate == pytest.approx(1 / 20)  # b's project_name only
    assert report.counts.wrong_silent_fields == 1
    assert report.straight_through_rate == 0.0  # both forms have a wrong field
    # Bin 4 holds the 2 wrong fields at 0.4: 2/20 * |0 - 0.4|; bin 9 is exact.
    assert report.calibration_error == pytest.approx(0.04)
    assert [(w.file, w.review) for w in report.wrong_fields] == [("a", True), ("b", False)]


def test_missing_form_counts_all_its_fields_wrong() -> None:
    first, second = gold_form(), gold_form(fields={**FIELDS, "year": "2025"})
    report = evaluate({"a": [first, second]}, [perfect(first)])
    assert report.field_accuracy == pytest.approx(10 / 20)  # second form's 10 fields lost
    assert report.straight_through_rate == pytest.approx(1 / 2)  # first form only
    assert report.silent_error_rate == 0.0  # nothing output was wrong
    assert report.counts.missing_forms == 1 and report.counts.output_fields == 10
    assert {(w.form_index, w.got) for w in report.wrong_fields} == {(1, None)}
    assert len(report.wrong_fields) == 10


def test_extra_forms_are_false_records() -> None:
    truth = gold_form()
    export = [perfect(truth), perfect(truth), perfect(truth, "b.pdf")]  # 2nd a, and b: extra
    report = evaluate({"a": [truth]}, export)
    assert report.field_accuracy == 1.0  # the one truth form is read right
    assert report.silent_error_rate == pytest.approx(20 / 30)  # 2 false forms x 10 fields
    assert report.straight_through_rate == 1.0  # per truth form: 1 of 1
    # All 30 at confidence 1.0 in bin 9, 10 correct: |10/30 - 1| = 2/3.
    assert report.calibration_error == pytest.approx(2 / 3)
    assert report.counts.extra_forms == 2 and report.counts.output_files_without_truth == 1
    assert {(w.file, w.form_index, w.expected) for w in report.wrong_fields} == {
        ("a", 1, None),
        ("b", 0, None),
    }


def test_missing_indicator_row_counts_five_wrong_fields() -> None:
    truth = gold_form(rows=[ROW_COUNT, ROW_QUALITY])  # 5 + 10 = 15 truth fields
    output = perfect(truth)
    del output.indicators[1]
    report = evaluate({"a": [truth]}, [output])
    assert report.field_accuracy == pytest.approx(10 / 15)  # ROW_QUALITY's 5 fields lost
    assert report.per_field["indicators.name"] == pytest.approx(1 / 2)  # 1 of 2 rows
    assert report.per_field["year"] == 1.0
    assert report.silent_error_rate == 0.0  # the 10 output fields are all right
    assert wrong_keys(report) == [(0, f"indicators.{k}", 1) for k in ROW_COUNT]


def test_extra_indicator_row_is_an_error_and_stops_straight_through() -> None:
    truth = gold_form()  # 10 truth fields
    output = perfect(truth)
    output.indicators.append({key: read_as(value) for key, value in ROW_QUALITY.items()})
    report = evaluate({"a": [truth]}, [output])
    assert report.field_accuracy == 1.0  # 10 of 10 truth fields right
    assert report.silent_error_rate == pytest.approx(5 / 15)  # 5 false of 15 output fields
    assert report.straight_through_rate == 0.0  # an extra row is an error
    assert {(w.row, w.expected) for w in report.wrong_fields} == {(1, None)}


def test_duplicate_row_keys_pair_in_order() -> None:
    first = {**ROW_COUNT, "name": "甲"}
    second = {**ROW_COUNT, "name": "乙"}  # same (level2, seq) as first
    truth = gold_form(rows=[first, second])  # 15 truth fields
    in_order = perfect(truth)
    swapped = perfect(truth)
    swapped.indicators.reverse()
    assert evaluate({"a": [truth]}, [in_order]).field_accuracy == 1.0
    report = evaluate({"a": [truth]}, [swapped])
    # Output row 0 (乙) pairs with truth row 0 (甲) and the other way round: 2 names wrong.
    assert report.field_accuracy == pytest.approx(13 / 15)
    assert wrong_keys(report) == [(0, "indicators.name", 0), (0, "indicators.name", 1)]


def test_missing_and_unknown_scalar_keys() -> None:
    truth = gold_form()
    output = perfect(truth)
    del output.fields["overall_goal"]  # truth side: wrong
    output.fields["remarks"] = read_as("无")  # output side: wrong, not in truth
    report = evaluate({"a": [truth]}, [output])
    assert report.field_accuracy == pytest.approx(9 / 10)
    assert report.silent_error_rate == pytest.approx(1 / 10)  # remarks, of 10 output fields
    assert report.per_field["overall_goal"] == 0.0
    assert "remarks" not in report.per_field
    assert report.straight_through_rate == 0.0


def test_straight_through_needs_no_review_even_when_correct() -> None:
    truth = gold_form()
    sent_to_review, clean = perfect(truth), perfect(truth)
    sent_to_review.fields["year"] = read_as("2024", confidence=0.5, review=True)  # right value
    report = evaluate({"a": [truth, truth]}, [sent_to_review, clean])
    assert report.field_accuracy == 1.0  # 20 of 20
    assert report.straight_through_rate == pytest.approx(1 / 2)  # the clean form only
    assert report.review_load == pytest.approx(1 / 20)
    assert report.silent_error_rate == 0.0
    # Bin 5 holds one right field at 0.5: 1/20 * |1 - 0.5| = 0.025; bin 9 is exact.
    assert report.calibration_error == pytest.approx(0.025)


def test_forms_of_a_file_follow_their_first_page() -> None:
    first, second = gold_form(), gold_form(fields={**FIELDS, "year": "2025"})
    late, early = perfect(second, pages=[3, 4]), perfect(first, pages=[1, 2])
    assert evaluate({"a": [first, second]}, [late, early]).field_accuracy == 1.0
    unpaged = [perfect(second), perfect(first)]  # no pages: export order, both years wrong
    assert evaluate({"a": [first, second]}, unpaged).field_accuracy == pytest.approx(18 / 20)


# --- calibration and empty sets ---------------------------------------------------------


def test_calibration_error_by_hand() -> None:
    pairs = [(0.95, True), (0.95, False), (0.35, True), (0.25, False)]
    # bin 9: 2/4 * |1/2 - 0.95| = 0.225; bin 3: 1/4 * |1 - 0.35| = 0.1625;
    # bin 2: 1/4 * |0 - 0.25| = 0.0625; sum 0.45.
    assert calibration_error(pairs) == pytest.approx(0.45)
    # 1.0 shares the last bin with 0.9: 1 * |1/2 - 0.95| = 0.45 (0.55 if it had its own).
    assert calibration_error([(1.0, False), (0.9, True)]) == pytest.approx(0.45)
    # 0.1 opens bin 1, with 0.15: |1/2 - 0.125| = 0.375 (0.525 if 0.1 sat in bin 0).
    assert calibration_error([(0.1, True), (0.15, False)]) == pytest.approx(0.375)
    assert calibration_error([]) == 0.0


def test_calibration_error_end_to_end() -> None:
    truth = gold_form(
        fields={"year": "2024", "project_name": "甲", "department": "乙", "project_period": "1年"},
        rows=[],
    )
    output = perfect(truth)
    output.fields["year"] = read_as("2024", confidence=0.95)  # right
    output.fields["project_name"] = read_as("丙", confidence=0.95)  # wrong
    output.fields["department"] = read_as("乙", confidence=0.35)  # right
    output.fields["project_period"] = read_as("2年", confidence=0.25)  # wrong
    report = evaluate({"a": [truth]}, [output])
    assert report.calibration_error == pytest.approx(0.45)  # as computed above
    assert report.field_accuracy == pytest.approx(2 / 4)


def test_empty_denominators() -> None:
    empty = evaluate({}, [])
    assert empty.field_accuracy == 1.0  # nothing to read, nothing read
    assert (empty.straight_through_rate, empty.review_load, empty.silent_error_rate) == (0, 0, 0)
    assert empty.calibration_error == 0.0
    only_false = evaluate({}, [perfect(gold_form())])
    assert only_false.field_accuracy == 0.0  # no truth fields, 10 false output fields
    assert only_false.silent_error_rate == 1.0


def test_gold_set_pairs_by_relative_path_without_extension(tmp_path: Path) -> None:
    truth = gold_form()
    (tmp_path / "batch7").mkdir()
    (tmp_path / "batch7" / "x.gold.jsonl").write_text(truth.model_dump_json() + "\n", "utf-8")
    gold = load_gold_set(tmp_path)
    assert list(gold) == ["batch7/x"]
    assert evaluate(gold, [perfect(truth, "batch7/x.tif")]).field_accuracy == 1.0
    assert evaluate(gold, [perfect(truth, "x.tif")]).counts.missing_forms == 1  # wrong folder


# --- the seven seed forms through the script and the command line ---------------------


def seed_set(tmp_path: Path) -> Path:
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    shutil.copy(SEED_GOLD, gold_dir / "seed.gold.jsonl")
    (gold_dir / "seed.pdf").write_bytes(b"%PDF-1.4 placeholder\n")
    return gold_dir


def gold_as_export(gold_dir: Path, out: Path) -> list[dict[str, Any]]:
    subprocess.run([sys.executable, str(GOLD_AS_EXPORT), str(gold_dir), "-o", str(out)], check=True)
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def formscan_eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FORMSCAN), "eval", *args], capture_output=True, text=True, encoding="utf-8"
    )


def test_seed_truth_scored_against_itself(tmp_path: Path) -> None:
    gold_dir = seed_set(tmp_path)
    records = gold_as_export(gold_dir, tmp_path / "export.jsonl")
    assert len(records) == 7
    assert {r["source"]["file"] for r in records} == {"seed.pdf"}
    result = formscan_eval(
        "--gold", str(gold_dir), "--pred", str(tmp_path / "export.jsonl"), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["field_accuracy"] == 1.0
    assert report["silent_error_rate"] == 0.0
    assert report["calibration_error"] == 0.0
    assert report["review_load"] == 0.0
    assert report["straight_through_rate"] == 1.0
    assert report["counts"]["truth_fields"] == 385  # 7 forms x (10 scalars + 9 rows x 5)
    assert set(report["per_field"].values()) == {1.0}


def test_seed_truth_perturbed_gives_predicted_scores(tmp_path: Path) -> None:
    gold_dir = seed_set(tmp_path)
    records = gold_as_export(gold_dir, tmp_path / "export.jsonl")
    records[0]["fields"]["funds_total"]["value"] = "286.0"  # same number
    records[0]["fields"]["project_name"]["value"] = "X"  # wrong, silent
    records[1]["indicators"][0]["name"].update(value="X", review=True)
    del records[2]["indicators"][8]  # 5 truth fields lost
    records[3]["fields"]["overall_goal"]["value"] += " \n"  # whitespace
    pred = tmp_path / "perturbed.jsonl"
    pred.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    result = formscan_eval("--gold", str(gold_dir), "--pred", str(pred), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Wrong truth fields: project_name, one indicator name, 5 of a dropped row = 7 of 385.
    assert report["field_accuracy"] == pytest.approx(378 / 385)
    # Output fields 385 - 5 = 380; 2 of them wrong, 1 of those unreviewed, 1 reviewed.
    assert report["silent_error_rate"] == pytest.approx(1 / 380)
    assert report["review_load"] == pytest.approx(1 / 380)
    # All at confidence 1.0 in bin 9: |378/380 - 1| = 2/380.
    assert report["calibration_error"] == pytest.approx(2 / 380)
    assert report["straight_through_rate"] == pytest.approx(4 / 7)  # forms 0, 1, 2 spoilt
    assert report["per_field"]["project_name"] == pytest.approx(6 / 7)
    assert report["per_field"]["indicators.name"] == pytest.approx(61 / 63)  # 63 rows
    assert report["per_field"]["funds_total"] == 1.0
    assert report["counts"]["wrong_silent_fields"] == 1


def test_eval_table_output(tmp_path: Path) -> None:
    gold_dir = seed_set(tmp_path)
    gold_as_export(gold_dir, tmp_path / "export.jsonl")
    result = formscan_eval("--gold", str(gold_dir), "--pred", str(tmp_path / "export.jsonl"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["field", "accuracy", "1.0000"]
    assert "  indicators.value" in result.stdout


def test_eval_bad_inputs_exit_2_naming_the_file(tmp_path: Path) -> None:
    gold_dir = seed_set(tmp_path)
    missing_gold = formscan_eval("--gold", str(tmp_path / "nope"), "--pred", str(SEED_GOLD))
    assert missing_gold.returncode == 2
    assert str(tmp_path / "nope") in missing_gold.stderr
    missing_pred = tmp_path / "missing.jsonl"
    no_pred = formscan_eval("--gold", str(gold_dir), "--pred", str(missing_pred))
    assert no_pred.returncode == 2 and str(missing_pred) in no_pred.stderr
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n", "utf-8")
    bad_pred = formscan_eval("--gold", str(gold_dir), "--pred", str(garbage))
    assert bad_pred.returncode == 2 and str(garbage) in bad_pred.stderr


def test_each_output_field_gets_the_truth_value_it_is_scored_against() -> None:
    truth = gold_form(rows=[ROW_COUNT, ROW_QUALITY])
    output = perfect(truth, pages=[1])
    output.fields["project_name"] = read_as("社区工作者")
    # The rows come out in the other order, and a phantom row of specks after them.
    output.indicators = [output.indicators[1], output.indicators[0], {"name": read_as("::")}]
    found = {(f.path, f.expected) for f in output_truths({"a": [truth]}, [output])}
    assert ("fields.project_name", "社区工作者（含网格员）") in found
    assert ("indicators.0.name", "标准") in found and ("indicators.1.value", "57人") in found
    assert ("indicators.2.name", None) in found  # nothing in the truth stands for it
    assert len(found) == 5 + 5 + 5 + 1
    wrong = sum(
        f.expected is None
        or not values_match(
            f.expected, f.got.value, is_numeric("budget_performance_approval", key_of_path(f.path))
        )
        for f in output_truths({"a": [truth]}, [output])
    )
    assert wrong == evaluate({"a": [truth]}, [output]).counts.wrong_silent_fields == 2
