"""What every OCR engine returns and how it is configured.

Engines read text; they do not know about forms. Later stages hand them crops of single text
lines (``recognize``) or a region or page (``read``) and get back :class:`TextLine` objects in the
coordinates of the image they passed in.
"""

from __future__ import annotations

import logging
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Self, TypeAlias

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

Image: TypeAlias = npt.NDArray[np.uint8]
"""An image as handed to an engine: ``(h, w)`` gray or ``(h, w, 3)`` RGB, uint8."""

Point: TypeAlias = tuple[float, float]
Quad: TypeAlias = tuple[Point, Point, Point, Point]
"""Four corners clockwise from the top-left, in pixels."""

EngineKind: TypeAlias = Literal["onnx", "paddle"]

# A crop whose gray levels span fewer than this holds no ink, and its text is empty without
# asking the engine: PP-OCRv5 mobile reads a uniform white 200x40 crop as "[]" with score 0.6
# (a blank cell once a later stage has cleaned it). Scan noise alone spans 20+ levels and goes
# to the engine, which reads it as empty.
BLANK_RANGE = 16

# Two lines are on the same row when their vertical centres are closer than this fraction of
# the height of the first line in the row. Half a line: lines of one row drift by a few
# pixels, while the next row starts a whole line height lower.
ROW_TOLERANCE = 0.5


class TextLine(BaseModel):
    """One line of recognised text.

    Attributes:
        text: The text as the engine read it (not normalised).
        score: The engine's recognition confidence in [0, 1]. Not a field confidence.
        char_scores: One confidence per character of ``text`` where the engine gives them,
            else None.
        box: The line's quad in the coordinates of the image passed to the engine; for
            ``recognize`` it is the whole crop.

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    score: float = Field(ge=0.0, le=1.0)
    char_scores: tuple[float, ...] | None = None
    box: Quad

    @model_validator(mode="after")
    def _char_scores_match_text(self) -> Self:
        if self.char_scores is not None:
            if len(self.char_scores) != len(self.text):
                raise ValueError(
                    f"{len(self.char_scores)} char_scores for {len(self.text)} characters"
                )
            if any(not 0.0 <= s <= 1.0 for s in self.char_scores):
                raise ValueError("char_scores must lie in [0, 1]")
        return self

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The axis-aligned box ``(x0, y0, x1, y1)`` around ``box``."""
        xs = [p[0] for p in self.box]
        ys = [p[1] for p in self.box]
        return min(xs), min(ys), max(xs), max(ys)


