"""Fit the confidence models and the review threshold on generated fitting sets.

    formscan run corpus/fit --out out/fit --workers 2
    formscan run corpus/dev --out out/dev --workers 2
    python scripts/fit_calibration.py --gold corpus/fit --pred out/fit/records.jsonl \
        --gold corpus/dev --pred out/dev/records.jsonl

Each exported field carries its evidence, so fitting needs no second pass over the scans.
The fitting set's seeds must be kept apart from the seeds of any set that is reported on.
Writes models/calibration.json and prints what the fitted model does on the fitting set.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from pipeline.confidence import (
    FEATURES,
    MODEL_PATH,
    Calibration,
    FormSignals,
    GroupModel,
    condition_of,
    features,
    fit_logistic,
    form_signals,
    model_names,
)
from pipeline.evaluate import calibration_error, label_outputs, load_gold_set, load_predictions
from pipeline.export import form_of
from pipeline.readings import FieldReading
from pipeline.template import load_template

MIN_GROUP = 200  # fields; a smaller group shares the pooled model
MIN_WRONG = 5  # a group with fewer wrong fields cannot learn what wrong looks like


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gold",
        type=Path,
        action="append",
        required=True,
        help="truth folder of a fitting set; repeat it, with --pred, for several",
    )
    parser.add_argument(
        "--pred",
        type=Path,
        action="append",
        required=True,
        help="records.jsonl of a run over the --gold at the same place",
    )
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--target-silent",
        type=float,
        default=0.002,
        help="highest silent error rate allowed on the fitting set (default 0.2%%)",
    )
    parser.add_argument("--l2", type=float, default=1.0, help="ridge penalty of the logistic fits")
    args = parser.parse_args()
    if len(args.gold) != len(args.pred):
        parser.error("give one --pred for each --gold")

    # Each set is labelled against its own truth: their files may share names.
    records, labelled = [], []
    for gold, pred in zip(args.gold, args.pred, strict=True):
        these = load_predictions(pred)
        records += these
        labelled += label_outputs(load_gold_set(gold), these)
    # Each exported field read back with its form's signals, keyed by the exported object
    # that `label_outputs` hands out with its verdict.
    read_back: dict[int, tuple[FieldReading, FormSignals]] = {}
    for record in records:
        form = form_of(record)
        signals = form_signals(form, load_template(record.form_type).level1_of)
        exported = [
            *record.fields.values(),
            *(f for row in record.indicators for f in row.values()),
        ]
        for result, (_, reading) in zip(exported, form.all_fields(), strict=True):
            read_back[id(result)] = (reading, signals)
    # Each field trains its most specific model and every broader one (`model_names`).
    by_model: dict[str, list[tuple[np.ndarray, bool]]] = defaultdict(list)
    fields = []
    for key, got, correct in labelled:
        reading, signals = read_back[id(got)]
        names = model_names(key, signals)
        x = features(reading.evidence, reading.value, signals)
        fields.append((names, condition_of(signals), x, correct))
        for name in names:
            by_model[name].append((x, correct))

    groups = {"default": _fit(by_model["default"], args.l2)}
    for name, items in sorted(by_model.items()):
        wrong = sum(not ok for _, ok in items)
        if name != "default" and len(items) >= MIN_GROUP and wrong >= MIN_WRONG:
            groups[name] = _fit(items, args.l2)
        print(
            f"{name:32} {len(items):6} fields {wrong:5} wrong -> "
            f"{'own model' if name in groups else 'a broader model'}"
        )

    scored = []
    by_condition: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for names, condition, x, ok in fields:
        model = next(groups[n] for n in names if n in groups)
        p = 1.0 / (1.0 + float(np.exp(-np.clip(np.dot(model.weights, x), -30, 30))))
        scored.append((p, ok))
        by_condition[condition].append((p, ok))
    threshold = _threshold(scored, args.target_silent)
    # The target holds for each condition of form, not only over all fields: damaged forms
    # are few beside whole ones, and would otherwise carry most of the silent errors.
    thresholds = {}
    for condition, items in sorted(by_condition.items()):
        own = _threshold(items, args.target_silent) if len(items) >= MIN_GROUP else threshold
        if own > threshold:
            thresholds[condition] = own
        print(f"{condition:16} {len(items):6} fields: threshold {max(own, threshold):.4f}")
    calibration = Calibration(
        version=f"fit-{date.today().isoformat()}-{len(scored)}",
        features=list(FEATURES),
        groups=groups,
        threshold=threshold,
        thresholds=thresholds,
        notes=f"fitted on {', '.join(map(str, args.gold))} ({len(scored)} fields), "
        f"target silent error {args.target_silent}",
    )
    args.out.write_text(
        json.dumps(calibration.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    n = len(scored)
    cut = [thresholds.get(condition, threshold) for _, condition, _, _ in fields]
    review = sum(p < t for (p, _), t in zip(scored, cut, strict=True))
    silent = sum(p >= t and not ok for (p, ok), t in zip(scored, cut, strict=True))
    print(
        f"fields {n}, accuracy {sum(ok for _, ok in scored) / n:.4f}, threshold {threshold:.4f}, "
        f"review load {review / n:.4f}, silent error {silent / n:.4f}, "
        f"calibration error {calibration_error(scored):.4f}"
    )
    print(f"wrote {args.out}")
    return 0


def _fit(items: list[tuple[np.ndarray, bool]], l2: float) -> GroupModel:
    x = np.stack([f for f, _ in items])
    y = np.array([float(ok) for _, ok in items])
    return GroupModel(
        weights=[round(float(w), 5) for w in fit_logistic(x, y, l2=l2)], fitted_on=len(items)
    )


def _threshold(scored: list[tuple[float, bool]], target: float) -> float:
    """The lowest threshold whose silent error rate stays within `target`: least review."""
    n = len(scored)
    ordered = sorted(scored, key=lambda item: -item[0])
    wrong_above = 0
    best = 1.0
    for i, (p, ok) in enumerate(ordered):
        wrong_above += not ok
        # Everything at or above p goes through unreviewed.
        nxt = ordered[i + 1][0] if i + 1 < n else -1.0
        if wrong_above / n > target:
            break
        if nxt < p:
            best = p
    return round(best, 6)


if __name__ == "__main__":
    raise SystemExit(main())
