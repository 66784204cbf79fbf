"""Time the OCR engines on the same rendered line crops and page.

For each engine: model load time, recognize() throughput on about 60 line crops in batches,
and read() time on one A4 200 dpi page of 40 lines. The first call of each kind is timed apart
(``cold``): onnxruntime and oneDNN prepare kernels per input shape on first sight.

    .venv/bin/python scripts/bench_ocr.py                       # both engines, 1 thread
    .venv/bin/python scripts/bench_ocr.py --threads 2 --rec-batch 8 --kinds onnx
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import unicodedata
from collections.abc import Callable

from ocr_lines import FORM_LINES, MORE_LINES, bench_crops, bench_page

from pipeline.ocr import ENGINES, OcrOptions, load_engine


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _timed(call: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Wall seconds of the first call; median wall and CPU seconds of ``repeats`` calls after it.

    CPU seconds count every thread of this process: on a machine shared with other work,
    wall time grows but CPU time does not.
    """
    start = time.perf_counter()
    call()
    cold = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return cold, statistics.median(wall), statistics.median(cpu)


def bench(kind: str, threads: int, rec_batch: int, repeats: int) -> None:
    crops = bench_crops()
    page, placed = bench_page()
    texts = (list(FORM_LINES) + list(MORE_LINES)) * 2

    start = time.perf_counter()
    engine = load_engine(OcrOptions(kind=kind, threads=threads, rec_batch=rec_batch))
    load = time.perf_counter() - start

    rec_cold, rec_s, rec_cpu = _timed(lambda: engine.recognize(crops), repeats)
    read_cold, read_s, read_cpu = _timed(lambda: engine.read(page), repeats)

    lines = engine.recognize(crops)
    rec_right = sum(_norm(a.text) == _norm(b) for a, b in zip(lines, texts, strict=False))
    found = {_norm(line.text) for line in engine.read(page)}
    read_right = sum(_norm(p.text) in found for p in placed)

    print(f"{kind}: {engine.version}")
    print(
        f"  threads {threads}, rec_batch {rec_batch}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} after"
    )
    print(f"  load                 {load:6.2f} s")
    print(
        f"  recognize {len(crops)} crops  {rec_s:6.2f} s  {len(crops) / rec_s:6.1f} lines/s  "
        f"({1000 * rec_s / len(crops):.1f} ms/line; cpu {rec_cpu:.2f} s; cold {rec_cold:.2f} s)  "
        f"exact {rec_right}/{len(crops)}"
    )
    print(
        f"  read A4 page {page.shape[1]}x{page.shape[0]}, {len(placed)} lines  {read_s:6.2f} s  "
        f"(cpu {read_cpu:.2f} s; cold {read_cold:.2f} s)  exact {read_right}/{len(placed)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=sorted(ENGINES), choices=sorted(ENGINES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rec-batch", type=int, default=OcrOptions().rec_batch)
    parser.add_argument("--repeats", type=int, default=3, help="warm calls timed (median)")
    args = parser.parse_args()
    for kind in args.kinds:
        bench(kind, args.threads, args.rec_batch, args.repeats)


if __name__ == "__main__":
    main()
