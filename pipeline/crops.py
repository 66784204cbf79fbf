"""Stage 8, crops: what the reviewer sees, cut from the prepared pages while they are at hand.

Each review field's region, and each page downscaled for the form page. A field's box is
kept in scan pixels; here it is mapped onto the prepared page (upright, deskewed), so the
reviewer sees the cell as it reads, with a margin of its neighbours.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import cv2
import numpy as np

from pipeline.pages import PageRead, PageView
from pipeline.readings import FieldReading, FormReading, field_path

MARGIN_PX = 12  # enough to show the ruling lines round a cell, so a reviewer sees its edges
MAX_SIDE_PX = 1600  # a whole-width merged cell at 300 dpi; bigger boxes are scaled down
PAGE_WIDTH_PX = 1400  # the form page's image: values legible on a laptop, ~200 KB a page
PAGE_JPEG_QUALITY = 80


def page_views(pages: Sequence[PageRead]) -> dict[int, PageView]:
    """Every page, prepared and downscaled to `PAGE_WIDTH_PX`, as JPEG, by page number."""
    views: dict[int, PageView] = {}
    for page in pages:
        image = page.prepared.image
        scale = min(1.0, PAGE_WIDTH_PX / image.shape[1])
        if scale < 1:
            # Down to half size, linear sampling reads as well as area averaging at a seventh
            # of the cost (3 ms a 200 dpi page, not 22); further down it would drop lines.
            how = cv2.INTER_LINEAR if scale >= 0.5 else cv2.INTER_AREA
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=how)
        ok, encoded = cv2.imencode(
            ".jpg",
            cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, PAGE_JPEG_QUALITY],
        )
        if ok:
            matrix = np.diag([scale, scale, 1.0]) @ page.prepared.transform
            views[page.number] = PageView(
                jpeg=encoded.tobytes(),
                matrix=matrix.tolist(),
                width=int(image.shape[1]),
                height=int(image.shape[0]),
            )
    return views


def review_crops(
    forms: Sequence[FormReading],
    pages: Sequence[PageRead],
    also: Collection[tuple[int, str]] = (),
) -> dict[tuple[int, str], bytes]:
    """PNG crops of every field sent to review, keyed by (form order, field path).

    `also` names other fields to cut, by the same key: those drawn for audit.
    """
    by_number = {page.number: page for page in pages}
    crops: dict[tuple[int, str], bytes] = {}
    for seq, form in enumerate(forms):
        placed: list[tuple[str, FieldReading]] = [
            (field_path(k, None), r) for k, r in form.fields.items()
        ]
        for row, indicator in enumerate(form.indicators):
            placed.extend((field_path(k, row), r) for k, r in indicator.items())
        for path, reading in placed:
            page = by_number.get(reading.page) if reading.page is not None else None
            wanted = reading.review or (seq, path) in also
            if wanted and reading.bbox is not None and page is not None:
                png = crop_png(page, reading.bbox)
                if png is not None:
                    crops[(seq, path)] = png
    return crops


def crop_png(page: PageRead, bbox: Sequence[float]) -> bytes | None:
    """The prepared page round a scan-pixel box, as PNG; None when it falls off the page."""
    x0, y0, x1, y1 = bbox
    corners = np.array([[[x0, y0]], [[x1, y0]], [[x1, y1]], [[x0, y1]]], dtype=np.float64)
    mapped = cv2.perspectiveTransform(corners, page.prepared.transform).reshape(-1, 2)
    image = page.prepared.image
    height, width = image.shape[:2]
    left = max(0, int(mapped[:, 0].min()) - MARGIN_PX)
    top = max(0, int(mapped[:, 1].min()) - MARGIN_PX)
    right = min(width, int(np.ceil(mapped[:, 0].max())) + MARGIN_PX)
    bottom = min(height, int(np.ceil(mapped[:, 1].max())) + MARGIN_PX)
    if right <= left or bottom <= top:
        return None
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    scale = MAX_SIDE_PX / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return encoded.tobytes() if ok else None
