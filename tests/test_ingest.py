"""Ingest: real PDFs through poppler, images through Pillow, and each bad input refused by name."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from pipeline.ingest import (
    IngestError,
    IngestOptions,
    ScanFile,
    _ppm_pixels,
    find_scans,
    read_pages,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
MULTI_PDF = SAMPLES / "clean" / "clean-0002.pdf"  # 3 forms on 5 pages, 200 dpi
OPTIONS = IngestOptions(dpi=100)  # low resolution keeps the tests quick; geometry scales


def _read(path: Path, options: IngestOptions = OPTIONS) -> list[np.ndarray]:
    return [p.image for p in read_pages(ScanFile(path, path.name), options)]


def test_pdf_pages_render_in_order_at_the_asked_resolution() -> None:
    pages = list(read_pages(ScanFile(MULTI_PDF, "clean-0002.pdf"), OPTIONS))
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    # A4 at 100 dpi is 827 x 1169 px.
    assert all(
        abs(p.image.shape[1] - 827) <= 2 and abs(p.image.shape[0] - 1169) <= 2 for p in pages
    )
    assert all(p.image.dtype == np.uint8 and p.image.shape[2] == 3 for p in pages)
    assert pages[0].dpi == 100.0


def test_pdf_page_pixels_are_poppler_s_own(tmp_path: Path) -> None:
    # The same page written by pdftoppm as PNG and decoded by Pillow: not one pixel differs.
    command = ["pdftoppm", "-r", "100", "-f", "2", "-l", "2", "-png", str(MULTI_PDF)]
    subprocess.run([*command, str(tmp_path / "p")], check=True)
    (png,) = tmp_path.glob("p*.png")
    page = list(read_pages(ScanFile(MULTI_PDF, "clean-0002.pdf"), OPTIONS))[1]
    assert np.array_equal(page.image, np.asarray(Image.open(png).convert("RGB")))


def test_ppm_pixels_may_start_with_white_space_bytes() -> None:
    # A dark first pixel can be bytes 9-13 or 32: they are pixels, not more of the header.
    pixels = np.array([[[10, 32, 9], [200, 13, 0]]], np.uint8)
    data = b"P6\n2 1\n255\n" + pixels.tobytes()
    decoded = _ppm_pixels(data)
    assert decoded is not None and np.array_equal(decoded, pixels)
    assert _ppm_pixels(data[:-1]) is None  # a page cut short is no page


def test_multi_page_tiff_gives_every_frame(tmp_path: Path) -> None:
    frames = [Image.new("L", (300, 400), value) for value in (255, 128, 0)]
    path = tmp_path / "three.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    pages = list(read_pages(ScanFile(path, "three.tif"), OPTIONS))
    assert [int(p.image.mean()) for p in pages] == [255, 128, 0]
    assert [p.dpi for p in pages] == [300.0] * 3


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers turn it 90° clockwise
    path = tmp_path / "photo.jpg"
    image.save(path, exif=exif.tobytes())
    (page,) = _read(path)
    assert page.shape[:2] == (200, 100)


def test_find_scans_names_files_relative_to_the_folder_given(tmp_path: Path) -> None:
    (tmp_path / "batch7").mkdir()
    for name in ("batch7/a.pdf", "b.PNG", "notes.txt", "b.gold.jsonl"):
        (tmp_path / name).write_bytes(b"x")
    assert [s.name for s in find_scans([tmp_path])] == ["b.PNG", "batch7/a.pdf"]


def _refusal(path: Path, options: IngestOptions = OPTIONS) -> IngestError:
    with pytest.raises(IngestError) as caught:
        _read(path, options)
    assert caught.value.file == path.name
    assert path.name in str(caught.value)
    return caught.value


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert "empty file" in _refusal(path).reason


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    data = MULTI_PDF.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    assert "PDF" in _refusal(path).reason


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(MULTI_PDF))
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    assert "password" in _refusal(path).reason


def test_text_file_with_an_image_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_text("this is not a picture\n")
    assert "not an image" in _refusal(path).reason


def test_pdf_name_on_other_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"PK\x03\x04 a zip file")
    assert "not a PDF" in _refusal(path).reason


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge 1-bit image: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width // 8 + 2) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(60_000, 60_000))
    assert path.stat().st_size < 10_000
    reason = _refusal(path).reason
    assert "bomb" in reason


def test_page_limits_apply(tmp_path: Path) -> None:
    assert (
        "over the limit of 2"
        in _refusal(MULTI_PDF, IngestOptions(dpi=100, max_pages_per_file=2)).reason
    )
    big = tmp_path / "big.png"
    Image.new("L", (3000, 3000), 255).save(big)
    error = _refusal(big, IngestOptions(max_pixels_per_page=1_000_000))
    assert error.page == 1 and "Mpx" in error.reason


def test_every_pdf_pages_size_is_checked_before_any_page_is_rendered(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4
    writer.add_blank_page(width=3601, height=3601)  # 100 Mpx at 200 dpi
    path = tmp_path / "second-page-huge.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    pages = read_pages(ScanFile(path, path.name), IngestOptions())
    with pytest.raises(IngestError) as caught:
        next(pages)  # not even page 1 comes out
    assert caught.value.page == 2 and "100 Mpx" in caught.value.reason


def test_truncated_image_names_its_page(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    error = _refusal(path)
    assert error.page == 1 and "damaged" in error.reason
