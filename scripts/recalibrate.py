"""Score an export again under another calibration, without reading the scans again.

    python scripts/recalibrate.py --pred out/report/records.jsonl -o out/report/rescored.jsonl

Each exported field carries its evidence, so a newly fitted `models/calibration/TYPE.json` (or the
one named by `--calibration`) can be tried on an old run's records. Writes the records with
new confidences and review flags; `formscan eval` then scores them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.confidence import load_calibration, read_calibration, score_form
from pipeline.export import form_of, to_record
from pipeline.form_spec import load_template
from pipeline.records import read_export, write_export


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pred", type=Path, required=True, help="records.jsonl of a run")
    parser.add_argument("-o", "--out", type=Path, required=True, help="where to write")
    parser.add_argument(
        "--calibration",
        type=Path,
        help="score every record with this file (default: each form type's own calibration)",
    )
    args = parser.parse_args()

    records = []
    for record in read_export(args.pred):
        form = form_of(record)
        calibration = (
            read_calibration(args.calibration)
            if args.calibration is not None
            else load_calibration(record.form_type)
        )
        score_form(form, load_template(record.form_type), calibration)
        versions = (record.model_extra or {}).get("versions") or {}
        # The record now says which calibration scored it.
        records.append(to_record(form, {**versions, "calibration": calibration.version}))
    write_export(args.out, records)
    print(f"{len(records)} forms scored -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
