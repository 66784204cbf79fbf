"""PP-OCRv6 small (detection and recognition) from the rapidocr wheel, run by onnxruntime.

Recognition of crops, all the pipeline needs, runs the model through our own
:class:`~pipeline.ocr.ctc.CtcRecogniser`; rapidocr itself is imported only for a full-page
:meth:`OnnxEngine.read`. Running the models (:class:`OnnxEngine`) is kept apart from turning
what they return into :class:`TextLine` objects (:func:`normalize_onnx_recognize`,
:func:`normalize_onnx_read`): the engine methods only reduce it to the plain JSON-able
``*Raw`` dicts below.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

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
from pipeline.ocr.ctc import CtcRecogniser, in_gb2312

if TYPE_CHECKING:
    from rapidocr import RapidOCR

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


class OnnxRecRaw(TypedDict):
    """rapidocr's recognition output for a batch of crops, one entry per crop.

    ``confs`` holds the probability of each decoded CTC token; there is one token per
    character, and ``[0]`` for an empty text.
    """

    txts: list[str]
    scores: list[float]
    confs: list[list[float]]


class OnnxReadRaw(TypedDict):
    """rapidocr's detection + recognition output for one image, one entry per line.

    ``word_results`` holds ``[char, score, quad]`` per non-space character (the engine is
    built with single-character boxes on), or None where rapidocr gave none for a line.
    """

    boxes: list[list[list[float]]]
    txts: list[str]
    scores: list[float]
    word_results: list[list[list[Any]] | None]


def model_dir() -> Path:
    """The folder of ONNX models inside the installed rapidocr wheel (found, not imported)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the rapidocr package is not installed: pip install rapidocr")
    return Path(spec.origin).resolve().parent / "models"


class OnnxEngine(OcrEngine):
    """PP-OCRv6 small: recognition by :class:`CtcRecogniser`, full pages by rapidocr.

    rapidocr's ``RapidOCR`` gets every parameter at construction. Calls never pass per-call
    overrides: ``RapidOCR.__call__`` writes them into the shared object through
    ``update_params``, so they would leak into every later call.
    """

    name = "onnx"

    def __init__(self, options: OcrOptions) -> None:
        """Load the models from the rapidocr wheel; nothing is downloaded.

        Args:
            options: Engine options; ``options.kind`` must be ``"onnx"``.

        Raises:
            ValueError: ``options.kind`` names another engine.
            FileNotFoundError: A model file is missing from the rapidocr wheel.

        """
        if options.kind != self.name:
            raise ValueError(f"options for {options.kind!r} passed to the {self.name!r} engine")
        self.options = options
        models = model_dir()
        self._paths = {
            "Det": models / DET_MODEL,
            "Rec": models / REC_MODEL,
            "Cls": models / CLS_MODEL,
        }
        for path in self._paths.values():
            if not path.is_file():
                # rapidocr would fall back to downloading; we never do.
                raise FileNotFoundError(f"{path} is missing: reinstall rapidocr==3.10.0")
        self._threads = cap_threads(options.threads)
        # Loaded here rather than on the first call, so that the load is where it is
        # measured. The pipeline never detects (it knows where the cells are): rapidocr and
        # the detection model load on the first read().
        self._rec = CtcRecogniser(
            self._paths["Rec"],
            self._threads,
            options.rec_batch,
            options.min_rec_width,
            options.rec_width_spread,
            allowed=in_gb2312 if options.hanzi == "gb2312" else None,
        )
        self._ocr: RapidOCR | None = None
        models_used = [DET_MODEL, REC_MODEL] + ([CLS_MODEL] if options.textline_orientation else [])
        self.version = (
            f"rapidocr {metadata.version('rapidocr')}, "
            f"onnxruntime {metadata.version('onnxruntime')}; {', '.join(models_used)}; "
            f"hanzi {options.hanzi}"
        )

    def _full_page(self) -> RapidOCR:
        """The full-page pipeline (detection, recognition) of rapidocr, loaded on first use."""
        if self._ocr is None:
            from rapidocr import RapidOCR

            params: dict[str, Any] = {
                # Filtering by score happens in normalize_onnx_read, one place for all engines.
                "Global.text_score": 0.0,
                "Global.use_cls": self.options.textline_orientation,
                "Global.return_word_box": True,
                "Global.return_single_char_box": True,
                # An empty region is normal here; rapidocr would log a warning for each one.
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "Rec.rec_batch_num": self.options.rec_batch,
                "Rec.rec_img_shape": [3, 48, self.options.min_rec_width],
            }
            params.update({f"{k}.model_path": str(p) for k, p in self._paths.items()})
            self._ocr = RapidOCR(params=params)
        return self._ocr

    def _recognize_inked(self, crops: list[Image]) -> list[TextLine]:
        return normalize_onnx_recognize(self.recognize_raw(crops), crop_sizes(crops))

    def recognize_raw(self, crops: Sequence[Image]) -> OnnxRecRaw:
        """Run the recognition model on crops (each with pixels) and return its plain output."""
        out = self._rec([to_bgr(c) for c in crops])
        return {
            "txts": [r.text for r in out],
            "scores": [r.score for r in out],
            "confs": [r.confs for r in out],
        }

    def read(self, image: Image) -> list[TextLine]:
        """Detect and recognise the text lines of a region or page.

        Args:
            image: Gray ``(h, w)`` or RGB ``(h, w, 3)`` uint8.

        Returns:
            Lines scoring at least ``options.min_score``, in reading order.

        """
        return normalize_onnx_read(self.read_raw(image), self.options.min_score)

    def read_raw(self, image: Image) -> OnnxReadRaw:
        """Run detection and recognition on one image and return rapidocr's plain output."""
        from rapidocr.utils.output import RapidOCROutput

        out = self._full_page()(to_bgr(image))
        # With nothing detected, rapidocr returns an empty RapidOCROutput (or, in corner cases,
        # a detection-only output); both mean no lines.
        if (
            not isinstance(out, RapidOCROutput)
            or out.boxes is None
            or out.txts is None
            or out.scores is None
        ):
            return {"boxes": [], "txts": [], "scores": [], "word_results": []}
        return {
            "boxes": [[[float(v) for v in p] for p in box] for box in out.boxes],
            "txts": [str(t) for t in out.txts],
            "scores": [float(s) for s in out.scores],
            "word_results": [_plain_words(w) for w in out.word_results],
        }


