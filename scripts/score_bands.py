"""Score a run made with `--read-again-below 1` as if it had read again only below each band.

    python scripts/score_bands.py --gold corpus/report --pred out/report/records.jsonl \
        [--calibration models/calibration/budget_performance_approval.json] \
        [--bands 0.99,0.995,0.999] [--by-level]

With every field that passed review read a second time, the run holds what a second reading
says wherever one could be made; which fields a smaller band would have read again, and so
which disagreements it would have sent to review, follows from each field's first-pass
confidence. Prints field accuracy, silent error rate, review load and the share of fields
read again for each band (and each damage level, the first folder of each file's path), and
the wrong fields that would still go through unreviewed at the first band; `--write` keeps the
records as the first band would have left them, for `formscan eval`.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline.confidence import (
    calibration_path,
    form_signals,
    probability,
    read_calibration,
    unsupported,
)
from pipeline.evaluate import label_outputs, load_gold_set, load_predictions
from pipeline.export import form_of
from pipeline.form_spec import load_template
from pipeline.records import FieldResult, write_export


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--pred", type=Path, required=True)
    parser.add_argument(
        "--calibration",
        type=Path,
        default=calibration_path("budget_performance_approval"),
        help="the calibration the bands are drawn under (its form type's records only)",
    )
    parser.add_argument("--bands", default="0.995", help="comma-separated (default 0.995)")
    parser.add_argument("--by-level", action="store_true", help="figures per damage level")
    parser.add_argument(
        "--write",
        type=Path,
        help="write the records as the first band would have left them, for `formscan eval`",
    )
    args = parser.parse_args()

    calibration = read_calibration(args.calibration)
    records = load_predictions(args.pred)
    first: dict[int, FirstPass] = {}
    exported_fields: list[tuple[FieldResult, FirstPass]] = []
    for record in records:
        form = form_of(record)
        template = load_template(record.form_type)
        signals = form_signals(form, template)
        exported = [
            *record.fields.values(),
            *(f for row in record.indicators for f in row.values()),
        ]
        for result, (key, reading) in zip(exported, form.all_fields(), strict=True):
            evidence = reading.evidence
            group = template.group_of(key)
            p = probability(calibration, group, reading, signals)
            first[id(result)] = FirstPass(
                confidence=p,
                reviewed=p < calibration.threshold_of(signals, group)
                or evidence.contradicted
                or unsupported(evidence),
                disagrees=evidence.second_reading is not None and evidence.second_disagrees,
                level=record.source.file.split("/")[0],
                what=f"{record.source.file} {key} {reading.value!r} "
                f"(second {evidence.second_reading!r}, p {p:.4f})",
            )
            exported_fields.append((result, first[id(result)]))
    gold = load_gold_set(args.gold)
    labelled = [(first[id(got)], ok) for _, got, ok in label_outputs(gold, records)]
    bands = [float(b) for b in args.bands.split(",")]
    for band in bands:
        groups: dict[str, list[tuple[FirstPass, bool]]] = defaultdict(list)
        for field, ok in labelled:
            groups["all"].append((field, ok))
            if args.by_level:
                groups[field.level].append((field, ok))
        for name, items in sorted(groups.items()):
            n = len(items)
            review = sum(f.sent(band) for f, _ in items)
            silent = sum(not f.sent(band) and not ok for f, ok in items)
            again = sum(not f.reviewed and f.confidence < band for f, _ in items)
            print(
                f"band {band:<7} {name:8} fields {n:6} accuracy "
                f"{sum(ok for _, ok in items) / n:.4f} silent {silent / n:.4%} "
                f"review {review / n:.4f} read again {again / n:.4f}"
            )
    if args.write is not None:
        for result, field in exported_fields:
            result.review = field.sent(bands[0])
        write_export(args.write, records)
    print(f"wrong and unreviewed at band {bands[0]}:")
    for field, ok in labelled:
        if not ok and not field.sent(bands[0]):
            print("  " + field.what)
    return 0


@dataclass(frozen=True)
class FirstPass:
    """A field as the first pass left it, and whether its second reading disagreed."""

    confidence: float
    reviewed: bool
    disagrees: bool
    level: str
    what: str

    def sent(self, band: float) -> bool:
        """Whether the field goes to review when fields under `band` are read again."""
        return self.reviewed or (self.confidence < band and self.disagrees)


if __name__ == "__main__":
    raise SystemExit(main())
