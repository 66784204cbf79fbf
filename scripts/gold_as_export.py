"""Write a truth set as if the pipeline had read it perfectly, to check `formscan eval`.

Usage: gold_as_export.py GOLD_DIR -o OUT.jsonl

Every truth leaf becomes {"value": ..., "confidence": 1.0, "review": false}, and each form's
`source.file` is the scan beside its truth file, relative to GOLD_DIR (`NAME.png` when no
scan is there). Scoring the result against GOLD_DIR must give field accuracy 1.0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.evaluate import GOLD_SUFFIX, SCAN_SUFFIXES, EvalInputError, load_gold_set
from pipeline.records import ExportRecord, FieldResult, GoldRecord, Source, write_export

# Assumed when no scan lies beside a truth file; any scan suffix pairs the same way.
FALLBACK_SUFFIX = ".png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold_dir", type=Path, metavar="GOLD_DIR")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.jsonl")
    args = parser.parse_args()
    try:
        gold = load_gold_set(args.gold_dir)
    except EvalInputError as error:
        print(f"gold_as_export: {error}", file=sys.stderr)
        return 2
    records = [
        as_export(record, scan_beside(args.gold_dir, document))
        for document, forms in gold.items()
        for record in forms
    ]
    write_export(args.out, records)
    return 0


def scan_beside(gold_dir: Path, document: str) -> str:
    """Return the scan of `document` (`batch7/NAME`) relative to `gold_dir`, in `/` form."""
    relative = Path(document)
    folder, name = gold_dir / relative.parent, relative.name
    candidates = [
        path
        for path in folder.iterdir()
        if path.is_file() and path.stem == name and not path.name.endswith(GOLD_SUFFIX)
    ]
    # A known scan suffix wins over any other file that happens to share the name.
    candidates.sort(key=lambda p: (p.suffix.lower() not in SCAN_SUFFIXES, p.name))
    chosen = candidates[0].name if candidates else name + FALLBACK_SUFFIX
    return (relative.parent / chosen).as_posix()


def as_export(record: GoldRecord, source_file: str) -> ExportRecord:
    """Turn one truth record into the export record of a perfect, certain reading."""
    return ExportRecord(
        source=Source(file=source_file),
        form_type=record.form_type,
        fields={key: certain(value) for key, value in record.fields.items()},
        indicators=[
            {key: certain(value) for key, value in row.items()} for row in record.indicators
        ],
    )


def certain(value: str) -> FieldResult:
    """Return `value` as a field read with full confidence and not sent to review."""
    return FieldResult(value=value, confidence=1.0, review=False)


if __name__ == "__main__":
    raise SystemExit(main())
