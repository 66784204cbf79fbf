"""Audit sampling end to end with the real models: generated scans with truth, read with a
high audit rate, every task answered from the truth through the store's review API."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.audit import draw
from pipeline.records import ExportRecord, FieldResult, read_export
from pipeline.store import Store, store_url

REPO = Path(__file__).resolve().parents[1]
FORMSCAN = Path(sys.executable).parent / "formscan"
SEED = 4242  # never fitted or tuned on
RATE = 0.2
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    work = tmp_path_factory.mktemp("audit") / "work"
    done = subprocess.run(
        [
            sys.executable,
            REPO / "scripts" / "simulate_audit.py",
            "--work",
            work,
            "--seed",
            str(SEED),
            "--docs",
            "2",
            "--audit-rate",
            str(RATE),
            # A lower review threshold than the fitted one leaves errors silent for the audits
            # to find, in a corpus small enough for a test.
            "--review-below",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert "true silent error rate (formscan eval):" in done.stdout
    assert "audit estimate:" in done.stdout
    return work, json.loads((work / "simulation.json").read_text(encoding="utf-8"))


def test_audit_tasks_are_as_many_as_the_rate_says(
    simulation: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    work, result = simulation
    straight = result["true"]["straight_through"]
    audits = [a for a in result["answered"] if a["audit"]]
    # Each straight-through field is drawn with chance RATE: binomial, within 4 sd.
    expected, sd = straight * RATE, math.sqrt(straight * RATE * (1 - RATE))
    assert abs(len(audits) - expected) <= 4 * sd, (len(audits), expected)
    summary = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["audit"] == len(audits)
    audited = [(a["file"], a["form"], a["path"]) for a in audits]
    # The export says what routing said: straight through, before and after the answers.
    before = _leaves(read_export(work / "out" / "records.jsonl"))
    assert all(not before[a].review and before[a].reviewed_by is None for a in audited)
    exported = subprocess.run(
        [FORMSCAN, "export", "--out", work / "out", "-o", tmp_path / "after.jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    after = _leaves(read_export(tmp_path / "after.jsonl"))
    assert all(not after[a].review and after[a].reviewed_by is not None for a in audited)


def _leaves(records: list[ExportRecord]) -> dict[tuple[str, int, str], FieldResult]:
    """Every field of an export by (file, form order in the file, path)."""
    found: dict[tuple[str, int, str], FieldResult] = {}
    seqs: dict[str, int] = {}
    for r in records:
        seq = seqs[r.source.file] = seqs.get(r.source.file, -1) + 1
        found |= {(r.source.file, seq, f"fields.{k}"): f for k, f in r.fields.items()}
        for n, row in enumerate(r.indicators):
            found |= {(r.source.file, seq, f"indicators.{n}.{k}"): f for k, f in row.items()}
    return found


def test_the_sample_is_the_documents_own_and_a_rerun_draws_it_again(
    simulation: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    work, result = simulation
    store = Store.open(store_url(work / "out", None))
    try:
        should = set()
        for stored in store.current_forms():
            fields = [(f"fields.{k}", r) for k, r in stored.form.fields.items()]
            fields += [
                (f"indicators.{n}.{k}", r)
                for n, row in enumerate(stored.form.indicators)
                for k, r in row.items()
            ]
            should |= {
                (stored.document.name, stored.seq, path)
                for path, reading in fields
                if not reading.review and draw(stored.document.sha256, stored.seq, path) < RATE
            }
        assert store.review_queue() == []  # every task answered
    finally:
        store.close()
    # The audit tasks are exactly the straight-through fields whose fixed draw is under the rate.
    audits = {(a["file"], a["form"], a["path"]) for a in result["answered"] if a["audit"]}
    assert audits == should
    # One document read again, alone, into a new store: the same fields drawn.
    name = "heavy/heavy-0000"
    again = tmp_path / "scans"
    (again / "heavy").mkdir(parents=True)
    for path in (work / "corpus" / "heavy").glob("heavy-0000.*"):
        shutil.copy(path, again / "heavy" / path.name)
    out = tmp_path / "out"
    done = subprocess.run(
        [FORMSCAN, "run", again, "--out", out, "--workers", "1", "--audit-rate", str(RATE)]
        + ["--review-below", "0.5"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    store = Store.open(store_url(out, None))
    try:
        ids = {a.id for a in store.audit_tasks()}
        seqs = {s.form_id: s.seq for s in store.current_forms()}
        drawn = {(t.file, seqs[t.form_id], t.path) for t in store.review_queue() if t.id in ids}
    finally:
        store.close()
    first = {(f, seq, p) for f, seq, p in audits if f.startswith(name)}
    assert first and drawn == first


def test_changed_audits_are_the_silent_errors_found_and_the_interval_is_computed(
    simulation: tuple[Path, dict[str, Any]],
) -> None:
    _, result = simulation
    true, found = result["true"], result["estimate"]
    # The simulated reviewer's truth is the scorer's: the same wrong straight-through fields.
    assert true["wrong_straight_through_by_truth"] == true["wrong_silent_fields"]
    assert result["audits"]["pending"] == 0 and result["audits"]["unreadable"] == 0
    # Every audited field the truth says is wrong was changed, and counts as a silent error.
    assert found["errors"] == result["audit_errors_by_truth"]
    assert found["errors"] >= 1, "this seed's audits held a silent error when this was written"
    assert any(a["changed"] for a in result["answered"] if not a["audit"])  # review found some
    assert found["audited"] == sum(a["audit"] for a in result["answered"])
    assert 0 <= found["low"] <= found["rate"] <= found["high"] <= 1
    assert found["high"] > found["low"]
