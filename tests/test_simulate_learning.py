"""Learning from reviewers end to end with the real models: batch A read and every task
answered from the truth, `formscan calibrate --apply`, batch B read into the same store with
the learnt lexicon and the refitted calibration (scripts/simulate_learning.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import read_export
from pipeline.store import Store, store_url

REPO = Path(__file__).resolve().parents[1]
SEEDS = ("4343", "4444")  # never fitted or tuned on
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def learning(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    work = tmp_path_factory.mktemp("learning") / "work"
    done = subprocess.run(
        [
            sys.executable,
            REPO / "scripts" / "simulate_learning.py",
            "--work",
            work,
            "--seed-a",
            SEEDS[0],
            "--seed-b",
            SEEDS[1],
            "--docs",
            "1",
            "--levels",
            "heavy",
            "--audit-rate",
            "0.5",
            # A batch this small cannot show a silent error rate under the shipped target:
            # its labelled fields weigh as about 200.
            "--target-silent",
            "0.03",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((work / "learning.json").read_text(encoding="utf-8"))
    return work, result, done.stdout


def test_the_figures_are_printed_before_and_after(
    learning: tuple[Path, dict[str, Any], str],
) -> None:
    _, result, printed = learning
    assert "batch B before learning: accuracy" in printed
    assert "batch B after  learning: accuracy" in printed
    assert "batch A silent error: true" in printed and "audit estimate" in printed
    for name in ("batch_b_before", "batch_b_after"):
        figures = result[name]
        assert 0 < figures["accuracy"] <= 1 and 0 <= figures["silent_error_rate"] < 1
        assert figures["fields"] > 0
    found, true = result["batch_a"]["estimate"], result["batch_a"]["silent_error_rate"]
    assert 0 <= true < 1
    assert found["audited"] == result["batch_a"]["audits_answered"] > 0
    assert found["low"] <= found["rate"] <= found["high"]


def test_the_lexicon_learnt_from_the_answers_and_batch_b_was_read_with_it(
    learning: tuple[Path, dict[str, Any], str],
) -> None:
    work, result, _ = learning
    assert result["lexicon_values_learnt"] > 0
    before, after = result["batch_b_before"], result["batch_b_after"]
    assert before["lexicons"] == ["empty"] and before["lexicon_changed"] == 0
    [version] = after["lexicons"]
    assert version.startswith(f"{result['lexicon_values_learnt']} values ")
    store = Store.open(store_url(work / "store", None))
    try:
        entries = store.lexicon_entries()
    finally:
        store.close()
    assert {e.source for e in entries} == {"review"}
    assert {e.key for e in entries} <= {
        "project_name",
        "department",
        "implementing_unit",
        "indicators.name",
    }
    # Whatever the lexicon offered went to review: no calibration has weighed its offers yet.
    assert after["lexicon_changed_wrong_silent"] == 0
    offered = [
        f
        for r in read_export(work / "store" / "records.jsonl")
        if r.source.file.startswith("b/")
        for f in [*r.fields.values(), *(v for row in r.indicators for v in row.values())]
        if ((f.model_extra or {}).get("evidence") or {}).get("lexicon")
    ]
    assert len(offered) == after["lexicon_changed"]
    assert all(f.review for f in offered)
    # The run's own summary counts them, and that they went to review.
    said = after["run_summary"]
    assert (said["lexicon_changed"], said["lexicon_review"]) == (len(offered), len(offered))
    for field in offered:
        change = (field.model_extra or {})["evidence"]["lexicon"]
        assert change["offered"] == field.value != change["read"]  # the reading is kept


def test_calibrate_wrote_a_calibration_that_batch_b_was_scored_with_and_records_name(
    learning: tuple[Path, dict[str, Any], str],
) -> None:
    work, result, _ = learning
    assert result["calibrate"]["exit"] == 0, result["calibrate"]["said"]
    applied = work / "store" / "calibration" / "budget_performance_approval.json"
    version = json.loads(applied.read_text(encoding="utf-8"))["version"]
    assert version.startswith("store-")
    assert "review load:" in result["calibrate"]["said"]
    # Batch A's records keep the calibration that scored them; batch B's name the new one.
    named = {
        r.source.file.split("/")[0]: (r.model_extra or {})["versions"]["calibration"]
        for r in read_export(work / "store" / "records.jsonl")
        if r.form_type == "budget_performance_approval"
    }
    assert f"budget_performance_approval: {version}" in named["b"]
    assert "store-" not in named["a"]
    assert any(version in c for c in result["batch_b_after"]["calibrations"])
    assert not any(version in c for c in result["batch_b_before"]["calibrations"])
    # Batch A was read with an empty lexicon: no offer to weigh, so none is weighed.
    applied = result["calibration_applied"]["budget_performance_approval"]
    assert result["offers_answered"] == 0 and result["batch_a"]["lexicon_changed"] == 0
    assert (applied["version"], applied["weighs_offers"]) == (version, False)
