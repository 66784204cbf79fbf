"""Printing: LibreOffice headless turns workbooks into PDF, poppler turns PDF into pixels.

LibreOffice takes seconds to start, so one call converts a whole batch of workbooks; each
caller gets its own profile folder, so that runs side by side do not share (and lock) one.
`pdftotext -bbox-layout` tells where each printed line landed, which is where the damage
aims its seals and pen marks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import numpy as np
from PIL import Image

SOFFICE_TIMEOUT_S = 600


class OfficeError(RuntimeError):
    """LibreOffice or poppler failed, or is missing; the message says which and what to do."""


@dataclass(frozen=True)
class TextLine:
    """Printed text and its box on the page, in points from the top left."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str = "word"  # "word", "line" (of several words) or "block" (of several lines)


def soffice() -> str:
    """The LibreOffice binary, or an error saying how to install it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise OfficeError(
            "LibreOffice is not installed: apt-get install libreoffice-calc-nogui "
            "(scripts/setup.sh installs it)"
        )
    return found


def to_pdf(workbooks: list[Path], out_dir: Path) -> list[Path]:
    """Print every workbook to a PDF in `out_dir` with one LibreOffice run; returns the PDFs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sheetsynth-lo-") as profile:
        command = [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            *map(str, workbooks),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT_S)
    pdfs = [out_dir / (w.stem + ".pdf") for w in workbooks]
    missing = [p.name for p in pdfs if not p.exists()]
    if done.returncode or missing:
        raise OfficeError(
            f"LibreOffice did not print {missing or 'all workbooks'} "
            f"(exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
    return pdfs


def page_count(pdf: Path) -> int:
    """Pages in a PDF, from pdfinfo."""
    out = _poppler(["pdfinfo", str(pdf)])
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    if not match:
        raise OfficeError(f"pdfinfo gave no page count for {pdf}")
    return int(match.group(1))


def rasterize(pdf: Path, dpi: int) -> list[np.ndarray]:
    """Every page of `pdf` as an RGB array at `dpi`, as a printer-scanner pair would see it."""
    with tempfile.TemporaryDirectory(prefix="sheetsynth-ppm-") as folder:
        _poppler(["pdftoppm", "-r", str(dpi), str(pdf), f"{folder}/page"])  # raw PPM: fast
        files = sorted(Path(folder).glob("page-*.ppm"), key=lambda p: int(p.stem.split("-")[-1]))
        return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def text_boxes(pdf: Path) -> list[list[TextLine]]:
    """The printed blocks, lines and words of every page with their boxes (points).

    From pdftotext. A block is mostly one cell's wrapped text; a line may join the text of
    neighbouring cells. All three come, so that a caller looking for one cell's text can take
    the smallest box that holds it.
    """
    xml = _poppler(["pdftotext", "-bbox-layout", str(pdf), "-"])
    pages: list[list[TextLine]] = []
    for page in re.findall(r"<page .*?</page>", xml, re.DOTALL):
        boxes = []
        for block_attrs, block in re.findall(r"<block (.*?)>(.*?)</block>", page, re.DOTALL):
            lines = re.findall(r"<line (.*?)>(.*?)</line>", block, re.DOTALL)
            texts = []
            for attrs, body in lines:
                words = re.findall(r"<word (.*?)>(.*?)</word>", body, re.DOTALL)
                texts.append("".join(w for _, w in words))
                boxes.extend(_box(text, word_attrs, "word") for word_attrs, text in words)
                if len(words) > 1:
                    boxes.append(_box(texts[-1], attrs, "line"))
            if len(lines) > 1:
                boxes.append(_box("".join(texts), block_attrs, "block"))
        pages.append(boxes)
    return pages


def _box(text: str, attrs: str, kind: str) -> TextLine:
    box = dict(re.findall(r'(\w+)="([\d.]+)"', attrs))
    return TextLine(
        unescape(text),
        float(box["xMin"]),
        float(box["yMin"]),
        float(box["xMax"]),
        float(box["yMax"]),
        kind,
    )


def plain_text(pdf: Path) -> str:
    """The text of a PDF in reading order, from pdftotext."""
    return _poppler(["pdftotext", "-layout", str(pdf), "-"])


def _poppler(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        raise OfficeError(f"{command[0]} is missing: apt-get install poppler-utils")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise OfficeError(f"{command[0]} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout
