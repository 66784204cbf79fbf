"""Pages per second of the Ray executor against the local one, at the same reader counts.

`scripts/bench.py --executor ray` runs this: one Ray cluster of this machine is started for
the bench and left up between runs (a cluster outlives the runs it serves, so its own start
is not timed); then, for each count in `--executor-counts` (default 1,2), `formscan run
--workers N` and `formscan run --executor ray --ray-address ADDR --workers N` read the same
pages, each into a fresh store, in an order that turns round from run to run. Each is timed
whole, file in and records out: its readers' start and model loading are included, worker
processes for one and actors for the other.

Ray runs its workers at niceness 15 unless told otherwise (`RAY_worker_niceness`): on a
machine shared with other work, its actors would yield the CPU to everything else while
local workers, at 0, compete for it. The bench starts its cluster with `niceness` (default
0, the local workers' standing), so it compares the executors, not their priorities.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RunFormscan = Callable[[Path, Path, int, Sequence[str]], dict[str, Any]]
OBJECT_STORE_BYTES = 200 * 2**20  # results pass through it one file at a time


def compare(
    pages: Path,
    work: Path,
    counts: Sequence[int],
    runs: int,
    run_formscan: RunFormscan,
    niceness: int = 0,
) -> dict[str, Any]:
    """Time both executors at each count, `runs` times; the medians, ratios, and a check.

    The check: each run's `records.jsonl` at a count is the same bytes for both executors.
    """
    import ray

    os.environ["RAY_worker_niceness"] = str(niceness)  # read by the cluster ray.init starts
    ray.init(
        num_cpus=max(counts),
        object_store_memory=OBJECT_STORE_BYTES,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )
    address = ray.get_runtime_context().gcs_address
    systems = [(executor, n) for n in counts for executor in ("local", "ray")]
    timed: dict[str, list[dict[str, Any]]] = {_name(*s): [] for s in systems}
    same: list[bool] = []
    try:
        for number in range(runs):
            turn = number % len(systems)
            for executor, n in systems[turn:] + systems[:turn]:
                extra = ["--executor", "ray", "--ray-address", address] if executor == "ray" else []
                out = work / f"{_name(executor, n)}-{number}"
                result = run_formscan(pages, out, n, extra)
                result["pages_per_second"] = result["pages"] / result["wall_seconds"]
                timed[_name(executor, n)].append(result)
                print(
                    f"run {number + 1}: {_name(executor, n)} {result['pages']} pages in "
                    f"{result['wall_seconds']:.1f} s, {result['pages_per_second']:.3f} pages/s",
                    flush=True,
                )
            for n in counts:
                local, on_ray = (work / f"{_name(e, n)}-{number}" / "records.jsonl" for e in
                                 ("local", "ray"))  # fmt: skip
                same.append(local.read_bytes() == on_ray.read_bytes())
    finally:
        ray.shutdown()
    rates = {name: statistics.median(r["pages_per_second"] for r in results)
             for name, results in timed.items()}  # fmt: skip
    return {
        "runs": runs,
        "ray_worker_niceness": niceness,
        "pages": timed[_name("local", counts[0])][0]["pages"],
        "pages_per_second": {name: round(rate, 3) for name, rate in rates.items()},
        "load_seconds": {
            name: round(statistics.median(r["load_seconds"] or 0.0 for r in results), 2)
            for name, results in timed.items()
        },
        "ray_to_local": {
            str(n): round(rates[_name("ray", n)] / rates[_name("local", n)], 3) for n in counts
        },
        "records_identical": all(same),
        "timed": timed,
    }


def print_comparison(summary: dict[str, Any], machine: str) -> None:
    """The medians, and Ray's pages/s as a share of local's at each count."""
    print(
        f"\nmedian of {summary['runs']} runs over {summary['pages']} pages on {machine}; "
        "readers: worker processes (local) or actors (ray), one thread each; Ray's workers "
        f"at niceness {summary['ray_worker_niceness']}"
    )
    print(f"{'executor':10} {'pages/s':>8} {'load s':>7}")
    for name, rate in summary["pages_per_second"].items():
        print(f"{name:10} {rate:8.3f} {summary['load_seconds'][name]:7.2f}")
    for n, ratio in summary["ray_to_local"].items():
        print(f"ray / local at {n} reader{'s' if n != '1' else ''}: {ratio:.3f}")
    same = "yes" if summary["records_identical"] else "NO"
    print(f"records.jsonl the same bytes on both executors, every run: {same}")


def _name(executor: str, readers: int) -> str:
    return f"{executor}-{readers}"
