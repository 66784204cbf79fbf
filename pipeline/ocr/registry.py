"""The engines formscan can run, by kind."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.ocr.base import OcrEngine, OcrOptions
from pipeline.ocr.onnx import OnnxEngine
from pipeline.ocr.paddle import PaddleEngine

ENGINES: dict[str, Callable[[OcrOptions], OcrEngine]] = {
    "onnx": OnnxEngine,
    "paddle": PaddleEngine,
}


class UnknownEngineError(ValueError):
    """``OcrOptions.kind`` names no engine in :data:`ENGINES`."""


def load_engine(options: OcrOptions) -> OcrEngine:
    """Build the engine that ``options.kind`` names. Build one per worker and reuse it.

    Args:
        options: Engine options.

    Returns:
        The loaded engine.

    Raises:
        UnknownEngineError: No engine is registered under ``options.kind``.

    """
    try:
        factory = ENGINES[options.kind]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise UnknownEngineError(
            f"unknown OCR engine kind {options.kind!r}; known kinds: {known}"
        ) from None
    return factory(options)
