"""The `formscan` command line: parses arguments and hands them to the library, nothing more."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline import __version__
from pipeline.evaluate import EvalInputError, evaluate_files, format_report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `formscan` command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    result: int = handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="formscan", description="Read scanned forms into checked, structured records."
    )
    parser.add_argument("--version", action="version", version=f"formscan {__version__}")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="read scans (files or folders) into records")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--out", type=Path, required=True, metavar="DIR")
    run.add_argument("--engine", choices=["onnx", "paddle"], default="onnx", help="OCR engine")
    run.add_argument("--workers", type=int, default=1, help="processes reading files at once")
    run.add_argument(
        "--debug", type=Path, metavar="DIR", help="write what prepare and grid found on each page"
    )
    run.set_defaults(handler=_run)

    score = commands.add_parser("eval", help="score an export against a folder of truth files")
    score.add_argument("--gold", type=Path, required=True, metavar="DIR")
    score.add_argument("--pred", type=Path, required=True, metavar="EXPORT.jsonl")
    score.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")
    score.set_defaults(handler=_eval)

    return parser


def _run(args: argparse.Namespace) -> int:
    from pipeline.ocr.base import OcrOptions
    from pipeline.run import RunOptions, run

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(
            f"formscan run: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr
        )
        return 2
    options = RunOptions(ocr=OcrOptions(kind=args.engine), debug_dir=args.debug)
    summary = run(args.paths, args.out, options, workers=max(1, args.workers))
    errors = summary["errors"]
    assert isinstance(errors, dict)
    print(
        f"formscan run: {summary['files']} files, {summary['pages']} pages, "
        f"{summary['forms']} forms, {summary['fields']} fields, "
        f"{summary['review']} sent to review, {len(errors)} files not read"
    )
    for reason in errors.values():
        print(f"  not read: {reason}")
    print(f"  records: {args.out / 'records.jsonl'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    try:
        report = evaluate_files(args.gold, args.pred)
    except EvalInputError as error:
        print(f"formscan eval: {error}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2) if args.as_json else format_report(report))
    return 0
