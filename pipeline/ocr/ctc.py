"""A PP-OCR recognition model (CTC) run by onnxruntime itself, for crops of one line each.

The pipeline knows where its text lines are, so it needs recognition only. This does what
rapidocr's `TextRecognizer` does for the same model (resize to the model's height, pad,
greedy CTC decoding), without importing rapidocr: its import reads configuration files and
costs a second of every worker's start. Where rapidocr batches a fixed number of crops
padded to the widest, this batches crops of about one width, so little goes on padding. Run
one crop at a time, the two give the same output (`tests/test_ocr.py` holds them to it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np


def in_gb2312(character: str) -> bool:
    """Whether a character is no hanzi, or one of the 6,763 of GB 2312 (simplified print)."""
    if len(character) == 1 and ord(character) >= 0x20000:
        return False  # the supplementary planes hold rare hanzi only
    if not ("\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff"):
        return True
    try:
        character.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


class Recognised(NamedTuple):
    """One crop's text, its mean token probability, and each token's probability."""

    text: str
    score: float
    confs: list[float]


class CtcRecogniser:
    """One onnxruntime session over a PP-OCR recognition model; the characters from its metadata."""

    def __init__(
        self,
        model: Path,
        threads: int,
        batch: int,
        min_width: int,
        width_spread: float = 1.0,
        height: int = 48,
        allowed: Callable[[str], bool] | None = None,
    ) -> None:
        """Load `model`; `threads` intra-op threads, runs of up to `batch` crops.

        Crops narrower than `min_width` are padded to it; a run holds crops whose widths
        differ by at most the factor `width_spread`. Where `allowed` is given, a step whose
        likeliest character it refuses reads the likeliest it allows.
        """
        from onnxruntime import GraphOptimizationLevel, InferenceSession, SessionOptions

        options = SessionOptions()
        options.log_severity_level = 4
        options.enable_cpu_mem_arena = False  # as rapidocr: the arena keeps its peak for good
        options.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ValueError(f"{model}: no character list in the model's metadata")
        # CTC's blank first, the space last, as the model was trained.
        self.characters = ["", *meta["character"].splitlines(), " "]
        self.batch, self.min_width, self.height = batch, min_width, height
        self._allowed = (
            None
            if allowed is None
            else np.array([allowed(c) for c in self.characters], dtype=np.float32)
        )
        self.width_spread = width_spread
        self._input = self.session.get_inputs()[0].name

    def __call__(self, crops: Sequence[np.ndarray]) -> list[Recognised]:
        """Recognise BGR crops of one line each; one result per crop, in order."""
        widths = [self._width(c) for c in crops]
        results: list[Recognised] = [Recognised("", 0.0, [0.0])] * len(crops)
        for chosen in self._batches(widths):
            width = max(widths[i] for i in chosen)
            batch = np.zeros((len(chosen), 3, self.height, width), np.float32)
            for row, i in enumerate(chosen):
                self._put(crops[i], batch[row], width)
            probabilities = self.session.run(None, {self._input: batch})[0]
            for row, i in enumerate(chosen):
                results[i] = self._decode(probabilities[row])
        return results

    def _width(self, crop: np.ndarray) -> int:
        """The model's input width for a crop: scaled to the model's height, at least the floor."""
        return int(self.height * max(self.min_width / self.height, crop.shape[1] / crop.shape[0]))

    def _batches(self, widths: list[int]) -> list[list[int]]:
        """Crops by width, narrowest first, in runs of at most `batch` of about one width.

        A batch is padded to its widest crop, and the model's time grows with the width it is
        given: crops of one width share a run's cost without paying for padding.
        """
        batches: list[list[int]] = []
        for i in sorted(range(len(widths)), key=widths.__getitem__):
            last = batches[-1] if batches else None
            if (
                last is not None
                and len(last) < self.batch
                and widths[i] <= widths[last[0]] * self.width_spread
            ):
                last.append(i)
            else:
                batches.append([i])
        return batches

    def _put(self, crop: np.ndarray, into: np.ndarray, width: int) -> None:
        """Resize a crop to the model's height (at most `width` wide), scaled to [-1, 1]."""
        h, w = crop.shape[:2]
        resized_w = min(width, math.ceil(self.height * w / h))
        resized = cv2.resize(crop, (resized_w, self.height)).astype(np.float32)
        scaled = resized.transpose(2, 0, 1) / 255
        scaled -= 0.5  # in rapidocr's steps, so that the floats come out the same
        scaled /= 0.5
        into[:, :, :resized_w] = scaled

    def _decode(self, steps: np.ndarray) -> Recognised:
        """Greedy CTC: each step's likeliest token, repeats merged, blanks dropped."""
        tokens = steps.argmax(axis=1)
        if self._allowed is not None and (refused := self._allowed[tokens] == 0).any():
            tokens[refused] = (steps[refused] * self._allowed).argmax(axis=1)
        probabilities = steps[np.arange(len(tokens)), tokens]
        keep = np.ones(len(tokens), bool)
        keep[1:] = tokens[1:] != tokens[:-1]
        keep &= tokens != 0
        confs = [round(float(p), 5) for p in probabilities[keep]] or [0.0]
        text = "".join(self.characters[t] for t in tokens[keep])
        return Recognised(text, float(np.mean(confs).round(5)), confs)
