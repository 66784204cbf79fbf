"""`formscan calibrate` without the models: a store of hand-made forms, every task answered.

Each field's recognition score says how likely it is right, as on real forms; fields under
0.9 went to review, and half of the others were drawn for audit. The reviewer answers from
what the field truly is. The end-to-end run that reads a second batch with the refitted
calibration is in test_simulate_learning.py.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.calibrate import CANDIDATES, in_use, refit_store
from pipeline.calibration_fit import MIN_SEEN, FitOptions
from pipeline.confidence import read_calibration, score_form
from pipeline.form_spec import load_template
from pipeline.pages import FileResult
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading, LexiconChange
from pipeline.run import CALIBRATION_FOLDER, RunOptions, store_options
from pipeline.store import Store

FORMSCAN = Path(sys.executable).parent / "formscan"
APPROVAL = "budget_performance_approval"
VERSIONS = {"formscan": "0.1.0", "ocr": "o", "template": "t@1", "calibration": "c1"}
KEYS = ["project_name", "department", "implementing_unit", "project_attribute", "overall_goal"]
RATE = 0.5
FORMS = 120


def _reading(key: str, n: int, score: float, offered: bool = False) -> FieldReading:
    """Form `n`'s field `key` read at `score`; `offered`: a value the lexicon offered.

    An offer goes to review, as a calibration that never weighed one sends it.
    """
    value = f"{key}{n}"
    evidence = Evidence(rec_score=score, char_min=score)
    if offered:
        evidence.lexicon = LexiconChange(
            read=value + "x", offered=value, edits=1, sources=["review"], seen=1, lexicon="v"
        )
    return FieldReading(
        value=value,
        raw=value,
        page=1,
        evidence=evidence,
        confidence=score,
        review=score < 0.9 or offered,
    )


def _filled(url: str, offers: int = 0) -> tuple[Store, int, int]:
    """A store of read forms with every task answered; (store, tasks answered, audits).

    The first `offers` forms' implementing unit is a value the lexicon offered.
    """
    rng = random.Random(7)
    store = Store.open(url)
    run = store.start_run(["/scans"], {})
    truth: dict[tuple[str, str], bool] = {}
    for n in range(FORMS):
        name = f"f{n:03d}.jpg"
        fields = {}
        audits = {}
        for key in KEYS:
            score = rng.choice([0.5, 0.8, 0.95, 0.99, 0.999])
            offered = key == "implementing_unit" and n < offers
            fields[key] = _reading(key, n, score, offered)
            truth[(name, key)] = rng.random() < score
            if not fields[key].review and rng.random() < RATE:
                audits[(0, f"fields.{key}")] = AuditDraw(stratum=f"{APPROVAL}:text", rate=RATE)
        form = FormReading(file=name, pages=[1], form_type=APPROVAL, fields=fields)
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(name, pages=1, forms=[form], page_seconds=[1.0], audits=audits)
        store.save_reading(document, run, result, VERSIONS, {})
    answered = audited = len(store.audit_tasks())
    while (task := store.claim_next("lin")) is not None:
        right = truth[(task.file, task.key)]
        store.correct(task.field_id, task.value if right else task.value + "错", "lin")
        answered += 0 if task.id in {a.id for a in store.audit_tasks()} else 1
    return store, answered, audited


def test_a_refit_learns_from_answered_tasks_and_says_what_it_would_change(
    store_at: str, tmp_path: Path
) -> None:
    store, answered, audited = _filled(store_at)
    folder = tmp_path / CALIBRATION_FOLDER
    options = FitOptions(target_silent=0.02, min_group=100)
    refits = {r.form_type: r for r in refit_store(store, folder, options)}
    store.close()
    refit = refits[APPROVAL]
    assert refit.calibration is not None and refit.change is not None, refit.refused
    change = refit.change
    assert (change.labelled, change.audited) == (answered, audited)
    assert change.fields == FORMS * len(KEYS)
    # Audits weigh 1/rate: the labelled fields weigh as fewer than they are.
    assert change.effective < change.labelled
    assert 0 < change.review_before < 1 and 0 < change.review_after < 1
    assert 0 <= change.silent_before < 1 and 0 <= change.silent_after < 1
    assert refit.calibration.version.startswith("store-")
    assert refit.before == in_use(folder, APPROVAL).version != refit.calibration.version
    assert (folder / CANDIDATES / f"{APPROVAL}@{refit.calibration.version}.json").is_file()
    assert not (folder / f"{APPROVAL}.json").exists()  # written, not applied
    # No lexicon offered anything here: the calibration does not claim to weigh its offers.
    assert "lexicon_distance" not in refit.calibration.features
    # The self-evaluation has no answered field at all: refused, with the reason.
    assert refits["performance_self_evaluation"].refused is not None
    assert "too few labelled fields: 0" in refits["performance_self_evaluation"].refused


@pytest.mark.parametrize("offers", [MIN_SEEN - 1, MIN_SEEN])
def test_an_offer_goes_to_review_until_a_refit_has_weighed_answered_offers(
    tmp_path: Path, offers: int
) -> None:
    store, _, _ = _filled(f"sqlite:///{tmp_path / 'formscan.db'}", offers)
    folder = tmp_path / CALIBRATION_FOLDER
    shipped = in_use(folder, APPROVAL)
    options = FitOptions(target_silent=0.02, min_group=100)
    refit = next(r for r in refit_store(store, folder, options) if r.form_type == APPROVAL)
    store.close()
    assert refit.calibration is not None, refit.refused
    # A new form whose implementing unit the lexicon offered, read as surely as any field.
    template = load_template(APPROVAL)
    read = {key: _reading(key, FORMS, 0.999, key == "implementing_unit") for key in KEYS}
    for calibration, weighed in ((shipped, False), (refit.calibration, offers >= MIN_SEEN)):
        form = FormReading(file="new.jpg", pages=[1], form_type=APPROVAL, fields=read)
        score_form(form, template, calibration)
        offer, plain = form.fields["implementing_unit"], form.fields["department"]
        assert ("lexicon_distance" in calibration.features) is weighed
        assert not plain.review  # the same reading, not offered: through
        # Sent whatever its score until the models have weighed offers; then theirs to decide.
        assert offer.review is not weighed


def _formscan(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FORMSCAN, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def test_calibrate_prints_the_change_and_apply_makes_runs_over_the_store_use_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    store, _, _ = _filled(f"sqlite:///{out / 'formscan.db'}")
    store.close()
    looked = _formscan("calibrate", "--out", out, "--min-fields", 100, "--target-silent", 0.02)
    assert looked.returncode == 0, looked.stderr
    assert f"{APPROVAL}: " in looked.stdout and " -> store-" in looked.stdout
    assert (
        "review load: " in looked.stdout and "silent error on the labelled fields" in looked.stdout
    )
    assert "not in use: say --apply" in looked.stdout
    assert "performance_self_evaluation: not refitted: too few labelled fields" in looked.stdout
    applied = out / CALIBRATION_FOLDER / f"{APPROVAL}.json"
    assert not applied.exists()
    done = _formscan(
        "calibrate", "--out", out, "--min-fields", 100, "--target-silent", 0.02, "--apply"
    )
    assert done.returncode == 0, done.stderr
    assert f"applied: {applied}" in done.stdout
    calibration = read_calibration(applied)
    assert calibration.version.startswith("store-") and calibration.version in done.stdout
    # The same labels give the same version: what was looked at is what was applied.
    assert calibration.version in looked.stdout
    # A run over this store scores with it (the run itself: test_simulate_learning.py).
    options = store_options(RunOptions(), out)
    assert options.calibration_dir == out.resolve() / CALIBRATION_FOLDER
    assert in_use(out.resolve() / CALIBRATION_FOLDER, APPROVAL).version == calibration.version


@pytest.mark.parametrize("minimum", ["10000"])
def test_too_few_labelled_fields_are_refused_with_the_reason(tmp_path: Path, minimum: str) -> None:
    out = tmp_path / "out"
    store, _, _ = _filled(f"sqlite:///{out / 'formscan.db'}")
    store.close()
    refused = _formscan("calibrate", "--out", out, "--min-fields", minimum, "--apply")
    assert refused.returncode == 1
    assert "nothing refitted" in refused.stderr
    assert (
        "too few labelled fields" in refused.stdout and f"a model needs {minimum}" in refused.stdout
    )
    assert not (out / CALIBRATION_FOLDER / f"{APPROVAL}.json").exists()
    # At the shipped target (0.2%), the 600 labelled fields cannot show a low enough rate.
    strict = _formscan("calibrate", "--out", out, "--min-fields", 100)
    assert strict.returncode == 1 and "effective sample size" in strict.stdout