class OcrOptions(BaseModel):
    """How to build an OCR engine. ``kind`` picks the engine from the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EngineKind = Field(
        default="onnx",
        description="Engine: 'onnx' (PP-OCRv6 small from the rapidocr wheel, onnxruntime) or "
        "'paddle' (PP-OCRv5 mobile via paddleocr and paddlepaddle).",
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="CPU threads inside one engine (onnxruntime intra-op threads, paddle "
        "cpu_threads). Run one engine per worker process and keep workers x threads at or "
        "below the number of cores. Capped at the number of cores.",
    )
    rec_batch: int = Field(
        default=4,
        ge=1,
        le=1024,
        description="Most text line crops in one recognition run. The onnx engine batches "
        "crops of about one width (see rec_width_spread); the paddle engine sorts crops by "
        "aspect ratio and pads each batch to its widest. The padding changes the output a "
        "little: a crop can read differently in another batch.",
    )
    hanzi: Literal["gb2312", "any"] = Field(
        default="gb2312",
        description="Which Chinese characters the onnx engine reads. 'gb2312': the 6,763 of "
        "simplified print, these forms' script; where the model's likeliest character is a "
        "traditional or rare one (將 for 将), the likeliest of those is read, at its own lower "
        "probability. 'any': every character the model knows, as rapidocr reads.",
    )
    rec_width_spread: float = Field(
        default=1.1,
        ge=1.0,
        le=100.0,
        description="The onnx engine batches crops whose input widths differ by at most this "
        "factor. A run costs about as much per crop as its widest crop alone; batching "
        "saves the per-run overhead, padding wastes work.",
    )
    line_width_scale: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="Text line crops are narrowed to this share of their width before "
        "recognition. The recogniser's cost grows with its input's width, and a CJK glyph "
        "scaled to its 48 px height is wider than the model needs: on 654 form-line crops, "
        "0.6 cut the recognition time by a third and changed no text (after NFKC and spaces "
        "are dropped); 0.4 misread 19.",
    )
    min_rec_width: int = Field(
        default=96,
        ge=8,
        le=320,
        description="Narrowest input the onnx recogniser gets (px at its 48 px height); narrower "
        "crops are padded. PP-OCR pads every crop to 320, which is most of the work on a form's "
        "short cells; with no floor, a lone digit 0 reads as O.",
    )
    min_score: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="read() drops detected lines whose recognition score is below this. "
        "recognize() never drops: it returns one line per crop.",
    )
    textline_orientation: bool = Field(
        default=False,
        description="Run the 0/180 degree text line classifier before recognition. Only "
        "the onnx engine ships its model; pages are deskewed before OCR, so it stays off.",
    )

    @model_validator(mode="after")
    def _orientation_model_exists(self) -> Self:
        if self.textline_orientation and self.kind != "onnx":
            raise ValueError(
                f"textline_orientation needs a model that the {self.kind!r} engine does not "
                "ship; it would try to download one. Use kind='onnx' or leave it off."
            )
        return self


class OcrEngine(ABC):
    """An OCR engine. One object per worker: engines are not thread-safe.

    Attributes:
        name: The registry kind of the engine.
        version: Model names and package versions, to stamp on records.
        options: The options the engine was built with.

    """

    name: str
    version: str
    options: OcrOptions

    def recognize(self, crops: Sequence[Image]) -> list[TextLine]:
        """Recognise single text lines, batched, without detection.

        Args:
            crops: Crops of one text line each, gray ``(h, w)`` or RGB ``(h, w, 3)`` uint8.

        Returns:
            One line per crop, in input order. A crop without ink gives empty text and score
            0 without running the model. Each box is the whole crop.

        """
        return recognize_inked(crops, self._recognize_inked, self.options.line_width_scale)

    @abstractmethod
    def _recognize_inked(self, crops: list[Image]) -> list[TextLine]:
        """Recognise crops that all hold ink: one line per crop, in order."""

    @abstractmethod
    def read(self, image: Image) -> list[TextLine]:
        """Detect and recognise the text lines of a region or page.

        Args:
            image: Gray ``(h, w)`` or RGB ``(h, w, 3)`` uint8.

        Returns:
            Lines scoring at least ``options.min_score``, boxes in ``image`` pixels, in
            reading order (top to bottom, then left to right).

        """


def check_image(image: Image) -> None:
    """Check that an array is an image the engines take.

    Raises:
        ValueError: The array is not uint8, or not ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``.

    """
    if image.dtype != np.uint8:
        raise ValueError(f"OCR input must be uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f"OCR input must be (h, w) gray or (h, w, 3) RGB, got shape {image.shape}")


def to_bgr(image: Image) -> Image:
    """Check an input image and convert it to the 3-channel BGR that PP-OCR models expect.

    Args:
        image: Gray ``(h, w)`` / ``(h, w, 1)`` or RGB ``(h, w, 3)`` uint8.

    Returns:
        A contiguous ``(h, w, 3)`` BGR uint8 array.

    Raises:
        ValueError: The array is not uint8 or has another shape.

    """
    check_image(image)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    return np.ascontiguousarray(image[:, :, ::-1])


def is_blank(image: Image) -> bool:
    """True when a crop has no pixels, or no channel varies by ``BLANK_RANGE`` levels or more."""
    if image.size == 0:
        return True
    channels = image.reshape(image.shape[0] * image.shape[1], -1)
    return int(np.ptp(channels, axis=0).max()) < BLANK_RANGE


def recognize_inked(
    crops: Sequence[Image],
    recognize: Callable[[list[Image]], list[TextLine]],
    width_scale: float = 1.0,
) -> list[TextLine]:
    """Check every crop, run ``recognize`` on those that hold ink, and fill in the blank ones.

    Args:
        crops: The crops passed to :meth:`OcrEngine.recognize`.
        recognize: The engine's recognition of a list of non-blank crops, one line each.
        width_scale: Each crop is narrowed to this share of its width before ``recognize``.

    Returns:
        One line per crop, in input order; a blank crop gets empty text and score 0. Each
        box is the whole crop as it was passed in.

    """
    for crop in crops:
        check_image(crop)
    lines = [empty_line(c.shape[1], c.shape[0]) for c in crops]
    inked = [i for i, c in enumerate(crops) if not is_blank(c)]
    if inked:
        squeezed = [narrowed(crops[i], width_scale) for i in inked]
        for i, line in zip(inked, recognize(squeezed), strict=True):
            whole = crop_quad(crops[i].shape[1], crops[i].shape[0])
            lines[i] = line.model_copy(update={"box": whole})
    return lines


def narrowed(crop: Image, scale: float) -> Image:
    """A crop squeezed to `scale` of its width: a recogniser's cost grows with its width."""
    if scale >= 1.0:
        return crop
    width = max(1, round(crop.shape[1] * scale))
    resized = cv2.resize(crop, (width, crop.shape[0]), interpolation=cv2.INTER_AREA)
    return np.asarray(resized, dtype=np.uint8)


