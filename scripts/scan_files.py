"""Scan files as a scanner writes them, for both corpus generators.

JPG and PNG hold one page; TIFF holds several, deflated (or CCITT G4 for 1-bit pages, as
archives and fax servers keep them); PDF holds one JPEG a page. PDF metadata carries a fixed
date, so one seed always gives byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

FIXED_DATE = time.gmtime(1709251200)  # 2024-03-01


def save_scan(path: Path, pages: Sequence[Image.Image], dpi: int, quality: int) -> None:
    """Write `pages` to `path` in the format its suffix names, at `dpi`.

    `quality` is the JPEG quality of a JPG or of a PDF's pages. A TIFF of 1-bit pages is
    compressed CCITT G4, any other TIFF deflated.
    """
    first, rest = pages[0], list(pages[1:])
    suffix = path.suffix.lower()
    if suffix == ".jpg":
        first.save(path, quality=quality, dpi=(dpi, dpi))
    elif suffix == ".png":
        first.save(path, dpi=(dpi, dpi))
    elif suffix == ".tif":
        compression = "group4" if first.mode == "1" else "tiff_deflate"
        first.save(path, save_all=True, append_images=rest, compression=compression, dpi=(dpi, dpi))
    elif suffix == ".pdf":
        first.save(
            path,
            save_all=True,
            append_images=rest,
            resolution=float(dpi),
            quality=quality,
            creationDate=FIXED_DATE,
            modDate=FIXED_DATE,
        )
    else:
        raise ValueError(f"{path}: not a scan format this writes")