def normalize_onnx_recognize(raw: OnnxRecRaw, sizes: Sequence[tuple[int, int]]) -> list[TextLine]:
    """Turn rapidocr's recognition output into one :class:`TextLine` per crop.

    Args:
        raw: What :meth:`OnnxEngine.recognize_raw` returned.
        sizes: ``(width, height)`` of each crop, in the same order.

    Returns:
        One line per crop, its box the whole crop.

    """
    lines = []
    for text, score, confs, (w, h) in zip(
        raw["txts"], raw["scores"], raw["confs"], sizes, strict=True
    ):
        lines.append(
            TextLine(
                text=text,
                score=unit_score(score) if text else 0.0,
                char_scores=_char_scores(text, confs),
                box=crop_quad(w, h),
            )
        )
    return lines


def normalize_onnx_read(raw: OnnxReadRaw, min_score: float) -> list[TextLine]:
    """Turn rapidocr's detection + recognition output into lines in reading order.

    Args:
        raw: What :meth:`OnnxEngine.read_raw` returned.
        min_score: Lines scoring below this, and lines without text, are dropped.

    Returns:
        The kept lines in reading order.

    """
    words: list[list[list[Any]] | None] = list(raw["word_results"])
    if len(words) != len(raw["txts"]):
        # rapidocr drops the entry of a line without character boxes, so the lists no longer
        # line up; per-character scores cannot be assigned safely then.
        words = [None] * len(raw["txts"])
    lines = []
    for box, text, score, chars in zip(
        raw["boxes"], raw["txts"], raw["scores"], words, strict=True
    ):
        if not text.strip() or unit_score(score) < min_score:
            continue
        # rapidocr pairs the i-th non-space character with the i-th token score, spaces
        # included, so with a space in the line the pairs are shifted: only trust them when
        # every character of the text got its own entry.
        confs = [float(c[1]) for c in chars] if chars is not None else []
        lines.append(
            TextLine(
                text=text,
                score=unit_score(score),
                char_scores=_char_scores(text, confs),
                box=to_quad(box),
            )
        )
    return reading_order(lines)


def _char_scores(text: str, confs: Sequence[float]) -> tuple[float, ...] | None:
    if not text:
        return ()
    if len(confs) != len(text):
        return None
    return tuple(unit_score(c) for c in confs)


def _plain_words(line: object) -> list[list[Any]] | None:
    if not isinstance(line, list | tuple):
        return None  # rapidocr left its internal WordInfo: no per-character boxes
    return [[str(c), float(s), [[float(v) for v in p] for p in b]] for c, s, b in line]
