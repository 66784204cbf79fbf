"""Fit the confidence models and the review threshold on generated fitting sets.

    formscan run corpus/fit --out out/fit --workers 2
    formscan run corpus/dev --out out/dev --workers 2
    python scripts/fit_calibration.py --gold corpus/fit --pred out/fit/records.jsonl \
        --gold corpus/dev --pred out/dev/records.jsonl

Each exported field carries its evidence, so fitting needs no second pass over the scans.
The fitting set's seeds must be kept apart from the seeds of any set that is reported on.
Fits one form type's models (`--form-type`, by default the approval form's) on the records of
that type, and writes models/calibration/FORM_TYPE.json; prints what the fitted model does on
the fitting set.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from pipeline.confidence import (
    FALLBACK_FORM_TYPE,
    FEATURES,
    Calibration,
    FormSignals,
    GroupModel,
    calibration_path,
    condition_of,
    features,
    fit_logistic,
    form_signals,
    model_names,
)
from pipeline.evaluate import calibration_error, label_outputs, load_gold_set, load_predictions
from pipeline.export import form_of
from pipeline.form_spec import Template, load_template
from pipeline.readings import FieldReading
from pipeline.records import ExportRecord, GoldRecord

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
    parser.add_argument(
        "--form-type", default=FALLBACK_FORM_TYPE, help="whose forms to fit on, and for"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write (default: models/calibration/FORM_TYPE.json)"
    )
    parser.add_argument(
        "--target-silent",
        type=float,
        default=0.002,
        help="highest silent error rate allowed on the fitting set (default 0.2%%)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=5,
        help="documents are split into this many folds; each fold's fields are scored by "
        "models fitted on the others, and the thresholds are chosen on those scores",
    )
    parser.add_argument(
        "--z",
        type=float,
        default=1.645,
        help="the threshold keeps the upper bound of the silent error rate at this many "
        "standard errors (Wilson) within the target (default 1.645: one-sided 95%%)",
    )
    parser.add_argument("--l2", type=float, default=1.0, help="ridge penalty of the logistic fits")
    args = parser.parse_args()
    if len(args.gold) != len(args.pred):
        parser.error("give one --pred for each --gold")

    # Each set is labelled against its own truth: their files may share names.
    fields: list[Field] = []
    for index, (gold, pred) in enumerate(zip(args.gold, args.pred, strict=True)):
        records = [r for r in load_predictions(pred) if r.form_type == args.form_type]
        truth = {
            document: [r for r in forms if r.form_type == args.form_type]
            for document, forms in load_gold_set(gold).items()
        }
        fields += _fields(truth, records, index)
    documents = sorted({f.document for f in fields})
    fold_of = {document: i % args.folds for i, document in enumerate(documents)}

    groups = _fit_groups(fields, args.l2, say=print)
    # The thresholds are chosen on scores that each field got from models fitted without
    # its document: in-sample scores flatter a model, and the threshold is what must keep
    # the silent errors of forms it has never seen within the target.
    held_out: list[tuple[float, bool]] = []
    by_condition: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for fold in range(args.folds):
        fitted = _fit_groups([f for f in fields if fold_of[f.document] != fold], args.l2)
        for field in (f for f in fields if fold_of[f.document] == fold):
            scored = (_probability(fitted, field), field.correct)
            held_out.append(scored)
            by_condition[field.condition].append(scored)
    threshold = _threshold(held_out, args.target_silent, args.z)
    # The target holds for each condition of form, not only over all fields: damaged forms
    # are few beside whole ones, and would otherwise carry most of the silent errors; and a
    # condition whose fields separate better than the pool's needs less review. A condition
    # with too few fields for the bound to let any through on its own takes the pooled one.
    thresholds = {}
    for condition, items in sorted(by_condition.items()):
        if len(items) >= max(MIN_GROUP, args.z**2 / args.target_silent):
            thresholds[condition] = _threshold(items, args.target_silent, args.z)
        own = thresholds.get(condition, threshold)
        print(f"{condition:16} {len(items):6} fields: threshold {own:.4f}")
    calibration = Calibration(
        version=f"fit-{date.today().isoformat()}-{len(fields)}",
        features=list(FEATURES),
        groups=groups,
        threshold=threshold,
        thresholds=thresholds,
        notes=f"fitted on {', '.join(map(str, args.gold))} ({len(fields)} fields), "
        f"thresholds on {args.folds}-fold held-out scores, target silent error "
        f"{args.target_silent} at its upper bound (z {args.z})",
    )
    out = args.out or calibration_path(args.form_type)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(calibration.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    n = len(held_out)
    review = silent = 0
    for condition, items in by_condition.items():
        cut = thresholds.get(condition, threshold)
        review += sum(p < cut for p, _ in items)
        silent += sum(p >= cut and not ok for p, ok in items)
    print(
        f"fields {n}, accuracy {sum(ok for _, ok in held_out) / n:.4f}, threshold "
        f"{threshold:.4f}; scored by models fitted without their document: review load "
        f"{review / n:.4f}, silent error {silent / n:.4f}, calibration error "
        f"{calibration_error(held_out):.4f}"
    )
    print(f"wrote {out}")
    return 0


@dataclass
class Field:
    """One labelled field: the models that may score it, its form's condition, its features."""

    names: tuple[str, ...]
    condition: str
    x: np.ndarray
    correct: bool
    document: tuple[int, str]  # fitting set, file


