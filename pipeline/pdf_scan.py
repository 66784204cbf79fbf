"""The scan inside a PDF page, taken out whole instead of rendered.

A scanner's PDF draws one JPEG over each whole page. Decoding that JPEG gives the scanner's
own pixels for about an eighth of the cost of rendering the page with poppler (27 ms against
219 ms for an A4 page at 200 dpi). A page that draws anything more, or draws its picture
flipped, turned, masked, over part of the page or in another encoding, raises `NotAPlainScan`
with the reason, and ingest renders it with poppler instead.

The picture is resampled to the size poppler would render the page at, and a page's /Rotate is
applied as poppler applies it, so both ways give the same page geometry.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from pipeline.units import POINTS_PER_INCH

# A scan page draws its picture in a few dozen bytes of content; a longer stream draws more
# (text, lines), and parsing it in Python would cost more than rendering saves.
MAX_CONTENT_BYTES = 2048
# The picture's edges may miss the page's by rounding in the writer; beyond this the page has
# a margin poppler would paint white.
EDGE_TOLERANCE_PT = 1.0
# Colour spaces poppler shows as the JPEG's own values (an ICC profile of 1 or 3 channels is
# near enough: print is grey and seals are red under any of them).
PLAIN_COLOUR_SPACES = {"/DeviceRGB": 3, "/DeviceGray": 1}


Matrix = tuple[float, float, float, float, float, float]  # PDF's (a, b, c, d, e, f)
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class NotAPlainScan(Exception):
    """A PDF page whose picture cannot stand for the page: render it instead."""


def open_pdf(path: Path) -> PdfReader:
    """Open a PDF for `plain_scan`; raises `NotAPlainScan` where pypdf cannot read it."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise NotAPlainScan("encrypted")
        return reader
    except (PyPdfError, OSError, ValueError, KeyError) as error:
        raise NotAPlainScan(f"pypdf cannot read the file ({error})") from error


