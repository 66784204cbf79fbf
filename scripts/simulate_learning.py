"""Simulate learning from reviewers: the last batch read before and after the others were reviewed.

    python scripts/simulate_learning.py --work /tmp/learn --seed-a 4343 --seed-b 4444 --docs 3
    python scripts/simulate_learning.py --work /tmp/learn3 --seed-b 4646 --seed-c 4545 \
        --docs 8,100,20 --levels heavy --workers 2

Two batches (A, B) or, with `--seed-c`, three (A, B, C); every batch but the last learns, and
the last is reported on:

1. generates each batch's corpus with truth (`scripts/make_corpus.py`, `--seed-forms`), of
   different seeds, in WORK/waiting/NAME until it is read into the store;
2. reads the last batch into a fresh store (WORK/before): the figures before learning;
3. reads each learning batch in turn into the store WORK/store (`formscan run --audit-rate
   R`, as WORK/scans/NAME), scores it, and lets a simulated reviewer answer every review and
   audit task from the truth through the store's review API
   (`simulate_audit.review_from_truth`): the lexicon learns each answer, and a batch after
   the first is read with what the batches before it taught. Batch B of three is what gives
   `formscan calibrate` the lexicon's offers to weigh: each offer it made went to review (no
   calibration has weighed one yet) and was answered;
4. `formscan calibrate --out WORK/store --apply`, on every learning batch's answers;
5. reads the last batch into the same store, with the learnt lexicon and the refitted
   calibration;
6. prints, for the last batch before and after learning, accuracy, silent error rate and
   review load (`pipeline.evaluate`, as `formscan eval`), and what the lexicon did by the
   truth: the fields it changed, how many of those were wrong, how many of the wrong ones
   went through unreviewed (the bar: none), how many right ones went straight through (what
   it saves), and the run's own count (`summary.json`); the same of each learning batch as
   read; the audit estimate of batch A's silent error rate with its interval, beside the
   true rate; and whether the applied calibration weighs the lexicon's offers
   (`lexicon_distance` among its features, with its weights). WORK/learning.json holds it
   all.

Names repeat across forms only so far: the generator draws units and projects from pools
(counties × townships or bureaus × suffixes, years × subjects × items), so small batches
share few of them. What they share is the seven real seed forms (`--seed-forms` prints them
in every level of every batch, a tenth of the invented documents reuse one too) and the
三级 names, most of which are fixed phrases or one of twenty subjects. The script prints how
many of the last batch's values of each lexicon field the learning batches' truth holds. An
offer needs a misread of a known value within one edit per ten characters, which clean scans
seldom give: the heavy level gives most. Use seeds nothing was fitted or tuned on (not 1000,
1100, 2000, 3000, 6000, 7000, 9200 or 9300; 4343, 4444, 4545 and 4646 are this script's).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulate_audit import review_from_truth, truths_of

from pipeline.calibrate import in_use
from pipeline.calibration_fit import MIN_SEEN
from pipeline.evaluate import evaluate, load_gold_set, load_predictions, output_truths, values_match
from pipeline.form_spec import is_numeric, known_form_types, load_template
from pipeline.readings import key_of_path
from pipeline.records import ExportRecord, GoldRecord
from pipeline.run import CALIBRATION_FOLDER
from pipeline.store import Store, store_url
from pipeline.store_figures import store_figures

REPO = Path(__file__).resolve().parents[1]
FORMSCAN = Path(sys.executable).parent / "formscan"
# What a run's summary.json says the lexicon did (`pipeline.report`).
SUMMARY_LEXICON = ("lexicon_changed", "lexicon_review")


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
    changed = wrong = silent = fixed = sent = straight = 0
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
        sent += found.got.review
        straight += right and not found.got.review
    return {
        "accuracy": scored.field_accuracy,
        "silent_error_rate": scored.silent_error_rate,
        "review_load": scored.review_load,
        "fields": scored.counts.output_fields,
        "wrong_silent_fields": scored.counts.wrong_silent_fields,
        "lexicon_changed": changed,
        "lexicon_changed_wrong": wrong,
        "lexicon_changed_wrong_silent": silent,
        "lexicon_changed_review": sent,
        # What the lexicon saves: right offers no person had to look at.
        "lexicon_changed_right_straight": straight,
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


BATCHES = "abc"


def simulate(
    work: Path,
    seeds: Sequence[int],
    docs: Sequence[int],
    levels: str,
    rate: float,
    workers: int = 1,
    calibrate: Sequence[str] = (),
) -> dict[str, Any]:
    """Generate, read, review, calibrate, read again; the figures, also in WORK/learning.json.

    `seeds` and `docs` (documents per level) are the batches', in order: two or three.
    """
    started = time.monotonic()
    names = list(BATCHES[: len(seeds)])
    *learning, last = names
    scans, store_dir, before_dir = work / "scans", work / "store", work / "before"
    waiting = {name: work / "waiting" / name for name in names}  # until read into the store
    shutil.rmtree(work, ignore_errors=True)
    scans.mkdir(parents=True)
    for name, seed, count in zip(names, seeds, docs, strict=True):
        _generate(waiting[name], seed, count, levels)
    gold = {name: load_gold_set(waiting[name]) for name in names}
    # Before learning: the last batch alone, into a store that has learnt nothing.
    _read(waiting[last], before_dir, workers, rate)
    before = _figures(gold[last], load_predictions(before_dir / "records.jsonl"))
    # Each learning batch read into the store from WORK/scans (named NAME/…), with what the
    # batches before it taught, and every task answered from its truth through the store's
    # review API.
    learnt = {}
    for name in learning:
        waiting[name].rename(scans / name)
        _read(scans, store_dir, workers, rate)
        as_read = work / f"read-{name}.jsonl"  # before any person answered
        shutil.copy(store_dir / "records.jsonl", as_read)
        learnt[name] = _learn(scans, store_dir, name, gold[name], as_read)
    calibrated = _run(
        [FORMSCAN, "calibrate", "--out", store_dir, "--apply", *calibrate], "calibrate"
    )
    # After learning: the last batch into the same store, with the lexicon and the new
    # calibration.
    waiting[last].rename(scans / last)
    _read(scans, store_dir, workers, rate)
    after = _figures(gold[last], _only(last, load_predictions(store_dir / "records.jsonl")))
    summary = json.loads((store_dir / "summary.json").read_text(encoding="utf-8"))
    after["run_summary"] = {k: summary.get(k) for k in ("fields", "review", *SUMMARY_LEXICON)}
    taught = {f"{n}/{k}": v for n in learning for k, v in gold[n].items()}
    result = {
        "seeds": list(seeds),
        "docs_per_level": list(docs),
        "levels": levels,
        "audit_rate": rate,
        "last": last,
        f"batch_{last}_before": before,
        f"batch_{last}_after": after,
        **{f"batch_{name}": found for name, found in learnt.items()},
        "lexicon_values_learnt": learnt[learning[-1]]["lexicon_values"],
        "shared_values": _shared(taught, {f"{last}/{k}": v for k, v in gold[last].items()}),
        "calibrate": {"exit": calibrated.returncode, "said": calibrated.stdout + calibrated.stderr},
        "calibration_applied": _weighs_offers(store_dir / CALIBRATION_FOLDER),
        # Every task of a learning batch is answered: each offer sent to review is a label.
        "offers_answered": sum(found["lexicon_changed_review"] for found in learnt.values()),
        "seconds": round(time.monotonic() - started),
    }
    (work / "learning.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _learn(
    scans: Path, store_dir: Path, name: str, gold: dict[str, list[GoldRecord]], as_read: Path
) -> dict[str, Any]:
    """Batch `name` as read, scored; then every open task answered from the truth."""
    found = _figures(gold, _only(name, load_predictions(as_read)))
    truths, _, _ = truths_of(scans, as_read)
    store = Store.open(store_url(store_dir, None))
    try:
        answered = review_from_truth(store, truths)
        estimate = store_figures(store).silent_error_estimate
        lexicon = len({(e.form_type, e.key, e.value) for e in store.lexicon_entries()})
    finally:
        store.close()
    return found | {
        # Over every audit the store holds so far, as `formscan status` would say.
        "estimate": estimate.model_dump(mode="json"),
        "answered": len(answered),
        "audits_answered": sum(a["audit"] for a in answered),
        "changed_by_reviewer": sum(a["changed"] for a in answered),
        "lexicon_values": lexicon,
    }


def _weighs_offers(folder: Path) -> dict[str, Any]:
    """Of each form type's calibration in use over the store: whether it weighs offers.

    One fitted without `lexicon_distance` (the shipped ones, or a refit that saw too few
    offers) sends every offer to review (`confidence.unfitted_change`); one with it lets its
    models decide.
    """
    found = {}
    for form_type in known_form_types():
        calibration = in_use(folder, form_type)
        names = calibration.features
        column = names.index("lexicon_distance") if "lexicon_distance" in names else None
        found[form_type] = {
            "version": calibration.version,
            "weighs_offers": column is not None,
            "lexicon_distance_weights": {
                group: model.weights[column]
                for group, model in sorted(calibration.groups.items())
                if column is not None
            },
        }
    return found


def _pct(value: float | None, places: int = 2) -> str:
    return "-" if value is None else f"{value:.{places}%}"


def _lexicon_line(figures: dict[str, Any]) -> str:
    """What the lexicon did to a batch, by the truth."""
    return (
        f"lexicon changed {figures['lexicon_changed']} fields ({figures['lexicon_fixed']} put "
        f"right, {figures['lexicon_changed_review']} sent to review), "
        f"{figures['lexicon_changed_wrong']} of them wrong, "
        f"{figures['lexicon_changed_wrong_silent']} of those unreviewed; "
        f"{figures['lexicon_changed_right_straight']} right ones went straight through"
    )


def report(result: dict[str, Any]) -> list[str]:
    """The figures as lines for a person."""
    last = result["last"]
    lines = []
    for name in ("before", "after"):
        figures = result[f"batch_{last}_{name}"]
        lines.append(
            f"batch {last.upper()} {name:6} learning: accuracy {_pct(figures['accuracy'])}, "
            f"silent error {_pct(figures['silent_error_rate'])} ({figures['wrong_silent_fields']}"
            f" of {figures['fields']} fields), review load {_pct(figures['review_load'], 1)}; "
            f"{_lexicon_line(figures)}; calibration {', '.join(figures['calibrations'])}; "
            f"lexicon {', '.join(figures['lexicons'])}"
        )
    said = result[f"batch_{last}_after"]["run_summary"]
    lines.append(
        f"batch {last.upper()} after learning, the run's summary.json: "
        + ", ".join(f"{k} {said[k]}" for k in ("fields", "review", *SUMMARY_LEXICON))
    )
    learning = [name for name in BATCHES if f"batch_{name}" in result]
    for name in learning:
        found = result[f"batch_{name}"]
        lines.append(
            f"batch {name.upper()} as read: accuracy {_pct(found['accuracy'])}, silent error "
            f"{_pct(found['silent_error_rate'])}, review load {_pct(found['review_load'], 1)}; "
            f"{_lexicon_line(found)}; {found['answered']} tasks answered "
            f"({found['audits_answered']} audits), {found['changed_by_reviewer']} changed; the "
            f"lexicon then held {found['lexicon_values']} values"
        )
    # The store's estimate after batch A's answers covers batch A alone.
    a, found = result["batch_a"], result["batch_a"]["estimate"]
    covered = found["low"] is not None and found["low"] <= a["silent_error_rate"] <= found["high"]
    lines.append(
        f"batch A silent error: true {_pct(a['silent_error_rate'])}; audit estimate "
        f"{_pct(found['rate'])}, 95% {_pct(found['low'])}–{_pct(found['high'])} "
        f"({found['errors']} changed of {found['audited']} audits; {found['interval']}): "
        f"the interval {'covers' if covered else 'misses'} the true rate"
    )
    lines.append(
        f"batch {last.upper()} values the truth of batch "
        f"{', '.join(n.upper() for n in learning)} holds: "
        + "; ".join(f"{k} {v}" for k, v in result["shared_values"].items())
    )
    lines += [
        "formscan calibrate said:",
        *("  " + said for said in result["calibrate"]["said"].splitlines()),
    ]
    lines.append(
        f"offers answered in the learning batches: {result['offers_answered']} (a refit weighs "
        f"offers once {MIN_SEEN} labelled fields show one); {result['seconds']} s in all"
    )
    for form_type, found in result["calibration_applied"].items():
        weights = ", ".join(f"{g} {w:+.3f}" for g, w in found["lexicon_distance_weights"].items())
        lines.append(
            f"{form_type} in use ({found['version']}): "
            + (
                f"weighs the lexicon's offers (lexicon_distance: {weights})"
                if found["weighs_offers"]
                else "never weighed an offer: every one goes to review"
            )
        )
    return lines


def _per_batch(text: str, batches: int) -> list[int]:
    """`N` for every batch, or one `N` per batch (`10,40,20`)."""
    found = [int(n) for n in text.split(",")]
    if len(found) == 1:
        return found * batches
    if len(found) != batches:
        raise SystemExit(f"simulate_learning: --docs {text}: one number, or one per batch")
    return found


def main() -> int:
    """Parse the arguments, simulate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder to make (emptied first)")
    parser.add_argument("--seed-a", type=int, default=4343, help="batch A's seed (default 4343)")
    parser.add_argument("--seed-b", type=int, default=4444, help="batch B's seed (default 4444)")
    parser.add_argument(
        "--seed-c",
        type=int,
        help="batch C's: B then learns too (its offers answered, for calibrate to weigh) and C "
        "is reported on (default: two batches, B reported on)",
    )
    parser.add_argument(
        "--docs",
        default="3",
        help="documents per level, one number or one per batch: 10,40,20 (default 3)",
    )
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
    seeds = [args.seed_a, args.seed_b, *([] if args.seed_c is None else [args.seed_c])]
    result = simulate(
        args.work,
        seeds,
        _per_batch(args.docs, len(seeds)),
        args.levels,
        args.audit_rate,
        args.workers,
        ["--min-fields", args.min_fields, "--target-silent", args.target_silent],
    )
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
