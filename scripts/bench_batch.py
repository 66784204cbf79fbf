"""Measure a batch run: pages per minute, each worker's memory from start to end, time by stage.

    python scripts/bench_batch.py --docs 100 --workers 2 --work /tmp/bench
    python scripts/bench_batch.py --scans corpus/big --workers 2 --recycle-after 0 --work /tmp/mem

generates `--docs` documents per level (`--levels`, default clean) with the corpus generator
(or reads the scans in `--scans`), runs `formscan run` over them into a fresh store, samples
the resident memory of every reading worker from /proc once a second, and writes
`WORK/bench.json` and prints: pages per minute (pages over the run's wall time), each
worker's memory after its first document, at its last and at its peak, and the share of
time each stage took (CPU seconds in the workers, and the parent's hashing, storing and
export). `--recycle-after 0` (the default here) keeps each worker for the whole run, so a
leak would show as the last figure growing past the first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from synth.documents import write_corpus

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 1.0


def _workers_of(pid: int) -> list[int]:
    """The reading workers of a run: its spawned children (not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE / 2**20
    except (OSError, ValueError, IndexError):
        return None


def run_report(out: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """A finished `formscan run --out OUT`'s report, and its seconds by reading stage.

    `total` is the whole run, `load` and `load_wait` overlap the stages: none is a stage.
    """
    [report_path] = sorted((out / "runs").glob("*.json"))
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    stages = {
        k: v
        for k, v in report["seconds"].items()
        if k not in ("total", "load", "load_wait") and v > 0
    }
    return report, stages


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="folder for scans and store")
    parser.add_argument("--scans", type=Path, help="read these scans instead of generating")
    parser.add_argument("--docs", type=int, default=100, help="documents per level to generate")
    parser.add_argument("--levels", default="clean", help="comma-separated damage levels")
    parser.add_argument("--seed", type=int, default=5000, help="corpus seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recycle-after", type=int, default=0, help="0: never replace a worker")
    args = parser.parse_args()

    scans = args.scans
    if scans is None:
        scans = args.work / "scans"
        if not (scans / "manifest.jsonl").exists():
            write_corpus(scans, args.seed, args.docs, tuple(args.levels.split(",")), False)
    out = args.work / "out"
    if (out / "formscan.db").exists():
        print(f"bench_batch: {out} holds a store already; remove it first", file=sys.stderr)
        return 2
    formscan = Path(sys.executable).parent / "formscan"
    command = [str(formscan), "run", str(scans), "--out", str(out)]
    command += ["--workers", str(args.workers), "--recycle-after", str(args.recycle_after)]
    started = time.monotonic()
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    samples: dict[int, list[float]] = {}
    while run.poll() is None:
        for worker in _workers_of(run.pid):
            rss = _rss_mb(worker)
            if rss is not None:
                samples.setdefault(worker, []).append(rss)
        time.sleep(SAMPLE_SECONDS)
    wall = time.monotonic() - started
    stdout = run.stdout.read() if run.stdout else ""
    if run.returncode != 0:
        print(f"bench_batch: formscan run failed ({run.returncode}):\n{stdout}", file=sys.stderr)
        return 1
    report, stages = run_report(out)
    busy = sum(stages.values()) or 1.0
    result = {
        "documents": report["read"],
        "pages": report["pages"],
        "workers_asked": args.workers,
        "wall_seconds": round(wall, 1),
        "pages_per_minute": round(report["pages"] / wall * 60, 1),
        # From the workers themselves: after their first document, their last, and peak.
        "workers": report["workers"],
        # From /proc, once a second, from start-up (models loading) to the end.
        "sampled_rss_mb": {
            str(pid): {"first": round(s[0]), "last": round(s[-1]), "peak": round(max(s))}
            for pid, s in samples.items()
        },
        "stage_seconds": stages,
        "stage_share": {k: round(v / busy, 3) for k, v in stages.items()},
        "model_load_seconds": report["seconds"].get("load"),
    }
    (args.work / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{result['documents']} documents, {result['pages']} pages in {wall:.0f} s "
        f"with {args.workers} workers: {result['pages_per_minute']} pages/min"
    )
    for pid, memory in report["workers"].items():
        print(
            f"  worker {pid}: {memory['documents']} documents, RSS {memory['first_rss_mb']} MB "
            f"after the first, {memory['last_rss_mb']} MB after the last, "
            f"peak {memory['peak_rss_mb']} MB"
        )
    print(
        "  time by stage: "
        + ", ".join(f"{k} {v:.0f} s ({result['stage_share'][k]:.0%})" for k, v in stages.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
