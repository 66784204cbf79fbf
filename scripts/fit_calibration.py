"""Fit the confidence models and the review threshold on generated fitting sets.

    formscan run corpus/fit --out out/fit --workers 2
    formscan run corpus/dev --out out/dev --workers 2
    python scripts/fit_calibration.py --gold corpus/fit --pred out/fit/records.jsonl \
        --gold corpus/dev --pred out/dev/records.jsonl

Each exported field carries its evidence, so fitting needs no second pass over the scans.
The fitting set's seeds must be kept apart from the seeds of any set that is reported on.
Fits one form type's models (`--form-type`, by default the approval form's) on the records of
that type, and writes models/calibration/FORM_TYPE.json; prints what the fitted model does on
the fitting set. The fitting itself is `pipeline.calibration_fit`'s, which `formscan calibrate`
uses on a store's reviewed fields; this script labels the fields by their truth files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.calibration_fit import (
    FitOptions,
    LabelledField,
    fit_calibration,
    labelled,
    labels_version,
)
from pipeline.confidence import FALLBACK_FORM_TYPE, FormSignals, calibration_path, form_signals
from pipeline.evaluate import calibration_error, label_outputs, load_gold_set, load_predictions
from pipeline.export import form_of
from pipeline.form_spec import Template, load_template
from pipeline.readings import FieldReading
from pipeline.records import ExportRecord, GoldRecord


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
    fields: list[LabelledField] = []
    for index, (gold, pred) in enumerate(zip(args.gold, args.pred, strict=True)):
        records = [r for r in load_predictions(pred) if r.form_type == args.form_type]
        truth = {
            document: [r for r in forms if r.form_type == args.form_type]
            for document, forms in load_gold_set(gold).items()
        }
        fields += _fields(truth, records, index)
    options = FitOptions(target_silent=args.target_silent, z=args.z, folds=args.folds, l2=args.l2)
    fit = fit_calibration(
        fields,
        version=labels_version("fit", fields),
        notes=f"fitted on {', '.join(map(str, args.gold))} ({len(fields)} fields), "
        f"thresholds on {args.folds}-fold held-out scores, target silent error "
        f"{args.target_silent} at its upper bound (z {args.z})",
        options=options,
        say=print,
    )
    out = args.out or calibration_path(args.form_type)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(fit.calibration.model_dump(), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    held_out = [(p, f.correct) for p, f in zip(fit.held_out, fields, strict=True)]
    n = len(held_out)
    print(
        f"fields {n}, accuracy {sum(ok for _, ok in held_out) / n:.4f}, threshold "
        f"{fit.calibration.threshold:.4f}; scored by models fitted without their document: "
        f"review load {fit.review_load(fields):.4f}, silent error {fit.silent_error(fields):.4f}, "
        f"calibration error {calibration_error(held_out):.4f}"
    )
    print(f"wrote {out}")
    return 0


def _fields(
    gold: dict[str, list[GoldRecord]], records: list[ExportRecord], index: int
) -> list[LabelledField]:
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
        fields.append(labelled(reading, template.group_of(key), signals, correct, (index, file)))
    return fields


if __name__ == "__main__":
    raise SystemExit(main())
