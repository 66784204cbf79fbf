"""The `formscan` command line: parses arguments and hands them to the library, nothing more."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline import __version__
from pipeline.cli_learning import add_commands as add_learning_commands
from pipeline.cli_store import open_store, store_arguments

EXIT_BUSY = 3  # another run holds the store: nothing was done, try again later


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

    run = commands.add_parser(
        "run", help="read what is new in scan files or folders into the store (nightly job)"
    )
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--out", type=Path, required=True, metavar="DIR")
    run.add_argument("--db", metavar="URL", help="store URL (default: sqlite in DIR/formscan.db)")
    run.add_argument("--engine", choices=["onnx", "paddle"], default="onnx", help="OCR engine")
    run.add_argument(
        "--form-type",
        metavar="TYPE",
        help="read every page as this form type (default: each page's own, of every known "
        "type; a page of none is listed, not read)",
    )
    run.add_argument(
        "--review-below",
        type=float,
        metavar="P",
        help="send fields whose confidence is below P to review, instead of the fitted "
        "threshold (a higher P: fewer silent errors, more review)",
    )
    run.add_argument(
        "--read-again-below",
        type=float,
        metavar="P",
        help="read a field a second, independent way when it passes review with a confidence "
        "below P; a disagreement sends it to review (default 0.995; 0: never)",
    )
    run.add_argument(
        "--audit-rate",
        type=float,
        default=None,
        metavar="R",
        help="send this share of the fields that would go straight through to review as "
        "audits, drawn from each document's hash, to measure the silent error rate "
        "(default 0.01; 0: none)",
    )
    run.add_argument(
        "--workers",
        type=int,
        help="readers at once: processes (default: one for each core this process may use), "
        "or Ray actors (default: one for each CPU of the cluster)",
    )
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where files are hashed and read: worker processes here (default), or actors on "
        "a Ray cluster, reading paths every node can reach (pip install 'formscan[cluster]')",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster to join (default: RAY_ADDRESS, else a cluster of this machine)",
    )
    run.add_argument(
        "--tries",
        type=int,
        metavar="N",
        help="quarantine a file after its reader dies N times reading it (default: local 1, Ray 3)",
    )
    run.add_argument(
        "--recycle-after",
        type=int,
        default=100,
        metavar="N",
        help="replace a worker after N documents (0: never)",
    )
    run.add_argument("--retry-failed", action="store_true", help="read quarantined files again")
    run.add_argument(
        "--reread-older",
        action="store_true",
        help="read again documents read by older model, template or calibration versions",
    )
    run.add_argument(
        "--rehash",
        action="store_true",
        help="hash every file, also those of the size and time the store last saw at their place",
    )
    run.add_argument(
        "--debug", type=Path, metavar="DIR", help="write what prepare and grid found on each page"
    )
    run.set_defaults(handler=_run)

    status = commands.add_parser(
        "status",
        help="what the store holds, quarantined files, review load and the silent error "
        "rate estimated from audits",
    )
    store_arguments(status)
    status.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")
    status.set_defaults(handler=_status)

    export = commands.add_parser("export", help="write the store's records, corrections applied")
    store_arguments(export)
    export.add_argument("--format", choices=["jsonl", "csv", "xlsx"], default="jsonl")
    export.add_argument(
        "-o", dest="output", type=Path, metavar="FILE", help="default: DIR/records.FORMAT"
    )
    export.set_defaults(handler=_export)

    review = commands.add_parser("review", help="serve the review queue to reviewers' browsers")
    store_arguments(review)
    review.add_argument("--host", default="127.0.0.1", help="address to listen on")
    review.add_argument("--port", type=int, default=8765)
    review.add_argument(
        "--https",
        action="store_true",
        help="served behind TLS (a proxy): mark the session cookie Secure",
    )
    review.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain http on an address other machines reach (passwords in the clear)",
    )
    review.add_argument(
        "--lang",
        default="zh_CN",
        metavar="LANG",
        help="the pages' language for reviewers who have not picked one: zh_CN (default) or en",
    )
    review.set_defaults(handler=_review)

    users = commands.add_parser("users", help="reviewers' and admins' accounts")
    user_commands = users.add_subparsers(title="users commands")
    add = user_commands.add_parser(
        "add", help="add an account, or set its role and password (read from the terminal or stdin)"
    )
    store_arguments(add)
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=["reviewer", "admin"], default="reviewer")
    add.set_defaults(handler=_users_add)
    listed = user_commands.add_parser(
        "list", help="every account: name, role, enabled or disabled, locked until when"
    )
    store_arguments(listed)
    listed.set_defaults(handler=_users_list)
    for name, text in [
        ("disable", "stop an account signing in, and end its sessions now"),
        ("enable", "let a disabled account sign in again"),
        (
            "remove",
            "delete an account: its sessions end, its claims go back to the queue, "
            "its corrections stay under its name",
        ),
        ("unlock", "lift the lock that failed sign-ins put on an account"),
    ]:
        change = user_commands.add_parser(name, help=text)
        store_arguments(change)
        change.add_argument("name", metavar="NAME")
        change.set_defaults(handler=_users_change, change=name)

    add_learning_commands(commands)

    score = commands.add_parser("eval", help="score an export against a folder of truth files")
    score.add_argument("--gold", type=Path, required=True, metavar="DIR")
    score.add_argument("--pred", type=Path, required=True, metavar="EXPORT.jsonl")
    score.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")
    score.set_defaults(handler=_eval)

    return parser


def _run(args: argparse.Namespace) -> int:
    import logging

    from pipeline.audit import DEFAULT_RATE
    from pipeline.ocr.base import OcrOptions
    from pipeline.pool import WorkerStartError, start_pool
    from pipeline.report import node_lines
    from pipeline.run import RunOptions, store_options
    from pipeline.second_reading import SecondReadingOptions

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(
            f"formscan run: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr
        )
        return 2
    audit_rate = DEFAULT_RATE if args.audit_rate is None else args.audit_rate
    if not 0 <= audit_rate <= 1:
        print(f"formscan run: --audit-rate is a share, 0 to 1, not {audit_rate}", file=sys.stderr)
        return 2
    if args.ray_address is not None and args.executor != "ray":
        print("formscan run: --ray-address goes with --executor ray", file=sys.stderr)
        return 2
    if (args.tries is not None and args.tries < 1) or (args.workers or 0) < 0:
        print("formscan run: --tries and --workers are counts, 1 or more", file=sys.stderr)
        return 2
    from pipeline.form_spec import known_form_types, load_templates

    if args.form_type is not None and args.form_type not in known_form_types():
        known = ", ".join(known_form_types())
        print(f"formscan run: no form type {args.form_type!r}; known: {known}", file=sys.stderr)
        return 2
    try:  # a broken form type file stops the run before any file is read
        load_templates([args.form_type] if args.form_type is not None else None)
    except ValueError as error:
        print(f"formscan run: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    options = RunOptions(
        form_type=args.form_type,
        ocr=OcrOptions(kind=args.engine),
        debug_dir=args.debug,
        review_below=args.review_below,
        audit_rate=audit_rate,
        second_reading=SecondReadingOptions()
        if args.read_again_below is None
        else SecondReadingOptions(enabled=args.read_again_below > 0, below=args.read_again_below),
    )
    options = store_options(options, args.out)
    from pipeline.batch import BatchOptions, run_batch
    from pipeline.store import StoreBusyError, StoreError

    batch = BatchOptions(
        workers=args.workers or 0,  # 0: the executor's own count, of cores or of CPUs
        executor=args.executor,
        ray_address=args.ray_address,
        tries=args.tries,
        recycle_after=max(0, args.recycle_after),
        retry_failed=args.retry_failed,
        reread_older=args.reread_older,
        rehash=args.rehash,
        db=args.db,
    )
    try:
        # The readers load their models while the run opens the store and plans.
        pool = start_pool(options, batch.pool_settings())
        report = run_batch(args.paths, args.out, options, batch, pool)
    except StoreBusyError as error:
        print(f"formscan run: {error}", file=sys.stderr)
        return EXIT_BUSY
    except (StoreError, WorkerStartError) as error:
        print(f"formscan run: failed: {error}", file=sys.stderr)
        return 1
    decided = ", ".join(f"{n} {what}" for what, n in sorted(report.decisions.items()))
    if report.read == 0:
        print(f"formscan run: nothing new to read: {report.files} files ({decided})")
    else:
        print(
            f"formscan run: {report.read} files read of {report.files} ({decided}), "
            f"{report.pages} pages, {report.forms} forms, {report.fields} fields, "
            f"{report.review} sent to review, {report.audit} audit tasks, "
            f"{len(report.errors)} files not read"
        )
    for reason in report.errors.values():
        print(f"  not read: {reason}")
    for name, reasons in report.retried.items():
        print(f"  read again after its reader died ({len(reasons)}x): {name}")
    for line in node_lines(report.nodes):
        print(f"  {line}")
    for page in report.unrecognised:
        print(f"  no known form type: {page}")
    print(f"  records: {args.out / 'records.jsonl'} ({report.forms_in_store} forms in the store)")
    print(f"  report: {args.out / 'runs' / (report.run_id + '.html')}")
    return 0


def _status(args: argparse.Namespace) -> int:
    import json

    from pipeline.report import node_lines
    from pipeline.store_figures import figures_lines, store_figures

    store = open_store(args, "status")
    if store is None:
        return 2
    try:
        counts = store.counts()
        runs = store.runs()
        failed = store.documents(["failed"])
        unrecognised = store.unrecognised_pages()
        figures = store_figures(store)
        url = store.url
    finally:
        store.close()
    if args.as_json:
        given = {
            "store": url,
            "counts": counts,
            "runs": {
                "count": len(runs),
                "last": runs[-1]["id"] if runs else None,
                "last_by_node": (runs[-1]["counts"] or {}).get("nodes", {}) if runs else {},
            },
            "quarantined": {d.name: d.reason for d in failed},
            "unrecognised_pages": [
                {"file": name, "page": page, "why": why} for name, page, why in unrecognised
            ],
            **figures.model_dump(mode="json"),
        }
        print(json.dumps(given, ensure_ascii=False, indent=2))
        return 0
    print(f"store: {url}")
    print("documents: " + (_by(counts["documents"]) or "none"))
    print(f"forms: {counts['forms']}")
    print("review tasks: " + (_by(counts["review_tasks"]) or "none"))
    print(f"corrections: {counts['corrections']}")
    if runs:
        last = runs[-1]
        print(f"runs: {len(runs)}, last {last['id']} ({last['state']})")
        for line in node_lines((last["counts"] or {}).get("nodes", {})):
            print(f"  {line}")
    for line in figures_lines(figures):
        print(line)
    if failed:
        print(f"quarantined ({len(failed)}; read again when changed or with --retry-failed):")
        for document in failed:
            print(f"  {document.name}: {document.reason}")
    if unrecognised:
        print(f"pages of no known form type, not read ({len(unrecognised)}; for a person):")
        for name, page, why in unrecognised:
            print(f"  {name}, page {page}: {why}")
    return 0


def _by(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _export(args: argparse.Namespace) -> int:
    from pipeline.export import write_jsonl
    from pipeline.export_tables import XLSX_CELL_CHARS, write_csv, write_xlsx

    store = open_store(args, "export")
    if store is None:
        return 2
    output: Path = args.output or (args.out or Path(".")) / f"records.{args.format}"
    cut = 0
    try:
        if args.format == "xlsx":
            written = write_xlsx(store, output)
            count, cut = written.forms, written.cut
        elif args.format == "csv":
            tables = write_csv(store, output)
            count = sum(tables.values())
        else:
            count = write_jsonl(store, output)
    finally:
        store.close()
    if args.format == "csv":
        for path, forms in tables.items():
            print(f"formscan export: {forms} forms to {path}")
        if not tables:
            print("formscan export: no forms in the store, no table written")
    else:
        print(f"formscan export: {count} forms to {output}")
    if cut:
        print(
            f"  {cut} values longer than a cell's {XLSX_CELL_CHARS:,} characters were cut: "
            "the notes column names them; --format csv or jsonl holds them whole"
        )
    return 0


def _review(args: argparse.Namespace) -> int:
    from pipeline.review.i18n import LANGUAGES
    from pipeline.review.serve import plain_http_exposed, serve

    if args.lang not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        print(f"formscan review: no pages in {args.lang!r}; there are: {known}", file=sys.stderr)
        return 2
    if plain_http_exposed(args.host) and not args.https:
        if not args.insecure_http:
            print(
                f"formscan review: {args.host} is reachable from other machines, and plain http "
                "would send passwords and sessions in the clear: serve behind a TLS proxy "
                "(--https), or say --insecure-http",
                file=sys.stderr,
            )
            return 2
        print(
            f"formscan review: warning: plain http on {args.host}: passwords and session "
            "cookies cross the network in the clear",
            file=sys.stderr,
        )
    store = open_store(args, "review")
    if store is None:
        return 2
    print(f"formscan review: serving {store.url} on http://{args.host}:{args.port}/")
    try:
        serve(store, args.host, args.port, https=args.https, language=args.lang)
    finally:
        store.close()
    return 0


def _users_add(args: argparse.Namespace) -> int:
    import getpass

    from pipeline.review.auth import hash_password
    from pipeline.store.users import name_problem

    problem = name_problem(args.name)
    if problem:
        print(f"formscan users add: {problem}", file=sys.stderr)
        return 2
    store = open_store(args, "users add")
    if store is None:
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("formscan users add: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("formscan users add: a password needs at least 8 characters", file=sys.stderr)
        return 2
    try:
        new = store.set_user(args.name, args.role, hash_password(password))
    finally:
        store.close()
    done = "added" if new else "updated; its sessions ended"
    print(f"formscan users add: {args.name} ({args.role}) {done}")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    store = open_store(args, "users list")
    if store is None:
        return 2
    try:
        users = store.users()
    finally:
        store.close()
    now = datetime.now(UTC)
    rows = [("NAME", "ROLE", "STATE", "LOCKED UNTIL")]
    for user in users:
        locked = user.locked_for(now) > 0 and user.locked_until is not None
        until = f"{user.locked_until:%Y-%m-%dT%H:%M:%SZ}" if locked else "-"
        rows.append((user.name, user.role, "disabled" if user.disabled else "enabled", until))
    widths = [max(len(row[n]) for row in rows) for n in range(3)]
    for *cells, until in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)), until
        )
    return 0


def _users_change(args: argparse.Namespace) -> int:
    command = f"users {args.change}"
    store = open_store(args, command)
    if store is None:
        return 2
    changes = {
        "disable": lambda name: store.set_disabled(name, True),
        "enable": lambda name: store.set_disabled(name, False),
        "remove": store.remove_user,
        "unlock": store.unlock,
    }
    try:
        found = changes[args.change](args.name)
    finally:
        store.close()
    if not found:
        print(f"formscan {command}: no user {args.name!r}", file=sys.stderr)
        return 2
    done = {"disable": "disabled", "enable": "enabled", "remove": "removed", "unlock": "unlocked"}
    print(f"formscan {command}: {args.name} {done[args.change]}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pipeline.evaluate import EvalInputError, evaluate_files, format_report

    try:
        report = evaluate_files(args.gold, args.pred)
    except EvalInputError as error:
        print(f"formscan eval: {error}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2) if args.as_json else format_report(report))
    return 0
