"""The commands that learn from reviewers: `formscan lexicon` and `formscan calibrate`.

Thin, like the rest of the command line (`pipeline.cli`): each parses its arguments, opens
the store and hands over to the library (`Store.import_lexicon`, `pipeline.calibrate`).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from pipeline.cli_store import open_store, store_arguments


def add_commands(commands: Any) -> None:
    """Add `lexicon import`, `lexicon list` and `calibrate` to the command line's commands."""
    lexicon = commands.add_parser(
        "lexicon", help="known values of repeating fields (units, projects, 三级 names)"
    )
    lexicon_commands = lexicon.add_subparsers(title="lexicon commands")
    imported = lexicon_commands.add_parser(
        "import",
        help="take an official list into a field's lexicon",
        description="Take an official list into a field's lexicon. FILE.csv is UTF-8 (a BOM "
        "is fine); each row's FIRST column is one value, the other columns are ignored, "
        "blank rows are skipped, and a first row that reads `value`, the field's key or its "
        "printed label is taken for a header.",
    )
    store_arguments(imported)
    imported.add_argument(
        "--field",
        required=True,
        metavar="KEY",
        help="the field: a scalar key (implementing_unit, department, project_name) or a row "
        "key as indicators.KEY (indicators.name)",
    )
    imported.add_argument(
        "--form-type",
        metavar="TYPE",
        help="the form type whose field it is (default: every type that keeps a lexicon of KEY)",
    )
    imported.add_argument("file", type=Path, metavar="FILE.csv")
    imported.set_defaults(handler=_lexicon_import)
    listed = lexicon_commands.add_parser(
        "list", help="the known values: form type, field, value, source, times seen, last seen"
    )
    store_arguments(listed)
    listed.add_argument("--field", metavar="KEY", help="only this field's values")
    listed.add_argument("--form-type", metavar="TYPE", help="only this form type's values")
    listed.set_defaults(handler=_lexicon_list)

    calibrate = commands.add_parser(
        "calibrate",
        help="refit the confidence models on the store's reviewed fields",
        description="Refit each form type's confidence models on the store's answered review "
        "and audit tasks (a confirmed field was right, a corrected one wrong; audits weigh "
        "1/rate), print what the new models would change (review load, silent error "
        "estimated on the labelled fields), and write them to DIR/calibration/candidates/. "
        "With --apply, later runs over DIR score with them (DIR/calibration/TYPE.json).",
    )
    calibrate.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the store's folder, as for run"
    )
    calibrate.add_argument("--db", metavar="URL", help="store URL (default: DIR/formscan.db)")
    calibrate.add_argument(
        "--apply", action="store_true", help="make later runs over DIR use the new models"
    )
    calibrate.add_argument(
        "--form-type", metavar="TYPE", help="refit only this form type (default: every one)"
    )
    calibrate.add_argument(
        "--target-silent",
        type=float,
        default=0.002,
        metavar="P",
        help="highest silent error rate the thresholds allow, at its upper bound (default "
        "0.002); the fewer labelled fields, the more are needed to show a low one",
    )
    calibrate.add_argument(
        "--min-fields",
        type=int,
        default=200,
        metavar="N",
        help="labelled fields a model needs, and a form type to be refitted (default 200)",
    )
    calibrate.set_defaults(handler=_calibrate)


def _lexicon_import(args: argparse.Namespace) -> int:
    from pipeline.form_spec import known_form_types, lexicon_keys, load_template

    types = [args.form_type] if args.form_type else known_form_types()
    if args.form_type and args.form_type not in known_form_types():
        print(f"formscan lexicon import: no form type {args.form_type!r}", file=sys.stderr)
        return 2
    keeping = [t for t in types if args.field in lexicon_keys(t)]
    if not keeping:
        kept = "; ".join(f"{t}: {', '.join(lexicon_keys(t)) or 'none'}" for t in types)
        print(
            f"formscan lexicon import: no lexicon of {args.field!r} (the form type's file "
            f"marks a field with `lexicon: true`); kept: {kept}",
            file=sys.stderr,
        )
        return 2
    try:
        values = _first_column(args.file, _headers(args.field, [load_template(t) for t in keeping]))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        print(f"formscan lexicon import: {args.file}: {error}", file=sys.stderr)
        return 2
    store = open_store(args, "lexicon import")
    if store is None:
        return 2
    try:
        for form_type in keeping:
            added, known = store.import_lexicon(form_type, args.field, values)
            print(
                f"formscan lexicon import: {form_type} {args.field}: {added} new values, "
                f"{known} known already ({len(values)} rows read)"
            )
    finally:
        store.close()
    return 0


