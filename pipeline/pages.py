"""What a file's pages come to: each page as read and as shown, and the file's result.

Plain data at the bottom of the house, beside `pipeline.readings`: the stages, the batch, the
store and the report all take these, and this module imports none of them at run time. The
types a `PageRead` is made of (the prepared page, its grid, its cells' text) are named for
the type checker only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.readings import AuditDraw, FormReading

if TYPE_CHECKING:
    from pipeline.grid import Grid
    from pipeline.ocr.cells import CellText
    from pipeline.prepare import PreparedPage


# How a page of no known form type is recorded (the store's `pages.error`, the report).
UNRECOGNISED = "no known form type"


@dataclass(frozen=True)
class PageRead:
    """One page after OCR: its geometry and what every cell says."""

    prepared: PreparedPage
    grid: Grid | None
    cells: list[CellText]
    above: list[str]  # text lines printed above the table (title, year)
    above_boxes: tuple[tuple[int, int, int, int], ...] = ()  # theirs on the prepared page

    @property
    def number(self) -> int:
        """1-based page number in its file."""
        return self.prepared.source.number


@dataclass(frozen=True)
class PageView:
    """A prepared page as the form page shows it, and where scan pixels land on it."""

    jpeg: bytes
    matrix: list[list[float]]  # 3x3: scan pixels (a field's bbox) to this image's pixels
    width: int
    height: int

    def placement(self) -> dict[str, Any]:
        """The matrix and size, as the store keeps them beside the image."""
        return {"matrix": self.matrix, "size": [self.width, self.height]}


@dataclass
class FileResult:
    """What came of one file: its forms, or the reason it could not be read."""

    name: str
    pages: int = 0
    forms: list[FormReading] = field(default_factory=list)
    error: str | None = None
    page_errors: list[str] = field(default_factory=list)
    # Pages of no known form type, by number, with why: read as no form, listed for a person.
    unrecognised: dict[int, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    page_seconds: list[float] = field(default_factory=list)
    # PNG of each review field, by (form order, field path): cut while the pages are at hand.
    crops: dict[tuple[int, str], bytes] = field(default_factory=dict)
    # Each page prepared and downscaled, by page number, for the reviewer's form page.
    page_views: dict[int, PageView] = field(default_factory=dict)
    # Straight-through fields drawn for audit, by (form order, field path): their crops are
    # cut too, since their tasks must look like any other.
    audits: dict[tuple[int, str], AuditDraw] = field(default_factory=dict)
