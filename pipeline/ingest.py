"""Stage 1, ingest: files and folders of scans in, one RGB page image at a time out.

PDF pages are rendered by poppler's pdftoppm, one page per call so a long file never sits in
memory whole (pdf2image reads the file's page count and size); with
`IngestOptions.embedded_scans`, a scanned page's own JPEG is taken out and decoded instead
(`pipeline.pdf_scan`). PNG, JPG and (multi-page) TIFF are decoded by Pillow. A file that cannot
be read raises `IngestError` naming the file and, where it applies, the page; callers record it
and go on with the next file.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pdf2image import pdfinfo_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from pipeline.units import POINTS_PER_INCH

PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})


class IngestOptions(BaseModel):
    """Limits and resolution for reading scan files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dpi: int = Field(
        default=200, ge=50, le=600, description="Resolution PDF pages are rendered at."
    )
    embedded_scans: bool = Field(
        default=False,
        # Off: poppler draws a scan half a pixel low, blending each row with the one above,
        # and the grid and the calibration were tuned on such pages. On the JPEG's own, sharper
        # pixels 6 to 10 more fields read wrong in each of three sets of 7,500-11,500 fields
        # (README, "Throughput").
        description="Take a scanned PDF page's own JPEG, resampled to `dpi`, instead of "
        "rendering the page: about 200 ms less a page. Pages that draw anything more are "
        "rendered.",
    )
    max_pages_per_file: int = Field(
        default=500, ge=1, description="A file with more pages is refused whole."
    )
    max_pixels_per_page: int = Field(
        default=80_000_000,
        ge=1,
        # A4 at 600 dpi is 35 Mpx and A3 at 600 dpi 70 Mpx; anything bigger is a mistake or a
        # decompression bomb, and decoding it could take the worker's memory.
        description="A page with more pixels is refused before it is decoded.",
    )


@dataclass(frozen=True)
class ScanFile:
    """A file to read: where it is, and its name relative to the folder the run was given.

    `name` is `path_text` of that name: text that any store, page or export can hold.
    `sha256` is its content's hash where a batch run took it: it seeds the audit draw.
    """

    path: Path
    name: str
    sha256: str | None = None


def path_text(path: Path | str) -> str:
    r"""A file name as text: itself where it is plain UTF-8, else an escaped form, one to one.

    A POSIX name is bytes. Python keeps bytes that are not UTF-8 as lone surrogates, which
    no database, JSON writer or web page accepts; a control character (a newline) would
    break a log or report line. Such a name is written with `\xHH` for those bytes and
    characters and `\\` for a backslash, so two different names never share a text.
    """
    raw = os.fspath(path)
    if "\\" not in raw and not any(_needs_escape(c) for c in raw):
        return raw
    return "".join(_escaped(c) for c in raw)


def _needs_escape(char: str) -> bool:
    return "\udc80" <= char <= "\udcff" or unicodedata.category(char) == "Cc"


def _escaped(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{ord(char) - 0xDC00:02x}"
    if unicodedata.category(char) == "Cc":  # every control character is under U+0100
        return f"\\x{ord(char):02x}"
    return char


@dataclass(frozen=True)
class PageImage:
    """One page of a scan file as an RGB uint8 array; `number` is 1-based."""

    file: ScanFile
    number: int
    image: np.ndarray
    dpi: float | None  # None where the file does not say (most phone photos)
    origin: str = "image file"  # how a PDF page became pixels, and why


class IngestError(Exception):
    """A scan file, or one page of it, that cannot be read."""

    def __init__(self, file: str, reason: str, page: int | None = None) -> None:
        self.file = file
        self.page = page
        self.reason = reason
        where = file if page is None else f"{file}, page {page}"
        super().__init__(f"{where}: {reason}")


def find_scans(paths: Sequence[Path]) -> list[ScanFile]:
    """Scan files under `paths` (files or folders), sorted, named relative to their root."""
    found: list[ScanFile] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                # Named like a scan but no file (a folder, a link to nowhere or round in a
                # loop): kept, so that the run names it among the files it could not read.
                if path.suffix.lower() in PDF_SUFFIXES | IMAGE_SUFFIXES:
                    found.append(ScanFile(path, path_text(path.relative_to(root).as_posix())))
        else:
            # A file named on the command line is read whatever its suffix: refusing it is
            # the reader's job, with a reason.
            found.append(ScanFile(root, path_text(root.name)))
    return found


def read_pages(scan: ScanFile, options: IngestOptions) -> Iterator[PageImage]:
    """Yield the pages of one scan file in order.

    Raises:
        IngestError: the file is missing, empty, not a PDF or image, encrypted, truncated,
            over a limit, or one of its pages fails to decode.

    """
    if not scan.path.is_file():
        raise IngestError(scan.name, "no such file")
    if scan.path.stat().st_size == 0:
        raise IngestError(scan.name, "empty file (0 bytes)")
    with scan.path.open("rb") as handle:
        is_pdf = handle.read(5) == b"%PDF-"
    if is_pdf:
        yield from _pdf_pages(scan, options)
    elif scan.path.suffix.lower() in PDF_SUFFIXES:
        raise IngestError(scan.name, "not a PDF: the file does not start with %PDF-")
    else:
        yield from _image_pages(scan, options)


def _pdf_pages(scan: ScanFile, options: IngestOptions) -> Iterator[PageImage]:
    try:
        # Every page's size, not the first page's alone: a file is refused before any of
        # its pages is rendered.
        info = pdfinfo_from_path(
            str(scan.path), first_page=1, last_page=options.max_pages_per_file + 1
        )
    except PDFInfoNotInstalledError as error:
        raise RuntimeError("poppler's pdfinfo is missing: run scripts/setup.sh") from error
    except (PDFPageCountError, PDFSyntaxError, ValueError) as error:
        reason = _poppler_reason(str(error), type(error).__name__)
        raise IngestError(scan.name, f"unreadable PDF ({reason})") from error
    if str(info.get("Encrypted", "no")).startswith("yes") and "Pages" not in info:
        raise IngestError(scan.name, "encrypted PDF: it needs a password to open")
    pages = int(info.get("Pages", 0))
    if pages == 0:
        raise IngestError(scan.name, "PDF has no pages")
    if pages > options.max_pages_per_file:
        raise IngestError(
            scan.name, f"{pages} pages, over the limit of {options.max_pages_per_file}"
        )
    for number in range(1, pages + 1):
        size = info.get(f"Page {number:4d} size", info.get("Page size", ""))
        width_pt, height_pt = _page_size_points(str(size))
        pixels = width_pt * height_pt * (options.dpi / POINTS_PER_INCH) ** 2
        if pixels > options.max_pixels_per_page:
            raise IngestError(
                scan.name,
                f"page of {pixels / 1e6:.0f} Mpx at {options.dpi} dpi, over "
                f"the limit of {options.max_pixels_per_page / 1e6:.0f} Mpx",
                page=number,
            )
    reader, why_rendered = None, "embedded scans not asked for"
    if options.embedded_scans:
        # Imported here: pypdf takes a quarter of a second to import, and only this needs it.
        from pipeline.pdf_scan import NotAPlainScan, open_pdf, plain_scan

        try:
            reader = open_pdf(scan.path)
        except NotAPlainScan as error:
            why_rendered = str(error)
    for number in range(1, pages + 1):
        if reader is not None:
            try:
                taken = plain_scan(reader, number, options.dpi, options.max_pixels_per_page)
            except NotAPlainScan as error:
                why_rendered = str(error)
            else:
                yield PageImage(scan, number, taken, float(options.dpi), "the page's own JPEG")
                continue
        rendered = _render(scan, number, options.dpi)
        origin = f"rendered by poppler: {why_rendered}"
        yield PageImage(scan, number, rendered, float(options.dpi), origin)


RENDER_TIMEOUT_S = 600  # a page poppler has not drawn in ten minutes will not be drawn


def _render(scan: ScanFile, number: int, dpi: int) -> np.ndarray:
    """One PDF page as RGB, drawn by pdftoppm.

    Called directly rather than through pdf2image, which asks poppler for the file's page
    count and its own version again on every call and decodes the picture through Pillow:
    that was 37 ms of a 220 ms page. The pixels are the same (`pdftoppm -r DPI`, PPM out).
    """
    command = ["pdftoppm", "-r", str(dpi), "-f", str(number), "-l", str(number), str(scan.path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except FileNotFoundError as error:
        raise RuntimeError("poppler's pdftoppm is missing: run scripts/setup.sh") from error
    except subprocess.TimeoutExpired as error:
        raise IngestError(
            scan.name, f"page did not render in {RENDER_TIMEOUT_S} s", page=number
        ) from error
    image = _ppm_pixels(done.stdout)
    if image is None:
        reason = _poppler_reason(done.stderr.decode(errors="replace"), "truncated PDF?")
        raise IngestError(scan.name, f"page did not render ({reason})", page=number)
    return image


PPM_HEADER = re.compile(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s")


def _ppm_pixels(data: bytes) -> np.ndarray | None:
    """The picture of a binary PPM (P6, 8 bits) as written by pdftoppm, or None if incomplete."""
    header = PPM_HEADER.match(data)
    if header is None or header[3] != b"255":
        return None
    width, height = int(header[1]), int(header[2])
    start = header.end()  # one white-space byte ends the header; the pixels may start with more
    if width < 1 or height < 1 or len(data) - start < width * height * 3:
        return None
    pixels = np.frombuffer(data, np.uint8, count=width * height * 3, offset=start)
    return pixels.reshape(height, width, 3)


def _page_size_points(text: str) -> tuple[float, float]:
    """Parse pdfinfo's `595.276 x 841.89 pts (A4)`; unknown sizes count as A4."""
    parts = text.split()
    try:
        return float(parts[0]), float(parts[2])
    except (IndexError, ValueError):
        return 595.0, 842.0


def _poppler_reason(message: str, otherwise: str) -> str:
    """The last line poppler wrote, in plain words where we know it; `otherwise` if none."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if any("Incorrect password" in line for line in lines):
        return "encrypted: it needs a password to open"
    return lines[-1] if lines else otherwise


def _image_pages(scan: ScanFile, options: IngestOptions) -> Iterator[PageImage]:
    try:
        # Pillow's own bomb guard warns first and refuses at twice the limit; we refuse at
        # our limit, by the header, before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(scan.path)
    except UnidentifiedImageError as error:
        raise IngestError(
            scan.name, "not an image Pillow can read (wrong suffix or damaged header)"
        ) from error
    except Image.DecompressionBombError as error:
        raise IngestError(scan.name, f"decompression bomb refused: {error}") from error
    with image:
        frames = getattr(image, "n_frames", 1)
        if frames > options.max_pages_per_file:
            raise IngestError(
                scan.name, f"{frames} pages, over the limit of {options.max_pages_per_file}"
            )
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            width, height = frame.size
            if width * height > options.max_pixels_per_page:
                raise IngestError(
                    scan.name,
                    f"{width}x{height} pixels, over the limit of "
                    f"{options.max_pixels_per_page / 1e6:.0f} Mpx (decompression bomb?)",
                    page=number,
                )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    upright = ImageOps.exif_transpose(frame)
                    pixels = _rgb(upright)
            except (OSError, SyntaxError, ValueError) as error:
                raise IngestError(
                    scan.name, f"image data damaged ({error})", page=number
                ) from error
            yield PageImage(scan, number, pixels, _image_dpi(frame))


def _image_dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    value = float(dpi[0])
    # 72 and 96 are what cameras and screenshots write when they know nothing.
    return None if value in (72.0, 96.0) or value <= 1 else value


def _rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
