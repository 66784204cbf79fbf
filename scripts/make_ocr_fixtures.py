"""Write one real raw output of each OCR engine to tests/data/ocr/ (run after an engine upgrade).

The normalising functions are tested on these files without loading an engine:

    .venv/bin/python scripts/make_ocr_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ocr_lines import render_line, render_page

from pipeline.ocr import OcrOptions
from pipeline.ocr.onnx import OnnxEngine
from pipeline.ocr.paddle import PaddleEngine

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "ocr"

# Two lines on one row, a line with a space (rapidocr's per-character scores are shifted by
# it), and a short amount.
REGION_LINES = [
    ("指标1: 社区工作者责任险参保人数", (20, 20)),
    ("≥90%", (600, 24)),
    ("资金发放准确率 100%", (20, 120)),
    ("1.254万元", (20, 220)),
]
REGION_SIZE = (760, 290)
CROP_TEXTS = ["原州区古雁街道办事处", "≥90%"]


def _inputs() -> tuple[list[np.ndarray], np.ndarray]:
    crops = [render_line(t, "uming") for t in CROP_TEXTS]
    crops.append(np.full((40, 160), 255, np.uint8))  # a blank cell
    region, _ = render_page(REGION_LINES, size=REGION_SIZE)
    return crops, region


def main() -> None:
    crops, region = _inputs()
    sizes = [[int(c.shape[1]), int(c.shape[0])] for c in crops]
    OUT.mkdir(parents=True, exist_ok=True)
    engines: dict[str, OnnxEngine | PaddleEngine] = {
        "onnx": OnnxEngine(OcrOptions(kind="onnx")),
        "paddle": PaddleEngine(OcrOptions(kind="paddle")),
    }
    for kind, engine in engines.items():
        fixture = {
            "engine": engine.version,
            "recognize": {"texts": [*CROP_TEXTS, ""], "sizes": sizes},
            "recognize_raw": engine.recognize_raw(crops),
            "read": {"lines": REGION_LINES, "size": REGION_SIZE},
            "read_raw": engine.read_raw(region),
        }
        path = OUT / f"{kind}_raw.json"
        # One line per key: small, and a diff shows which part changed.
        body = ",\n".join(
            f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fixture.items()
        )
        path.write_text("{\n" + body + "\n}\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