def plain_scan(reader: PdfReader, number: int, dpi: float, max_pixels: int) -> np.ndarray:
    """Page `number` (1-based) as RGB at `dpi`, from the one JPEG it draws over the page.

    Raises:
        NotAPlainScan: the page draws anything but one upright JPEG over the whole page.

    """
    try:
        page = reader.pages[number - 1]
        image, placement = _drawn_image(page)
        width, height, channels = _jpeg_shape(image)
        if width * height > max_pixels:
            raise NotAPlainScan(f"picture of {width}x{height} pixels, over the pixel limit")
        _check_covers_page(placement, page)
        pixels = _decode(image, width, height, channels)
    except (PyPdfError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise NotAPlainScan(f"pypdf cannot parse the page ({type(error).__name__})") from error
    return _as_rendered(pixels, page, dpi)


def _drawn_image(page: PageObject) -> tuple[StreamObject, Matrix]:
    """The one image XObject the page draws, and where: its CTM."""
    if page.get("/Annots"):
        raise NotAPlainScan("the page has annotations")
    contents = page.get_contents()
    if contents is None:
        raise NotAPlainScan("the page draws nothing")
    if len(contents.get_data()) > MAX_CONTENT_BYTES:
        raise NotAPlainScan("the page draws more than a picture")
    operations = (
        contents.operations
        if isinstance(contents, ContentStream)
        else ContentStream(contents, page.pdf).operations
    )
    ctm, saved = IDENTITY, []
    drawn: list[tuple[str, Matrix]] = []
    for operands, operator in operations:
        if operator == b"q":
            saved.append(ctm)
        elif operator == b"Q":
            ctm = saved.pop() if saved else IDENTITY
        elif operator == b"cm" and len(operands) == 6:
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = _concat((a, b, c, d, e, f), ctm)
        elif operator == b"Do":
            drawn.append((str(operands[0]), ctm))
        else:
            raise NotAPlainScan(f"the page draws more than a picture ({operator.decode()!r})")
    if len(drawn) != 1:
        raise NotAPlainScan(f"the page draws {len(drawn)} pictures")
    name, placement = drawn[0]
    image = _resolved(_resolved(_resolved(page.get("/Resources")).get("/XObject")).get(name))
    if not isinstance(image, StreamObject) or image.get("/Subtype") != "/Image":
        raise NotAPlainScan("the page draws a form, not a picture")
    return image, placement


def _resolved(value: object) -> DictionaryObject:
    """A dictionary (or stream) of the file, references followed; anything else raises."""
    if isinstance(value, PdfObject):
        value = value.get_object()
    if not isinstance(value, DictionaryObject):
        raise NotAPlainScan("the page's resources are not where a picture's would be")
    return value


def _concat(m: Matrix, ctm: Matrix) -> Matrix:
    """PDF's `m × ctm`."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = ctm
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _jpeg_shape(image: StreamObject) -> tuple[int, int, int]:
    """Width, height and channels of a plain 8-bit JPEG picture; anything else raises."""
    filters = image.get("/Filter")
    if isinstance(filters, ArrayObject):
        filters = filters[0] if len(filters) == 1 else None
    if filters != "/DCTDecode":
        raise NotAPlainScan(f"the picture is not a plain JPEG (filter {filters})")
    for key in ("/Decode", "/DecodeParms", "/SMask", "/Mask"):
        if key in image:
            raise NotAPlainScan(f"the picture has {key}")
    if image.get("/ImageMask") or image.get("/BitsPerComponent") != 8:
        raise NotAPlainScan("the picture is not 8 bits a channel")
    channels = _channels(image.get("/ColorSpace"))
    return _whole(image.get("/Width")), _whole(image.get("/Height")), channels


def _whole(value: object) -> int:
    if not isinstance(value, int) or value <= 0:
        raise NotAPlainScan(f"the picture's size is given as {value!r}")
    return value


def _channels(space: object) -> int:
    if isinstance(space, PdfObject):
        space = space.get_object()
    if isinstance(space, NameObject) and str(space) in PLAIN_COLOUR_SPACES:
        return PLAIN_COLOUR_SPACES[str(space)]
    if isinstance(space, ArrayObject) and len(space) == 2 and space[0] == "/ICCBased":
        channels = _resolved(space[1]).get("/N")
        if channels in (1, 3):
            return int(channels)
    raise NotAPlainScan(f"the picture's colour space is {space}")


def _check_covers_page(placement: Matrix, page: PageObject) -> None:
    """The picture must be drawn upright, unflipped and edge to edge over the media box.

    The media box, not the crop box: it is what poppler renders (pdf2image asks for no crop).
    """
    a, b, c, d, e, f = placement
    if abs(b) > 1e-6 or abs(c) > 1e-6 or a <= 0 or d <= 0:
        raise NotAPlainScan("the picture is drawn turned or flipped")
    box = page.mediabox
    edges = (e - box.left, e + a - box.right, f - box.bottom, f + d - box.top)
    if max(abs(float(edge)) for edge in edges) > EDGE_TOLERANCE_PT:
        raise NotAPlainScan("the picture does not cover the page edge to edge")


def _decode(image: StreamObject, width: int, height: int, channels: int) -> np.ndarray:
    data = np.frombuffer(image.get_data(), dtype=np.uint8)
    # A JPEG's Exif orientation means nothing inside a PDF: poppler ignores it too.
    flags = (cv2.IMREAD_COLOR if channels == 3 else cv2.IMREAD_GRAYSCALE) | (
        cv2.IMREAD_IGNORE_ORIENTATION
    )
    pixels = cv2.imdecode(data, flags)
    if pixels is None or pixels.shape[:2] != (height, width):
        raise NotAPlainScan("the JPEG does not decode to the size the page gives it")
    code = cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_GRAY2RGB
    return cv2.cvtColor(pixels, code)


def _as_rendered(pixels: np.ndarray, page: PageObject, dpi: float) -> np.ndarray:
    """The picture at the size and turn poppler renders the page at `dpi`."""
    box = page.mediabox
    width, height = (
        float(box.width) * dpi / POINTS_PER_INCH,
        float(box.height) * dpi / POINTS_PER_INCH,
    )
    # A picture within a pixel of the page's size is the page at `dpi` already: poppler's
    # size differs from it only by how it rounds the page's edge.
    if abs(pixels.shape[1] - width) > 1 or abs(pixels.shape[0] - height) > 1:
        size = (math.ceil(width), math.ceil(height))
        shrinking = size[0] < pixels.shape[1]
        pixels = cv2.resize(
            pixels, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
    turns = (page.rotation // 90) % 4  # /Rotate turns the page clockwise for display
    return np.ascontiguousarray(np.rot90(pixels, -turns)) if turns else pixels
