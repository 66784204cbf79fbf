"""Planning's rate: files a second a run plans, all new and then all known, on one store.

    python scripts/bench_planning.py --files 5000 --size-kb 300 [--db URL | --postgres]

Writes FILES files of SIZE_KB random bytes (named like scans; planning never decodes them)
into a temporary folder and plans them twice, as `formscan run` does before it reads: the
first time every file is new (hashed, then recorded, a transaction each); the second time
every file is known by its size and time (no byte read), and once more with `--rehash`
(every file hashed again). Hashing runs here in this one process, as a local run's does
where its readers are busy. Prints files/s for each, against the 350 documents/s that 100
nodes of 16 cores read (README, the scaling note).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from throwaway_postgres import throwaway_server

from pipeline.batch import BatchOptions, content_keys, file_times, plan_run
from pipeline.hashing import ContentKey, key_files
from pipeline.ingest import find_scans
from pipeline.store import Store, store_url


class _Hasher:
    """The one part of a reading pool that planning uses, in this process."""

    def content_keys(self, paths: Sequence[Path]) -> list[ContentKey]:
        return key_files(paths)


def _plan(store: Store, folder: Path, rehash: bool) -> tuple[float, int]:
    clock = time.perf_counter()
    scans = find_scans([folder])
    times = file_times(scans)
    keys, hashed = content_keys(store, _Hasher(), scans, times, rehash)  # type: ignore[arg-type]
    run_id = store.start_run([str(folder)], {})
    plan_run(store, scans, keys, run_id, BatchOptions(rehash=rehash), None, times)
    store.finish_run(run_id, "done", {}, None)
    return time.perf_counter() - clock, hashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size-kb", type=int, default=300, help="a scan's size, about")
    parser.add_argument("--db", help="store URL (default: SQLite in the temporary folder)")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL server, fsync on"
    )
    args = parser.parse_args()
    server = throwaway_server() if args.postgres else nullcontext(args.db)
    with server as db, tempfile.TemporaryDirectory(prefix="formscan-plan-") as work:
        folder = Path(work) / "scans"
        folder.mkdir()
        for index in range(args.files):
            (folder / f"scan-{index:07d}.jpg").write_bytes(os.urandom(args.size_kb * 1024))
        store = Store.open(store_url(Path(work), db))
        try:
            for what, rehash in (("all new", False), ("all known", False), ("--rehash", True)):
                seconds, hashed = _plan(store, folder, rehash)
                print(
                    f"{what:>10}: {args.files} files in {seconds:.2f} s, "
                    f"{args.files / seconds:,.0f} files/s ({hashed} hashed; "
                    f"{args.files / seconds / 350:.1f}x the 350 documents/s of 100 nodes)"
                )
        finally:
            store.close()


if __name__ == "__main__":
    main()
