"""Simulate audit sampling end to end: the audit estimate beside the true silent error rate.

    python scripts/simulate_audit.py --work /tmp/audit --seed 4242 --docs 10 --audit-rate 0.2

generates `--docs` documents per level (`--levels`, default heavy,photo) with truth files
(`scripts/make_corpus.py`), reads them with `formscan run --audit-rate R --workers 1` (and
`--review-below P` where given: a low P leaves more errors silent), scores
the run's records against the truth with the scorer (`pipeline.evaluate`: the true silent
error rate), then lets a simulated reviewer answer every review and audit task from the truth
through the store's own review API (claim, then correct; an unchanged value confirms), and
prints the audit estimate (`formscan status`'s) beside the true rate. `WORK/simulation.json`
holds both, with the audited fields and what the reviewer answered.

The reviewer answers as the scorer counts: the truth value the field is scored against
(`output_truths`), or an empty value where nothing in the truth stands for it (a phantom
row). Use a seed that nothing was fitted or tuned on (not 1000, 2000, 3000, 6000, 7000, 9200
or 9300).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.audit import is_silent_error
from pipeline.evaluate import evaluate, load_gold_set, load_predictions, output_truths, values_match
from pipeline.form_spec import is_numeric
from pipeline.readings import key_of_path
from pipeline.store import Store, store_url
from pipeline.store_figures import store_figures

REPO = Path(__file__).resolve().parents[1]
FORMSCAN = Path(sys.executable).parent / "formscan"
REVIEWER = "simulated-reviewer"


def truths_of(
    corpus: Path, records: Path
) -> tuple[dict[tuple[str, int, str], str | None], int, int]:
    """The truth of every output field, by (file, form order, path); straight-through, wrong.

    The last two count the fields that went straight through, and those wrong by that truth.
    """
    export = load_predictions(records)
    seq: dict[int, int] = {}
    per_file: dict[str, int] = {}
    for record in export:  # records.jsonl lists a file's forms in their order
        seq[id(record)] = per_file.get(record.source.file, 0)
        per_file[record.source.file] = seq[id(record)] + 1
    found = output_truths(load_gold_set(corpus), export)
    straight = [f for f in found if not f.got.review]
    wrong = sum(
        f.expected is None
        or not values_match(
            f.expected, f.got.value, is_numeric(f.record.form_type, key_of_path(f.path))
        )
        for f in straight
    )
    truths = {(f.record.source.file, seq[id(f.record)], f.path): f.expected for f in found}
    return truths, len(straight), wrong


def review_from_truth(
    store: Store, truths: dict[tuple[str, int, str], str | None]
) -> list[dict[str, Any]]:
    """Answer every open task (review and audit alike) from the truth; what was answered.

    The tasks are answered in queue order, each claimed first as a reviewer would. The queue
    is read once: `claim_next` reads it whole for every task, which on a store of thousands
    of tasks took the simulation longer than reading the scans.
    """
    audits = {a.id for a in store.audit_tasks()}
    seqs = {stored.form_id: stored.seq for stored in store.current_forms()}
    answered = []
    for task in store.review_queue():
        if not store.claim(task.id, REVIEWER):
            continue  # held by another reviewer
        seq = seqs[task.form_id]
        expected = truths.get((task.file, seq, task.path))
        answer = expected if expected is not None else ""
        store.correct(task.field_id, answer, REVIEWER)
        answered.append(
            {
                "task": task.id,
                "audit": task.id in audits,
                "file": task.file,
                "form": seq,
                "path": task.path,
                "read": task.value,
                "answer": answer,
                "changed": is_silent_error(task.form_type, task.key, task.row, task.value, answer),
            }
        )
    return answered


def simulate(
    work: Path, seed: int, docs: int, levels: str, rate: float, review_below: float | None = None
) -> dict[str, Any]:
    """Generate, read, score, review, estimate; the figures, also in WORK/simulation.json."""
    corpus, out = work / "corpus", work / "out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            REPO / "scripts" / "make_corpus.py",
            "--out",
            corpus,
            "--seed",
            str(seed),
            "--docs",
            str(docs),
            "--levels",
            levels,
        ],
        check=True,
    )
    reading = [FORMSCAN, "run", corpus, "--out", out, "--workers", "1", "--audit-rate", str(rate)]
    if review_below is not None:
        reading += ["--review-below", str(review_below)]
    subprocess.run(reading, check=True)
    read = work / "read.jsonl"  # the records as read, before any person answered
    shutil.copy(out / "records.jsonl", read)
    scored = evaluate(load_gold_set(corpus), load_predictions(read))
    truths, straight, wrong = truths_of(corpus, read)
    store = Store.open(store_url(out, None))
    try:
        answered = review_from_truth(store, truths)
        figures = store_figures(store)
    finally:
        store.close()
    audits = [a for a in answered if a["audit"]]
    output = scored.counts.output_fields
    result = {
        "seed": seed,
        "docs_per_level": docs,
        "levels": levels,
        "audit_rate": rate,
        "review_below": review_below,
        "true": {
            "silent_error_rate": scored.silent_error_rate,
            "wrong_silent_fields": scored.counts.wrong_silent_fields,
            "output_fields": output,
            "straight_through": straight,
            "wrong_straight_through_by_truth": wrong,
            "straight_through_rate": wrong / straight if straight else 0.0,
            "review_load": scored.review_load,
        },
        "estimate": figures.silent_error_estimate.model_dump(mode="json"),
        "audits": figures.audits.model_dump(mode="json"),
        "answered": answered,
        "audit_errors_by_truth": sum(a["changed"] for a in audits),
    }
    (work / "simulation.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def main() -> int:
    """Parse the arguments, simulate, print the true rate beside the estimate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder to make (emptied first)")
    parser.add_argument("--seed", type=int, default=4242, help="corpus seed (default 4242)")
    parser.add_argument("--docs", type=int, default=10, help="documents per level (default 10)")
    parser.add_argument(
        "--levels", default="heavy,photo", help="damage levels (default heavy,photo)"
    )
    parser.add_argument("--audit-rate", type=float, default=0.2, help="(default 0.2)")
    parser.add_argument(
        "--review-below",
        type=float,
        metavar="P",
        help="passed to formscan run: a lower threshold leaves more errors silent, for the "
        "audits to find (default: the fitted thresholds)",
    )
    args = parser.parse_args()
    result = simulate(
        args.work, args.seed, args.docs, args.levels, args.audit_rate, args.review_below
    )
    true, found, audits = result["true"], result["estimate"], result["audits"]

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2%}"

    print(
        f"true silent error rate (formscan eval): {pct(true['silent_error_rate'])} "
        f"({true['wrong_silent_fields']} of {true['output_fields']} fields; review load "
        f"{pct(true['review_load'])})"
    )
    print(
        f"audit estimate: {pct(found['rate'])}, 95% {pct(found['low'])}–{pct(found['high'])} "
        f"({found['errors']} changed of {found['audited']} audits answered; "
        f"{audits['unreadable']} unreadable; {found['interval']})"
    )
    covered = (
        found["low"] is not None and found["low"] <= true["silent_error_rate"] <= found["high"]
    )
    print(f"the interval {'covers' if covered else 'misses'} the true rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
