"""A scanned PDF page's own JPEG stands for the page only where poppler would draw the same.

Each PDF here is written by hand, so that its page draws exactly what the test says; every
page is also rendered by poppler (`embedded_scans=False`), and the two must agree.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.ingest import IngestOptions, PageImage, ScanFile, read_pages

REPO = Path(__file__).resolve().parents[1]
MULTI_PDF = REPO / "samples" / "clean" / "clean-0002.pdf"  # PIL's PDF: one JPEG per page
PAGE_PT = (200.0, 283.0)  # the hand-made page, in points
JPEG_OWN = "the page's own JPEG"


def _picture(width: int, height: int) -> np.ndarray:
    """An RGB picture that looks different turned, flipped or shifted: text and a corner block."""
    image = np.full((height, width, 3), 245, np.uint8)
    cv2.rectangle(image, (10, 10), (width // 4, height // 6), (20, 20, 20), -1)
    cv2.rectangle(image, (width // 2, height // 2), (width - 20, height - 30), (200, 30, 30), 4)
    for row in range(5):
        cv2.putText(
            image,
            f"row {row} 12.5%",
            (20, height // 4 + row * height // 9),
            cv2.FONT_HERSHEY_SIMPLEX,
            width / 500,
            (0, 0, 0),
            2,
        )
    return image


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    assert ok
    return data.tobytes()


def _write_pdf(
    path: Path,
    content: bytes,
    image: np.ndarray,
    *,
    image_entries: str = "/Filter /DCTDecode",
    data: bytes | None = None,
    page_entries: str = "",
) -> Path:
    """A one-page PDF whose page runs `content` with the picture as /Im0."""
    height, width = image.shape[:2]
    data = _jpeg(image) if data is None else data
    w_pt, h_pt = PAGE_PT
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt} {h_pt}] "
        f"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R {page_entries} >>".encode(),
        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
        f"/ColorSpace /DeviceRGB /BitsPerComponent 8 {image_entries} "
        f"/Length {len(data)} >>\nstream\n".encode()
        + data
        + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def _both_ways(path: Path, dpi: int) -> list[tuple[PageImage, PageImage]]:
    scan = ScanFile(path, path.name)
    taken = list(read_pages(scan, IngestOptions(dpi=dpi, embedded_scans=True)))
    rendered = list(read_pages(scan, IngestOptions(dpi=dpi, embedded_scans=False)))
    assert len(taken) == len(rendered)
    return list(zip(taken, rendered, strict=True))


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean grey-level difference of two pages at a quarter of their size."""
    assert a.shape == b.shape
    small = [cv2.resize(x, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA) for x in (a, b)]
    return float(np.abs(small[0].astype(np.int16) - small[1]).mean())


# The JPEG decoded here and poppler's rendering of it differ by a few grey levels a pixel
# (another decoder) and by a blended row here and there (poppler draws the picture a fraction
# of a pixel off); at a quarter size that is under 2. A page turned, flipped or moved by two
# pixels is 3.8 or more apart.
SAME_PAGE = 3.0

FULL_PAGE = b"q 200 0 0 283 0 0 cm /Im0 Do Q"


@pytest.mark.parametrize(
    ("picture_px", "dpi"),
    [
        ((400, 566), 144),  # the picture is the page at 144 dpi: taken as it is
        ((400, 566), 100),  # shrunk to the asked resolution
        ((250, 354), 144),  # enlarged to it
    ],
)
def test_a_page_drawing_one_jpeg_edge_to_edge_is_taken_from_it(
    tmp_path: Path, picture_px: tuple[int, int], dpi: int
) -> None:
    path = _write_pdf(tmp_path / "scan.pdf", FULL_PAGE, _picture(*picture_px))
    ((taken, rendered),) = _both_ways(path, dpi)
    assert taken.origin == JPEG_OWN
    assert rendered.origin.startswith("rendered by poppler")
    assert _difference(taken.image, rendered.image) < SAME_PAGE


def test_a_page_rotate_entry_turns_the_taken_picture_as_poppler_does(tmp_path: Path) -> None:
    for rotate in (90, 180, 270):
        path = _write_pdf(
            tmp_path / f"turned{rotate}.pdf",
            FULL_PAGE,
            _picture(400, 566),
            page_entries=f"/Rotate {rotate}",
        )
        ((taken, rendered),) = _both_ways(path, 144)
        assert taken.origin == JPEG_OWN
        assert _difference(taken.image, rendered.image) < SAME_PAGE, rotate


@pytest.mark.parametrize(
    ("content", "image_entries", "reason"),
    [
        (b"q -200 0 0 283 200 0 cm /Im0 Do Q", "/Filter /DCTDecode", "turned or flipped"),
        (b"q 0 283 -200 0 200 0 cm /Im0 Do Q", "/Filter /DCTDecode", "turned or flipped"),
        (b"q 150 0 0 212 25 35 cm /Im0 Do Q", "/Filter /DCTDecode", "edge to edge"),
        (FULL_PAGE + b" 0 0 m 200 283 l S", "/Filter /DCTDecode", "more than a picture"),
        (FULL_PAGE + b" q 100 0 0 100 0 0 cm /Im0 Do Q", "/Filter /DCTDecode", "2 pictures"),
        (FULL_PAGE, "/Filter /DCTDecode /Decode [1 0 1 0 1 0]", "/Decode"),
    ],
    ids=["mirrored", "turned-by-matrix", "with-margin", "more-drawing", "two-pictures", "inverted"],
)
def test_a_page_that_draws_more_or_otherwise_is_rendered(
    tmp_path: Path, content: bytes, image_entries: str, reason: str
) -> None:
    path = _write_pdf(
        tmp_path / "odd.pdf", content, _picture(400, 566), image_entries=image_entries
    )
    ((taken, rendered),) = _both_ways(path, 144)
    assert taken.origin.startswith("rendered by poppler") and reason in taken.origin
    assert _difference(taken.image, rendered.image) == 0.0


def test_a_picture_in_another_encoding_is_rendered(tmp_path: Path) -> None:
    image = _picture(400, 566)
    path = _write_pdf(
        tmp_path / "flate.pdf",
        FULL_PAGE,
        image,
        image_entries="/Filter /FlateDecode",
        data=zlib.compress(image.tobytes()),
    )
    ((taken, _),) = _both_ways(path, 144)
    assert "not a plain JPEG" in taken.origin


def test_every_page_of_a_scanner_style_pdf_is_taken_from_its_jpeg() -> None:
    pairs = _both_ways(MULTI_PDF, 200)
    assert [taken.origin for taken, _ in pairs] == [JPEG_OWN] * 5
    for taken, rendered in pairs:
        assert _difference(taken.image, rendered.image) < SAME_PAGE