def _fields(
    gold: dict[str, list[GoldRecord]], records: list[ExportRecord], index: int
) -> list[Field]:
    """The fields of one fitting set's records, labelled against its truth."""
    # Each exported field read back with its form's signals, keyed by the exported object
    # that `label_outputs` hands out with its verdict.
    read_back: dict[int, tuple[FieldReading, FormSignals, str, Template]] = {}
    for record in records:
        form = form_of(record)
        template = load_template(record.form_type)
        signals = form_signals(form, template)
        exported = [
            *record.fields.values(),
            *(f for row in record.indicators for f in row.values()),
        ]
        for result, (_, reading) in zip(exported, form.all_fields(), strict=True):
            read_back[id(result)] = (reading, signals, record.source.file, template)
    fields = []
    for key, got, correct in label_outputs(gold, records):
        reading, signals, file, template = read_back[id(got)]
        x = features(reading.evidence, reading.value, signals)
        names = model_names(template.group_of(key), signals)
        fields.append(Field(names, condition_of(signals), x, correct, (index, file)))
    return fields


def _fit_groups(
    fields: list[Field], l2: float, say: Callable[[str], None] = lambda _: None
) -> dict[str, GroupModel]:
    """A model for every name with enough fields, and enough wrong ones, to fit on."""
    # Each field trains its most specific model and every broader one (`model_names`).
    by_model: dict[str, list[tuple[np.ndarray, bool]]] = defaultdict(list)
    for field in fields:
        for name in field.names:
            by_model[name].append((field.x, field.correct))
    groups = {"default": _fit(by_model["default"], l2)}
    for name, items in sorted(by_model.items()):
        wrong = sum(not ok for _, ok in items)
        if name != "default" and len(items) >= MIN_GROUP and wrong >= MIN_WRONG:
            groups[name] = _fit(items, l2)
        say(
            f"{name:32} {len(items):6} fields {wrong:5} wrong -> "
            f"{'own model' if name in groups else 'a broader model'}"
        )
    return groups


def _probability(groups: dict[str, GroupModel], field: Field) -> float:
    model = next(groups[n] for n in field.names if n in groups)
    return 1.0 / (1.0 + float(np.exp(-np.clip(np.dot(model.weights, field.x), -30, 30))))


def _fit(items: list[tuple[np.ndarray, bool]], l2: float) -> GroupModel:
    x = np.stack([f for f, _ in items])
    y = np.array([float(ok) for _, ok in items])
    return GroupModel(
        weights=[round(float(w), 5) for w in fit_logistic(x, y, l2=l2)], fitted_on=len(items)
    )


def _threshold(scored: list[tuple[float, bool]], target: float, z: float) -> float:
    """The lowest threshold whose silent error rate, at its upper bound, stays within `target`.

    The bound is Wilson's at `z` standard errors: with few fields, or few wrong ones, the
    rate measured could be luck, and the threshold is set as if the rate were as high as the
    count allows. The lowest such threshold sends the fewest fields to review.
    """
    n = len(scored)
    ordered = sorted(scored, key=lambda item: -item[0])
    wrong_above = 0
    best = 1.0
    for i, (p, ok) in enumerate(ordered):
        wrong_above += not ok
        # Everything at or above p goes through unreviewed.
        nxt = ordered[i + 1][0] if i + 1 < n else -1.0
        if upper_bound(wrong_above, n, z) > target:
            break
        if nxt < p:
            best = p
    return round(best, 6)


def upper_bound(k: int, n: int, z: float) -> float:
    """Wilson's upper bound of a rate seen as `k` in `n`, at `z` standard errors."""
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


if __name__ == "__main__":
    raise SystemExit(main())