def crop_quad(width: float, height: float) -> Quad:
    """The quad of a whole ``width`` x ``height`` crop."""
    return ((0.0, 0.0), (width, 0.0), (width, height), (0.0, height))


def to_quad(points: Sequence[Sequence[float]]) -> Quad:
    """Four ``(x, y)`` corners from an engine's list or array, as floats.

    Raises:
        ValueError: There are not four corners.

    """
    if len(points) != 4:
        raise ValueError(f"a text box needs 4 corners, got {len(points)}")
    p0, p1, p2, p3 = ((float(p[0]), float(p[1])) for p in points)
    return (p0, p1, p2, p3)


def empty_line(width: float, height: float) -> TextLine:
    """The result for a crop without text (or without pixels)."""
    return TextLine(text="", score=0.0, char_scores=(), box=crop_quad(width, height))


def cap_threads(threads: int) -> int:
    """``threads``, capped at the number of cores with a warning.

    More threads than cores only fight each other; and rapidocr (full-page reads) ignores a
    count above the core count and then uses every core, which a per-worker setting must
    prevent.
    """
    cores = os.cpu_count() or 1
    if threads > cores:
        log.warning("OCR threads %d capped at the %d cores of this machine", threads, cores)
        return cores
    return threads


def unit_score(value: float) -> float:
    """A score clamped into [0, 1]; NaN becomes 0 (float32 rounding can pass 1 slightly)."""
    value = float(value)
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def reading_order(lines: Iterable[TextLine]) -> list[TextLine]:
    """Sort lines top to bottom, and left to right within a row.

    A row starts with its topmost line; a later line joins it while its vertical centre is
    within ``ROW_TOLERANCE`` of that line's height from the first line's centre.

    Args:
        lines: Lines with boxes in one image's coordinates.

    Returns:
        The same lines in reading order.

    """

    def centre_y(line: TextLine) -> float:
        _, y0, _, y1 = line.bbox
        return (y0 + y1) / 2

    rows: list[list[TextLine]] = []
    anchor_y = anchor_h = 0.0
    for line in sorted(lines, key=centre_y):
        _, y0, _, y1 = line.bbox
        if rows and abs(centre_y(line) - anchor_y) <= ROW_TOLERANCE * anchor_h:
            rows[-1].append(line)
            continue
        rows.append([line])
        anchor_y, anchor_h = centre_y(line), y1 - y0
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.bbox[0])]


def crop_sizes(crops: Sequence[Image]) -> list[tuple[int, int]]:
    """(width, height) of each crop."""
    return [(int(c.shape[1]), int(c.shape[0])) for c in crops]
