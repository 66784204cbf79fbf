"""OCR engines behind one interface: recognise line crops, or read a region or page.

Importing this package loads no model and does not import paddle or rapidocr; building an
engine with :func:`load_engine` does.
"""

from pipeline.ocr.base import Image, OcrEngine, OcrOptions, Quad, TextLine, reading_order
from pipeline.ocr.registry import ENGINES, UnknownEngineError, load_engine

__all__ = [
    "ENGINES",
    "Image",
    "OcrEngine",
    "OcrOptions",
    "Quad",
    "TextLine",
    "UnknownEngineError",
    "load_engine",
    "reading_order",
]
