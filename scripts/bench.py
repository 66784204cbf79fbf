"""Pages per second of formscan against full-page PP-OCR, on the same pages, file in, out.

    python scripts/bench.py                          # samples + 50+ generated pages per level
    python scripts/bench.py --runs 1 --docs 4        # a quick look
    python scripts/bench.py --workers 1 --threads 1  # one core each
    python scripts/bench.py --executor ray --docs 4  # Ray actors against local workers

The pages are the committed samples plus a generated set (`--seed`, `--docs` documents per
level, made once into `WORK/corpus`; at least 50 pages per level unless `--docs` is lowered),
or the generated set in `--corpus`.
Each run times, back to back and in a fresh process each:

- formscan: `formscan run PAGES --out ... --workers N`, file in, records in the store and
  `records.jsonl` out, model loading included;
- with `--price-second-reading`, `once`: the same `formscan run` with `--read-again-below 0`,
  every field read once, to price the second reading;
- the peers of `scripts/bench_peers.py`: rapidocr's full-page pipeline on the same PP-OCRv6
  models, and the PaddleOCR pipeline on PP-OCRv5 mobile, each rendering the pages the same
  way and running detection and recognition over every whole page.

Each peer runs in one process with `--threads` threads (default: one per core; 0 leaves the
engine's own default, which for PaddleOCR is more threads than this machine has cores);
formscan runs `--workers` processes of one thread each (default: one per core). The order
of the systems turns round from run to run, so drift in the machine's speed favours none.

With `--executor ray`, the systems are instead formscan's two executors at 1 and 2 readers
(`--executor-counts`), on the same pages: local worker processes, and actors on a Ray cluster
of this machine (`scripts/bench_executors.py`); it prints each one's pages/s and Ray's as a
share of local's at each count, and writes them to `WORK/bench-executors.json`.

Prints the median of `--runs` runs: pages/s, formscan's ratio to each peer, model load time,
peak memory (formscan: its largest worker), formscan's time by stage, and formscan's field
accuracy on the pages (`pipeline.evaluate`, against the truth files beside them). Also times
a cold `formscan run` of one page, three times. Writes everything to `WORK/bench.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_batch import _rss_mb, _workers_of, run_report
from bench_executors import compare, print_comparison
from synth.documents import write_corpus

from pipeline.evaluate import evaluate, load_gold_set, load_predictions
from pipeline.ingest import IMAGE_SUFFIXES, PDF_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ("clean", "light", "heavy", "photo")
MIN_PAGES_PER_LEVEL = 50
SAMPLE_SECONDS = 0.5


def _gather_pages(work: Path, corpus: Path | None, seed: int, docs: int) -> Path:
    """WORK/pages: the committed samples and the generated set, side by side, truth included."""
    if corpus is None:
        corpus = work / "corpus"
        if not (corpus / "manifest.jsonl").exists():
            write_corpus(corpus, seed, docs, LEVELS, False)
    per_level: dict[str, int] = {}
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        per_level[entry["level"]] = per_level.get(entry["level"], 0) + entry["pages"]
    short = {k: v for k, v in per_level.items() if v < MIN_PAGES_PER_LEVEL}
    if short:
        print(f"bench: fewer than {MIN_PAGES_PER_LEVEL} generated pages in {short}", flush=True)
    pages = work / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    shutil.copytree(ROOT / "samples", pages / "samples", ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(corpus, pages / "generated", ignore=shutil.ignore_patterns("manifest.jsonl"))
    return pages


def _scan_files(pages: Path) -> list[Path]:
    suffixes = IMAGE_SUFFIXES | PDF_SUFFIXES
    return sorted(p for p in pages.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _run_formscan(
    pages: Path, out: Path, workers: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """One `formscan run` over the pages into a fresh store; wall time and worker memory."""
    if out.exists():
        shutil.rmtree(out)
    formscan = Path(sys.executable).parent / "formscan"
    command = [str(formscan), "run", str(pages), "--out", str(out), "--workers", str(workers)]
    command += ["--recycle-after", "0", *extra]
    log = out.with_suffix(".log")  # a file, not a pipe: a long run's progress lines fill one
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as progress:
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=progress)
        peak: dict[int, float] = {}
        while run.poll() is None:
            for worker in _workers_of(run.pid):
                rss = _rss_mb(worker)
                if rss is not None:
                    peak[worker] = max(peak.get(worker, 0.0), rss)
            time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        tail = log.read_text(encoding="utf-8")[-2000:]
        raise SystemExit(f"bench: formscan run failed ({run.returncode}), {log}:\n{tail}")
    report, stages = run_report(out)
    return {
        "pages": report["pages"],
        "wall_seconds": wall,
        "load_seconds": report["seconds"].get("load"),
        "peak_rss_mb": max(peak.values(), default=0.0),
        "seconds": stages,
    }


def _run_peer(peer: str, files: list[Path], threads: int) -> dict[str, Any]:
    """One run of a peer over the files in a fresh process; its own figures plus wall time."""
    command = [sys.executable, str(ROOT / "scripts" / "bench_peers.py"), peer]
    command += ["--threads", str(threads), *map(str, files)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: {peer} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def _cold_one_page(page: Path, work: Path) -> float:
    """Wall seconds of `formscan run` on one page in a new process, model loading included."""
    out = work / "cold"
    if out.exists():
        shutil.rmtree(out)
    formscan = Path(sys.executable).parent / "formscan"
    started = time.perf_counter()
    subprocess.run(
        [str(formscan), "run", str(page), "--out", str(out)], capture_output=True, check=True
    )
    return time.perf_counter() - started


def _median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "bench")
    parser.add_argument("--corpus", type=Path, help="a generated set to use (with manifest)")
    parser.add_argument("--seed", type=int, default=6000, help="seed of the generated set")
    parser.add_argument("--docs", type=int, default=24, help="generated documents per level")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="peer threads; 0: as shipped"
    )
    parser.add_argument("--peers", default="rapidocr,paddle")
    parser.add_argument(
        "--executor",
        choices=["peers", "ray"],
        default="peers",
        help="ray: time formscan's Ray executor against its local one instead of the peers",
    )
    parser.add_argument(
        "--executor-counts",
        default="1,2",
        help="with --executor ray: the reader counts to time both executors at",
    )
    parser.add_argument(
        "--ray-worker-niceness",
        type=int,
        default=0,
        help="with --executor ray: the niceness of the cluster's workers (Ray's own default "
        "is 15; 0 is the local workers')",
    )
    parser.add_argument(
        "--price-second-reading",
        action="store_true",
        help="also run formscan with no second reading (`once`), to see what it costs",
    )
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    pages = _gather_pages(args.work, args.corpus, args.seed, args.docs)
    files = _scan_files(pages)
    if args.executor == "ray":
        counts = [int(n) for n in args.executor_counts.split(",") if n]
        compared = compare(
            pages, args.work, counts, args.runs, _run_formscan, args.ray_worker_niceness
        )
        (args.work / "bench-executors.json").write_text(
            json.dumps(compared, indent=2) + "\n", encoding="utf-8"
        )
        print_comparison(compared, f"{os.cpu_count()} cores")
        return 0
    peers = [p for p in args.peers.split(",") if p]
    systems = ["formscan", *(["once"] if args.price_second_reading else []), *peers]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for number in range(args.runs):
        turn = number % len(systems)
        for name in systems[turn:] + systems[:turn]:
            if name == "formscan":
                out = args.work / f"formscan-{number}"
                result = _run_formscan(pages, out, args.workers)
            elif name == "once":  # formscan with every field read once
                out = args.work / f"once-{number}"
                result = _run_formscan(pages, out, args.workers, ["--read-again-below", "0"])
            else:
                result = _run_peer(name, files, args.threads)
            result["pages_per_second"] = result["pages"] / result["wall_seconds"]
            runs[name].append(result)
            print(
                f"run {number + 1}: {name} {result['pages']} pages in "
                f"{result['wall_seconds']:.1f} s, {result['pages_per_second']:.3f} pages/s",
                flush=True,
            )

    records = load_predictions(args.work / "formscan-0" / "records.jsonl")
    report = evaluate(load_gold_set(pages), records)
    one_page = next(p for p in files if p.suffix.lower() in (".jpg", ".png"))
    cold = [_cold_one_page(one_page, args.work) for _ in range(3)]
    summary = _summary(runs, report.field_accuracy, statistics.median(cold), args)
    (args.work / "bench.json").write_text(
        json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n", encoding="utf-8"
    )
    _print_summary(summary)
    return 0


def _summary(
    runs: dict[str, list[dict[str, Any]]], accuracy: float, cold: float, args: argparse.Namespace
) -> dict[str, Any]:
    ours = _median_of(runs["formscan"], "pages_per_second")
    systems = {}
    for name, results in runs.items():
        rate = _median_of(results, "pages_per_second")
        systems[name] = {
            "pages": results[0]["pages"],
            "pages_per_second": round(rate, 3),
            "formscan_ratio": round(ours / rate, 2),
            "load_seconds": round(_median_of(results, "load_seconds"), 2),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results)),
        }
    stages: dict[str, float] = {}
    for result in runs["formscan"]:
        for stage, seconds in result["seconds"].items():
            stages[stage] = stages.get(stage, 0.0) + seconds / len(runs["formscan"])
    busy = sum(stages.values()) or 1.0
    return {
        "machine": f"{os.cpu_count()} cores",
        "runs": args.runs,
        "formscan_workers": args.workers,
        "peer_threads": args.threads or "as shipped",
        "systems": systems,
        "formscan_stage_share": {k: round(v / busy, 3) for k, v in stages.items()},
        "formscan_field_accuracy": round(accuracy, 4),
        "cold_one_page_seconds": round(cold, 2),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    print(
        f"\nmedian of {summary['runs']} runs on {summary['machine']}; formscan "
        f"{summary['formscan_workers']} workers of one thread, peers' threads: "
        f"{summary['peer_threads']}"
    )
    header = f"{'system':10} {'pages':>5} {'pages/s':>8} {'formscan x':>10} {'load s':>7}"
    print(f"{header} {'peak MB':>8}")
    for name, row in summary["systems"].items():
        print(
            f"{name:10} {row['pages']:5d} {row['pages_per_second']:8.3f} "
            f"{row['formscan_ratio']:10.2f} {row['load_seconds']:7.2f} {row['peak_rss_mb']:8d}"
        )
    shares = ", ".join(f"{k} {v:.0%}" for k, v in summary["formscan_stage_share"].items())
    print(f"formscan time by stage: {shares}")
    print(f"formscan field accuracy on these pages: {summary['formscan_field_accuracy']:.2%}")
    print(f"cold formscan run of one page, models loaded: {summary['cold_one_page_seconds']} s")


if __name__ == "__main__":
    raise SystemExit(main())
