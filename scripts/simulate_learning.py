"""Simulate learning from reviewers: batch B read before and after batch A was reviewed.

    python scripts/simulate_learning.py --work /tmp/learn --seed-a 4343 --seed-b 4444 --docs 3

1. generates two corpora with truth (`scripts/make_corpus.py`, `--seed-forms`): batch A in
   WORK/scans/a and batch B in WORK/scans/b, of different seeds;
2. reads batch B into a fresh store (WORK/before): the figures before learning;
3. reads batch A into the store WORK/store (`formscan run --audit-rate R`), scores it, and
   lets a simulated reviewer answer every review and audit task from the truth through the
   store's review API (`simulate_audit.review_from_truth`): the lexicon learns each answer;
4. `formscan calibrate --out WORK/store --apply`;
5. reads batch B into the same store, with the learnt lexicon and the refitted calibration;
6. prints, for batch B before and after learning, accuracy, silent error rate and review
   load (`pipeline.evaluate`, as `formscan eval`); the audit estimate of batch A's silent
   error rate with its interval, beside the true rate; and how many of batch B's fields the
   lexicon changed, how many of those were wrong, and how many of those went through
   unreviewed. WORK/learning.json holds it all.

Names repeat across forms only so far: the generator draws units and projects from pools
(counties × townships or bureaus × suffixes, years × subjects × items), so two small batches
share few of them. What they share is the seven real seed forms (`--seed-forms` prints them
in every level of both batches, a tenth of the invented documents reuse one too) and the
三级 names, most of which are fixed phrases or one of twenty subjects. The script prints how
many of batch B's values of each lexicon field batch A's truth holds. Use seeds nothing was
fitted or tuned on (not 1000, 2000, 3000, 6000, 7000, 9200 or 9300).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulate_audit import review_from_truth, truths_of

from pipeline.evaluate import evaluate, load_gold_set, load_predictions, output_truths, values_match
from pipeline.form_spec import is_numeric, load_template
from pipeline.readings import key_of_path
from pipeline.records import ExportRecord, GoldRecord
from pipeline.store import Store, store_url
from pipeline.store_figures import store_figures

REPO = Path(__file__).resolve().parents[1]
FORMSCAN = Path(sys.executable).parent / "formscan"


def _run(command: Sequence[object], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(map(str, command)), capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or (done.returncode == 1 and what != "calibrate"):
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"simulate_learning: {what} failed ({done.returncode})")
    return done


def _generate(folder: Path, seed: int, docs: int, levels: str) -> None:
    script = REPO / "scripts" / "make_corpus.py"
    command = [sys.executable, script, "--out", folder, "--seed", seed, "--docs", docs]
    _run([*command, "--levels", levels, "--seed-forms"], f"make_corpus --seed {seed}")


def _read(scans: Path, out: Path, workers: int, rate: float) -> None:
    command = [FORMSCAN, "run", scans, "--out", out, "--workers", workers, "--audit-rate", rate]
    _run(command, f"formscan run {scans}")


def _only(prefix: str, records: list[ExportRecord]) -> list[ExportRecord]:
    """The records of files under `prefix/`, named as if read from that folder."""
    found = []
    for record in records:
        if record.source.file.startswith(prefix + "/"):
            found.append(record.model_copy(deep=True))
            found[-1].source.file = record.source.file.removeprefix(prefix + "/")
    return found


def _figures(gold: dict[str, list[GoldRecord]], records: list[ExportRecord]) -> dict[str, Any]:
    """What `formscan eval` says, and what the lexicon did, by the truth."""
    scored = evaluate(gold, records)
    changed = wrong = silent = fixed = 0
    for found in output_truths(gold, records):
        evidence = (found.got.model_extra or {}).get("evidence") or {}
        change = evidence.get("lexicon")
        if not change:
            continue
        changed += 1
        numeric = is_numeric(found.record.form_type, key_of_path(found.path))
        right = found.expected is not None and values_match(
            found.expected, found.got.value, numeric
        )
        was_right = found.expected is not None and values_match(
            found.expected, change["read"], numeric
        )
        wrong += not right
        silent += not right and not found.got.review
        fixed += right and not was_right
    return {
        "accuracy": scored.field_accuracy,
        "silent_error_rate": scored.silent_error_rate,
        "review_load": scored.review_load,
        "fields": scored.counts.output_fields,
        "wrong_silent_fields": scored.counts.wrong_silent_fields,
        "lexicon_changed": changed,
        "lexicon_changed_wrong": wrong,
        "lexicon_changed_wrong_silent": silent,
        "lexicon_fixed": fixed,
        "calibrations": sorted(
            {str((r.model_extra or {}).get("versions", {}).get("calibration")) for r in records}
        ),
        "lexicons": sorted(
            {str((r.model_extra or {}).get("versions", {}).get("lexicon")) for r in records}
        ),
    }


def _shared(a: dict[str, list[GoldRecord]], b: dict[str, list[GoldRecord]]) -> dict[str, str]:
    """Of batch B's values of each lexicon field, how many batch A's truth holds."""
    shared = {}
    for form_type in sorted({r.form_type for forms in b.values() for r in forms}):
        for key in load_template(form_type).lexicon_keys:
            values = [_values(forms, form_type, key) for forms in (a, b)]
            seen = set().union(*values[0])
            total = [v for found in values[1] for v in found]
            shared[f"{form_type} {key}"] = f"{sum(v in seen for v in total)} of {len(total)}"
    return shared


def _values(forms: dict[str, list[GoldRecord]], form_type: str, key: str) -> list[list[str]]:
    column = key.removeprefix("indicators.")
    found = []
    for records in forms.values():
        for record in (r for r in records if r.form_type == form_type):
            if key.startswith("indicators."):
                found.append([row[column] for row in record.indicators if row.get(column)])
            elif record.fields.get(key):
                found.append([record.fields[key]])
    return found


def simulate(
    work: Path,
    seeds: tuple[int, int],
    docs: int,
    levels: str,
    rate: float,
    workers: int = 1,
    calibrate: Sequence[str] = (),
) -> dict[str, Any]:
    """Generate, read, review, calibrate, read again; the figures, also in WORK/learning.json."""
    scans, store_dir, before_dir = work / "scans", work / "store", work / "before"
    waiting = work / "b"  # batch B, until it is read into the store after learning
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _generate(scans / "a", seeds[0], docs, levels)
    _generate(waiting, seeds[1], docs, levels)
    gold_a = {f"a/{k}": v for k, v in load_gold_set(scans / "a").items()}
    gold_b = load_gold_set(waiting)
    # Before learning: batch B alone, into a store that has learnt nothing.
    _read(waiting, before_dir, workers, rate)
    before = _figures(gold_b, load_predictions(before_dir / "records.jsonl"))
    # Batch A, read into the store from WORK/scans (named a/…), every task answered from
    # its truth through the store's review API.
    _read(scans, store_dir, workers, rate)
    read_a = work / "read-a.jsonl"  # as read, before any person answered
    shutil.copy(store_dir / "records.jsonl", read_a)
    true_a = evaluate(gold_a, load_predictions(read_a))
    truths, _, _ = truths_of(scans, read_a)
    store = Store.open(store_url(store_dir, None))
    try:
        answered = review_from_truth(store, truths)
        estimate = store_figures(store).silent_error_estimate
        lexicon = len({(e.form_type, e.key, e.value) for e in store.lexicon_entries()})
    finally:
        store.close()
    calibrated = _run(
        [FORMSCAN, "calibrate", "--out", store_dir, "--apply", *calibrate], "calibrate"
    )
    # After learning: batch B into the same store, with the lexicon and the new calibration.
    waiting.rename(scans / "b")
    _read(scans, store_dir, workers, rate)
    after = _figures(gold_b, _only("b", load_predictions(store_dir / "records.jsonl")))
    result = {
        "seeds": list(seeds),
        "docs_per_level": docs,
        "levels": levels,
        "audit_rate": rate,
        "batch_b_before": before,
        "batch_b_after": after,
        "batch_a": {
            "true_silent_error_rate": true_a.silent_error_rate,
            "review_load": true_a.review_load,
            "fields": true_a.counts.output_fields,
            "estimate": estimate.model_dump(mode="json"),
            "answered": len(answered),
            "audits_answered": sum(a["audit"] for a in answered),
            "changed_by_reviewer": sum(a["changed"] for a in answered),
        },
        "lexicon_values_learnt": lexicon,
        "shared_values": _shared(gold_a, {f"b/{k}": v for k, v in gold_b.items()}),
        "calibrate": {"exit": calibrated.returncode, "said": calibrated.stdout + calibrated.stderr},
    }
    (work / "learning.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _pct(value: float | None, places: int = 2) -> str:
    return "-" if value is None else f"{value:.{places}%}"


def report(result: dict[str, Any]) -> list[str]:
    """The figures as lines for a person."""
    lines = []
    for name, figures in (("before", result["batch_b_before"]), ("after", result["batch_b_after"])):
        lines.append(
            f"batch B {name:6} learning: accuracy {_pct(figures['accuracy'])}, silent error "
            f"{_pct(figures['silent_error_rate'])} ({figures['wrong_silent_fields']} of "
            f"{figures['fields']} fields), review load {_pct(figures['review_load'], 1)}; "
            f"lexicon changed {figures['lexicon_changed']} fields ({figures['lexicon_fixed']} "
            f"put right), {figures['lexicon_changed_wrong']} of them wrong, "
            f"{figures['lexicon_changed_wrong_silent']} of those silently; calibration "
            f"{', '.join(figures['calibrations'])}; lexicon {', '.join(figures['lexicons'])}"
        )
    a, found = result["batch_a"], result["batch_a"]["estimate"]
    covered = (
        found["low"] is not None and found["low"] <= a["true_silent_error_rate"] <= found["high"]
    )
    lines.append(
        f"batch A silent error: true {_pct(a['true_silent_error_rate'])}; audit estimate "
        f"{_pct(found['rate'])}, 95% {_pct(found['low'])}–{_pct(found['high'])} "
        f"({found['errors']} changed of {found['audited']} audits; {found['interval']}): "
        f"the interval {'covers' if covered else 'misses'} the true rate"
    )
    lines.append(
        f"batch A review: {a['answered']} tasks answered ({a['audits_answered']} audits), "
        f"{a['changed_by_reviewer']} changed; the lexicon learnt {result['lexicon_values_learnt']} "
        "values"
    )
    lines.append(
        "batch B values batch A's truth holds: "
        + "; ".join(f"{k} {v}" for k, v in result["shared_values"].items())
    )
    lines += [
        "formscan calibrate said:",
        *("  " + said for said in result["calibrate"]["said"].splitlines()),
    ]
    return lines


def main() -> int:
    """Parse the arguments, simulate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder to make (emptied first)")
    parser.add_argument("--seed-a", type=int, default=4343, help="batch A's seed (default 4343)")
    parser.add_argument("--seed-b", type=int, default=4444, help="batch B's seed (default 4444)")
    parser.add_argument("--docs", type=int, default=3, help="documents per level (default 3)")
    parser.add_argument("--levels", default="clean,heavy", help="(default clean,heavy)")
    parser.add_argument(
        "--audit-rate",
        type=float,
        default=0.5,
        help="of every read (default 0.5: a small batch A needs many audits to refit on)",
    )
    parser.add_argument("--workers", type=int, default=1, help="reading processes (default 1)")
    parser.add_argument(
        "--min-fields", default="100", help="passed to formscan calibrate (default 100)"
    )
    parser.add_argument(
        "--target-silent", default="0.01", help="passed to formscan calibrate (default 0.01)"
    )
    args = parser.parse_args()
    result = simulate(
        args.work,
        (args.seed_a, args.seed_b),
        args.docs,
        args.levels,
        args.audit_rate,
        args.workers,
        ["--min-fields", args.min_fields, "--target-silent", args.target_silent],
    )
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