def _headers(key: str, templates: list[Any]) -> set[str]:
    """What a header row's first cell may read: `value`, the key, the printed labels."""
    names = {"value", key, key.removeprefix("indicators.")}
    for template in templates:
        names |= {label for spec in template.fields if spec.key == key for label in spec.labels}
        column = key.removeprefix("indicators.")
        names |= {c.header for c in template.indicators.columns if c.key == column}
    return names


def _first_column(path: Path, headers: set[str]) -> list[str]:
    """Each row's first cell, blank rows skipped, a header row dropped."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    if rows and rows[0] in headers:
        rows = rows[1:]
    return rows


def _lexicon_list(args: argparse.Namespace) -> int:

    store = open_store(args, "lexicon list")
    if store is None:
        return 2
    try:
        entries = store.lexicon_entries(args.form_type, args.field)
    finally:
        store.close()
    if not entries:
        print(
            "formscan lexicon list: no known values" + (f" of {args.field}" if args.field else "")
        )
        return 0
    for entry in entries:
        print(
            f"{entry.form_type}\t{entry.key}\t{entry.value}\t{entry.source}\t{entry.seen}\t"
            f"{entry.last_seen:%Y-%m-%dT%H:%M:%SZ}"
        )
    values = len({(e.form_type, e.key, e.value) for e in entries})
    print(f"formscan lexicon list: {values} known values ({len(entries)} entries by source)")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from pipeline.calibrate import apply, refit_store
    from pipeline.calibration_fit import FitOptions
    from pipeline.form_spec import known_form_types
    from pipeline.run import CALIBRATION_FOLDER

    if args.form_type is not None and args.form_type not in known_form_types():
        print(f"formscan calibrate: no form type {args.form_type!r}", file=sys.stderr)
        return 2
    if not 0 < args.target_silent < 1 or args.min_fields < 1:
        print(
            "formscan calibrate: --target-silent is a share, --min-fields a count", file=sys.stderr
        )
        return 2
    store = open_store(args, "calibrate")
    if store is None:
        return 2
    folder = args.out.resolve() / CALIBRATION_FOLDER
    options = FitOptions(target_silent=args.target_silent, min_group=args.min_fields)
    try:
        refits = refit_store(store, folder, options, [args.form_type] if args.form_type else None)
    finally:
        store.close()
    fitted = [r for r in refits if r.calibration is not None]
    for refit in refits:
        if refit.calibration is None or refit.change is None:
            print(f"{refit.form_type}: not refitted: {refit.refused} (keeps {refit.before})")
            continue
        c = refit.change
        print(f"{refit.form_type}: {refit.before} -> {refit.calibration.version}")
        print(
            f"  labelled fields: {c.labelled} ({c.audited} audits, weighing as {c.effective:.0f}), "
            f"{c.wrong} wrong"
        )
        print(f"  review load: {c.review_before:.2%} -> {c.review_after:.2%} of {c.fields} fields")
        print(
            f"  silent error on the labelled fields, weighted: {c.silent_before:.3%} -> "
            f"{c.silent_after:.3%} (the new models' scores held out by document)"
        )
        if args.apply:
            print(f"  applied: {apply(folder, refit)}: later runs over {args.out} score with it")
        else:
            print(f"  written to {folder / 'candidates'}; not in use: say --apply to use it")
    if not fitted:
        print("formscan calibrate: nothing refitted: too few labelled fields", file=sys.stderr)
        return 1
    return 0
