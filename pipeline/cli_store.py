"""The store a command names (`--out DIR` or `--db URL`): its arguments, and opening it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # each command imports what it needs: `run` starts its workers first
    from pipeline.store import Store


def store_arguments(parser: argparse.ArgumentParser) -> None:
    """`--out DIR` or `--db URL`, one of them required."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="DIR", help="a run's folder (its formscan.db)")
    where.add_argument("--db", metavar="URL", help="store URL, e.g. postgresql://host/formscan")


def open_store(args: argparse.Namespace, command: str) -> Store | None:
    """The store `--out`/`--db` name; None, once the reason is printed, when it cannot open."""
    from pipeline.store import Store, StoreError, store_url

    try:
        if args.db is None and not (args.out / "formscan.db").exists():
            raise StoreError(f"no store in {args.out}: run `formscan run SCANS --out {args.out}`")
        return Store.open(store_url(args.out, args.db))
    except StoreError as error:
        print(f"formscan {command}: {error}", file=sys.stderr)
        return None
