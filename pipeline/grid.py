"""Stage 3, grid: the table's ruling lines and its cells, merged cells with their spans.

`lines_to_positions` clusters the ruling lines into row and column positions; that cuts the
table into a fine grid; `fine_grid_to_cells` joins neighbouring fine cells wherever no ruling
line separates them, which gives each merged cell with its row and column span.

Whether a line separates two cells is decided on a second, more sensitive picture of the
lines, `ridges`: a worn line, faded or broken into stretches too short for the line filter,
still runs as a thin ridge darker than the paper on both sides of it. Smoothing along the
line averages the paper's grain away, and demanding clean paper on both sides keeps text
strokes out, which always have more ink beside them. A line worn past even that is restored
where the table's own structure demands it (`close_line_ends`): ruling lines end only on
other lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.ink import across_lines, down_lines, faint_strokes, strokes, where_lines_end
from pipeline.prepare import PAGE_WIDTH_MM, PreparedPage


class GridOptions(BaseModel):
    """Tolerances of the grid finder, in millimetres on the printed form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_across_mm: float = Field(default=8.0, description="Shortest horizontal ruling line.")
    min_down_mm: float = Field(
        default=5.0, description="Shortest vertical ruling line; longer than a glyph is tall."
    )
    min_column_line_mm: float = Field(
        default=10.0,
        description="Shortest total length of a column line: real ones divide two rows or more, "
        "a glyph stroke that passed the length filter stands alone.",
    )
    merge_mm: float = Field(default=1.2, description="Lines closer than this are one line.")
    coverage: float = Field(
        default=0.5, description="Share of a cell edge a line must cover to separate two cells."
    )
    min_solid_line_mm: float = Field(
        default=40.0,
        description="Total length of line found at a position for a line lost there to be "
        "restored where the lines across it end.",
    )
    ridge_contrast: float = Field(
        default=4.0,
        description="How much darker than the paper either side a worn line must be (grey "
        "levels, after smoothing along the line).",
    )
    min_ridge_mm: float = Field(
        default=5.5, description="Shortest stretch of worn line that counts; longer than a glyph."
    )
    open_side_mm: float = Field(
        default=8.0,
        description="How far past the outermost line lines across must end together for the "
        "table to be taken as printed without its frame line on that side.",
    )


@dataclass(frozen=True)
class Cell:
    """One cell of the table: fine-grid rows `row0..row1` and columns `col0..col1` inclusive."""

    row0: int
    row1: int
    col0: int
    col1: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in prepared-page pixels, on the lines

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Grid:
    """The table of one page: row and column line positions and the cells between them."""

    xs: tuple[int, ...]
    ys: tuple[int, ...]
    cells: tuple[Cell, ...]
    px_per_mm: float
    line_px: int  # typical ruling-line thickness
    segments: tuple[tuple[int, int, int, int], ...] = field(default=(), repr=False)
    # Column positions with long stretches of line: real columns, not a glyph's strokes.
    solid_xs: frozenset[int] = frozenset()
    # Sides printed without a frame line, closed where the lines across end together.
    open_sides: tuple[str, ...] = ()

    @property
    def frame(self) -> tuple[int, int, int, int]:
        """The table's outer box."""
        return (self.xs[0], self.ys[0], self.xs[-1], self.ys[-1])


def find_grid(page: PreparedPage, options: GridOptions | None = None) -> Grid | None:
    """Find the ruled table of a prepared page; None when the page has no table."""
    options = options or GridOptions()
    w = page.gray.shape[1]
    px_per_mm = w / PAGE_WIDTH_MM
    binary = faint_strokes(page.ink_depth)
    min_across = max(10, round(options.min_across_mm * px_per_mm))
    min_down = max(10, round(options.min_down_mm * px_per_mm))
    glyphs = glyph_boxes(strokes(page.ink_depth), px_per_mm)
    worn = worn_lines(page.ink, px_per_mm, options, glyphs=glyphs)
    worn_across, worn_down = worn.across, worn.down
    # A dashed or dotted line (a spreadsheet's border style) is no run of ink, but it is a
    # ridge: its long stretches count as lines as solid ones do.
    across = across_lines(binary, min_across) | across_lines(worn_across, min_across)
    down = down_lines(binary, min_down) | down_lines(worn_down, min_down)
    merge = max(3, round(options.merge_mm * px_per_mm))
    table = _table_box(across, down, merge)
    if table is None:
        return None
    across_parts, down_parts = _components(across), _components(down)
    # A seal's ring, star and characters leave strokes that pass for lines.
    segments = [
        s
        for s in _segments(across_parts, down_parts)
        if _inside(s, table, merge) and not any(seal.covers(s) for seal in page.seals)
    ]
    vertical = [s for s in segments if s[0] == s[2]]
    horizontal = [s for s in segments if s[1] == s[3]]
    xs = lines_to_positions(
        vertical, axis=0, merge=merge, min_total=round(options.min_column_line_mm * px_per_mm)
    )
    if len(xs) < 2:
        return None
    beyond = round(options.open_side_mm * px_per_mm)
    xs, open_xs = close_open_sides(xs, horizontal, axis=0, merge=merge, beyond=beyond)
    horizontal = [s for s in horizontal if _meets_a_column(s, xs, merge)]
    ys = lines_to_positions(horizontal, axis=1, merge=merge)
    if len(ys) < 2:
        return None
    ys, open_ys = close_open_sides(ys, vertical, axis=1, merge=merge, beyond=beyond)
    solid = round(options.min_solid_line_mm * px_per_mm)
    solid_xs = _solid(xs, vertical, 0, merge, solid)
    cells = fine_grid_to_cells(
        xs,
        ys,
        across | worn_across,
        down | worn_down,
        merge,
        options.coverage,
        solid_xs=solid_xs,
        solid_ys=_solid(ys, horizontal, 1, merge, solid),
        gray=page.ink,
        px_per_mm=px_per_mm,
        beside_text=worn.rows_beside_text,
    )
    return Grid(
        xs=tuple(xs),
        ys=tuple(ys),
        cells=tuple(cells),
        px_per_mm=px_per_mm,
        line_px=_thickness(across_parts),
        solid_xs=frozenset(solid_xs),
        segments=tuple(segments),
        open_sides=open_xs + open_ys,
    )


# Smoothing along a line spans its small breaks and averages the paper's grain; the paper is
# looked for this far to either side (ruling lines are 0.1-0.5 mm thick).
RIDGE_ALONG_MM = 1.5
RIDGE_SIDE_MM = (0.6, 1.5)
# Paper just beside a thin line, on the side its cell's text runs up to.
RIDGE_GAP_MM = 0.3


def ridges(
    gray: np.ndarray, px_per_mm: float, options: GridOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the horizontal and the vertical ruling lines, worn ones included."""
    found = worn_lines(gray, px_per_mm, options, beside_text=False)
    return found.across, found.down


@dataclass(frozen=True)
class WornLines:
    """Masks of the ruling lines, worn ones included (`_ridge`), 255 on 0."""

    across: np.ndarray
    down: np.ndarray
    # The horizontal lines, stretches that a cell's text runs up to included. Glyph edges
    # pass this test too (see `_ridge`), so it only confirms row lines where the table's
    # positions are already known (`fine_grid_to_cells`), never finds them.
    rows_beside_text: np.ndarray | None = None


def worn_lines(
    gray: np.ndarray,
    px_per_mm: float,
    options: GridOptions,
    beside_text: bool = True,
    glyphs: GlyphBoxes | None = None,
) -> WornLines:
    """The ruling lines of both directions, and with `beside_text` the rows beside text.

    Both horizontal masks come of one pass (`_ridge`): they share its sums and paper bands.
    Given `glyphs` (`glyph_boxes`), a stretch that runs through glyphs' middles alone is none.
    """
    contrast = options.ridge_contrast
    across, rows = _ridge(gray, px_per_mm, contrast, horizontal=True, beside_text=beside_text)
    down, _ = _ridge(gray, px_per_mm, contrast, horizontal=False, beside_text=False)
    across = _open_along(across, px_per_mm, options, True)
    down = _open_along(down, px_per_mm, options, False)
    if glyphs is not None:
        across = _outside(across, glyphs.across, px_per_mm, horizontal=True)
        down = _outside(down, glyphs.down, px_per_mm, horizontal=False)
    return WornLines(
        across=across,
        down=down,
        rows_beside_text=None if rows is None else _open_along(rows, px_per_mm, options, True),
    )


# A glyph's ink is a blob this size or so both ways; a line, or a dash or piece of one, is
# thinner than the least of it across and a line is longer than the most along.
GLYPH_MM = (1.0, 8.0)
# A ruling line that text or a crossing line joins into a blob runs along its side; a ridge
# through a column of glyphs runs through their middles, this far in from their sides.
GLYPH_INSIDE_MM = 0.4


@dataclass(frozen=True)
class GlyphBoxes:
    """The insides of the ink blobs of a glyph's size, 255 on 0 (see `glyph_boxes`).

    `across` is each box less its top and bottom, where a row line may run; `down`, less its
    sides, where a column line may.
    """

    across: np.ndarray
    down: np.ndarray


def glyph_boxes(binary: np.ndarray, px_per_mm: float) -> GlyphBoxes:
    """The insides of the glyph-sized blobs of a page's `strokes`, where text lies.

    Monospaced CJK text stacks its glyphs in columns and rows, and at 150 dpi a glyph is a
    blob with paper beside it; smoothed along, a column of them is a ridge like a worn
    line's, the paper between text lines bridged (`_outside` drops such ridges). A worn
    line is too faint to be among the strokes, or it is a long one, or thin dashes; where
    text or a crossing line touches it, it runs along the blob's side. Blobs of the fainter
    `faint_strokes` would not do: a noisy page's grain glues itself and a worn line's
    pieces into blobs of a glyph's size.
    """
    stats, _ = _components(binary)
    least, most = (round(mm * px_per_mm) for mm in GLYPH_MM)
    inset = max(1, round(GLYPH_INSIDE_MM * px_per_mm))
    width, height = stats[:, 2], stats[:, 3]
    glyph = (width >= least) & (height >= least) & (width <= most) & (height <= most)
    across, down = np.zeros_like(binary), np.zeros_like(binary)
    for x, y, w, h in stats[glyph, :4].tolist():
        across[y + inset : y + h - inset, x : x + w] = 255
        down[y : y + h, x + inset : x + w - inset] = 255
    return GlyphBoxes(across=across, down=down)


# Of a stretch of ridge, the share inside glyphs that makes it a column of glyphs: a worn
# line runs through paper for most of its length. The glyphs are stretched along by the
# ridge's smoothing (`RIDGE_ALONG_MM`), which bridges the paper between text lines and
# carries the ridge past the last glyph; a line-end comma is too small to count as one.
INSIDE_GLYPHS = 0.8


def _outside(
    ridge: np.ndarray, glyphs: np.ndarray, px_per_mm: float, horizontal: bool
) -> np.ndarray:
    """The stretches of a ridge mask that do not run through glyphs (`glyph_boxes`) alone."""
    gap = max(1, round(RIDGE_ALONG_MM * px_per_mm))
    bridged = cv2.dilate(glyphs, np.ones((1, gap) if horizontal else (gap, 1), np.uint8))
    count, labels = cv2.connectedComponents(ridge, connectivity=8)
    if count < 2:
        return ridge
    sizes = np.bincount(labels.ravel(), minlength=count)
    inside = np.bincount(labels[bridged > 0], minlength=count)
    glyph_columns = inside >= INSIDE_GLYPHS * np.maximum(sizes, 1)
    glyph_columns[0] = False
    kept = ridge.copy()
    kept[glyph_columns[labels]] = 0
    return kept


def _open_along(
    ridge: np.ndarray, px_per_mm: float, options: GridOptions, horizontal: bool
) -> np.ndarray:
    """The stretches of a ridge mask longer than a glyph (`min_ridge_mm`)."""
    length = max(5, round(options.min_ridge_mm * px_per_mm))
    kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
    opened: np.ndarray = cv2.morphologyEx(ridge, cv2.MORPH_OPEN, kernel)
    return opened


def _ridge(
    gray: np.ndarray, px_per_mm: float, contrast: float, horizontal: bool, beside_text: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels on a thin line of one direction: darker by `contrast` than the paper beside it.

    The darkest pixel of a band on each side stands for that side, so a single stroke beside
    (the rest of a glyph) disqualifies it; for a ruling line both bands are paper. With
    `beside_text`, a second mask where one side may be text instead, where the line is still
    thin there: a spreadsheet prints a cell's text up to its border, and paper shows just
    beside the line (`RIDGE_GAP_MM`) though not a band's width away. Both are 255 on 0.
    """
    along = max(3, round(RIDGE_ALONG_MM * px_per_mm))
    near = max(2, round(RIDGE_SIDE_MM[0] * px_per_mm))
    far = max(near + 1, round(RIDGE_SIDE_MM[1] * px_per_mm))
    # Sums along the line, not means: whole numbers in 16 bits, exact and cheaper than floats.
    total = cv2.boxFilter(
        gray, cv2.CV_16U, (along, 1) if horizontal else (1, along), normalize=False
    )
    span = far - near + 1
    side = cv2.erode(total, np.ones((span, 1) if horizontal else (1, span), np.uint8))
    offset = (near + far) // 2
    threshold = math.ceil(contrast * along)
    # Paper lighter than the line by `threshold` sums to `least` or more, one comparison a
    # side. 16 bits hold it up to some 170 px per mm (4,000 dpi); past that it takes 32.
    if 255 * along + threshold > np.iinfo(np.uint16).max:
        total, side = total.astype(np.int32), side.astype(np.int32)
    # OpenCV's differences stop at 0, so a threshold of 0 or less passes any paper.
    least = total + threshold if threshold > 0 else np.zeros_like(total)
    axis = 0 if horizontal else 1
    band_before, band_after = _lighter_beside(side, least, offset, axis)
    ridge = cv2.bitwise_and(band_before, band_after)
    if not beside_text:
        return ridge, None
    gap = max(2, round(RIDGE_GAP_MM * px_per_mm))
    gap_before, gap_after = _lighter_beside(total, least, gap, axis)
    # Paper a band away on one side at least; on the other, paper a band away or just beside:
    # a ridge, or a band before and just after, or a band after and just before. Written over
    # the gap masks, done with: a fresh page-sized mask costs more (page faults) than the OR.
    beside = cv2.bitwise_and(band_before, gap_after, dst=gap_after)
    cv2.bitwise_or(beside, cv2.bitwise_and(band_after, gap_before, dst=gap_before), dst=beside)
    return ridge, cv2.bitwise_or(beside, ridge, dst=beside)


def _lighter_beside(
    values: np.ndarray, least: np.ndarray, by: int, axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """Where `values` `by` px before, and after, each pixel along `axis` reach `least` there.

    Past the page the edge is repeated. Both sides are views of one padded copy, which costs
    less than a shifted copy for each. 255 on 0.
    """
    rows, cols = values.shape
    if axis == 0:
        padded = cv2.copyMakeBorder(values, by, by, 0, 0, cv2.BORDER_REPLICATE)
        before, after = padded[:rows], padded[2 * by :]
    else:
        padded = cv2.copyMakeBorder(values, 0, 0, by, by, cv2.BORDER_REPLICATE)
        before, after = padded[:, :cols], padded[:, 2 * by :]
    return cv2.compare(before, least, cv2.CMP_GE), cv2.compare(after, least, cv2.CMP_GE)


def _table_box(
    across: np.ndarray, down: np.ndarray, slack: int
) -> tuple[int, int, int, int] | None:
    """The box of the connected structure with the most ruling: the table.

    Long glyph strokes of the title also pass the line filter; they stand apart from it.
    """
    joined = cv2.dilate(cv2.bitwise_or(across, down), np.ones((slack, slack), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    if count < 2:
        return None
    # Most ruling: a photo's sheet edge or shadow can span a bigger box with a few long lines.
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[biggest, :4])
    box = [x, y, x + w, y + h]
    pieces = [tuple(int(v) for v in stats[i, :4]) for i in range(1, count) if i != biggest]
    # Worn lines can split the table: take in pieces that run on from it, until none does (a
    # piece that runs on from a box runs on from any box round it, so the order is no matter).
    while joining := [piece for piece in pieces if _runs_on(piece, box, slack)]:
        for px, py, pw, ph in joining:
            box = [min(box[0], px), min(box[1], py), max(box[2], px + pw), max(box[3], py + ph)]
        pieces = [piece for piece in pieces if piece not in joining]
    return box[0], box[1], box[2], box[3]


def _runs_on(piece: tuple[int, ...], box: list[int], slack: int) -> bool:
    """Whether a piece of ruling is more of the table in `box`.

    Either it lies within the table's columns and touches it above or below (a frame broken
    across), or it lies within the table's rows and touches it beside (a table whose row
    lines wore through at staggered places, split into a left and a right part).
    """
    px, py, pw, ph = piece
    within_columns = px >= box[0] - slack and px + pw <= box[2] + slack
    within_rows = py >= box[1] - slack and py + ph <= box[3] + slack
    touches_x = px <= box[2] + slack and px + pw >= box[0] - slack
    touches_y = py <= box[3] + slack and py + ph >= box[1] - slack
    return (within_columns and touches_y) or (within_rows and touches_x)


def _inside(segment: tuple[int, int, int, int], box: tuple[int, int, int, int], slack: int) -> bool:
    x0, y0, x1, y1 = segment
    return (
        x0 >= box[0] - slack
        and x1 <= box[2] + slack
        and y0 >= box[1] - slack
        and y1 <= box[3] + slack
    )


# A mask's blobs as connectedComponentsWithStats gives them, less the background: stats, centroids.
Components = tuple[np.ndarray, np.ndarray]


def _components(mask: np.ndarray) -> Components:
    _, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return stats[1:], centroids[1:]


def _segments(across: Components, down: Components) -> list[tuple[int, int, int, int]]:
    """Ruling lines as (x0, y0, x1, y1): horizontal ones have y0 == y1, vertical x0 == x1."""
    found: list[tuple[int, int, int, int]] = []
    for (stats, centroids), horizontal in ((across, True), (down, False)):
        for (x, y, bw, bh), (cx, cy) in zip(stats[:, :4].tolist(), centroids.tolist(), strict=True):
            if horizontal:
                found.append((x, round(cy), x + bw, round(cy)))
            else:
                found.append((round(cx), y, round(cx), y + bh))
    return found


def close_open_sides(
    positions: list[int],
    across: list[tuple[int, int, int, int]],
    axis: int,
    merge: int,
    beyond: int,
) -> tuple[list[int], tuple[str, ...]]:
    """Outer positions where a table printed without its frame line on that side ends.

    A sheet printed from a spreadsheet may leave a side of the table unruled: its lines
    across still stop together there, a column (or row) past the last line along. Where at
    least `OPEN_SIDE_LINES` of them end within `merge` of each other (`where_lines_end`),
    `beyond` px or more outside the outermost position, that place is taken as the missing
    frame line. `axis` 0 takes column positions (x) and the horizontal lines; 1 row positions
    and the verticals.
    Returns the positions and the sides so closed (`left`, `right`, `top`, `bottom`).
    """
    start, end = (0, 2) if axis == 0 else (1, 3)
    closed: list[str] = []
    ends = [s[end] for s in across if s[end] > positions[-1] + beyond]
    if (far := where_lines_end(ends, merge)) is not None:
        positions = [*positions, round(far)]
        closed.append("right" if axis == 0 else "bottom")
    starts = [s[start] for s in across if s[start] < positions[0] - beyond]
    if (near := where_lines_end(starts, merge)) is not None:
        positions = [round(near), *positions]
        closed.append("left" if axis == 0 else "top")
    return positions, tuple(closed)


def lines_to_positions(
    segments: list[tuple[int, int, int, int]], axis: int, merge: int, min_total: int = 0
) -> list[int]:
    """Cluster line segments into positions (x for vertical lines, y for horizontal ones).

    Each position is the length-weighted mean of the segments within `merge` px of each other;
    a cluster whose segments add up to less than `min_total` px is dropped.
    """
    if not segments:
        return []
    items = sorted(
        (s[0] if axis == 0 else s[1], (s[3] - s[1]) if axis == 0 else (s[2] - s[0]))
        for s in segments
    )
    groups: list[list[tuple[int, int]]] = [[items[0]]]
    for pos, length in items[1:]:
        if pos - groups[-1][-1][0] <= merge:
            groups[-1].append((pos, length))
        else:
            groups.append([(pos, length)])
    return [_weighted(g) for g in groups if sum(length for _, length in g) >= min_total]


def _meets_a_column(segment: tuple[int, int, int, int], xs: list[int], merge: int) -> bool:
    """Whether a horizontal segment reaches or crosses a column line.

    A row line runs from column line to column line. A stretch afloat inside one cell is
    the flat feet of a row of digits or a pen stroke; a worn row line's surviving stretches
    elsewhere along it still give its row.
    """
    x0, _, x1, _ = segment
    return any(x0 - merge <= x <= x1 + merge for x in xs)


def _solid(
    positions: list[int],
    segments: list[tuple[int, int, int, int]],
    axis: int,
    merge: int,
    min_total: int,
) -> set[int]:
    """The positions whose line segments add up to at least `min_total` px."""
    totals = dict.fromkeys(positions, 0)
    for s in segments:
        at = s[0] if axis == 0 else s[1]
        nearest = min(positions, key=lambda p: abs(p - at))
        if abs(nearest - at) <= merge:
            totals[nearest] += (s[3] - s[1]) if axis == 0 else (s[2] - s[0])
    return {p for p, total in totals.items() if total >= min_total}


def _weighted(group: list[tuple[int, int]]) -> int:
    total = sum(max(1, length) for _, length in group)
    return round(sum(pos * max(1, length) for pos, length in group) / total)


def fine_grid_to_cells(
    xs: list[int],
    ys: list[int],
    across: np.ndarray,
    down: np.ndarray,
    band: int,
    coverage: float,
    solid_xs: set[int] | None = None,
    solid_ys: set[int] | None = None,
    gray: np.ndarray | None = None,
    px_per_mm: float = 8.0,
    beside_text: np.ndarray | None = None,
) -> list[Cell]:
    """Join fine-grid cells that no ruling line separates; each joined group is one cell.

    A line lost inside a joined cell is restored only at a solid position (`solid_xs`,
    `solid_ys`), one that long stretches of line elsewhere on the page are found at. Given
    the page (`gray`), a thin column line that runs unbroken along a cell's whole edge
    separates too, where text on both sides of it hid it from the masks (`_runs_through`);
    given `beside_text` (`WornLines.rows_beside_text`), so does a row line that text runs
    up to (see there).
    """
    # apart_right[r][c]: a line between fine cells (r, c) and (r, c + 1);
    # apart_below[r][c]: a line between (r, c) and (r + 1, c).
    apart_right = _apart(down, xs[1:-1], ys, band, coverage, vertical=True)
    apart_below = _apart(across, ys[1:-1], xs, band, coverage, vertical=False).T.copy()
    if gray is not None:
        _add_thin_lines(apart_right, gray, xs[1:-1], ys, band, px_per_mm, vertical=True)
    if beside_text is not None and gray is not None:
        # Row lines: where a line of text runs along one, the edge of its glyphs can be as
        # thin and dark as the line, with paper beyond. A row line that text hid is taken
        # only at a solid position, where both tests find it.
        solid_rows = [y in (solid_ys or ()) for y in ys[1:-1]]
        end_to_end = _apart_end_to_end(beside_text, ys[1:-1], xs, band, vertical=False)
        thin = np.zeros_like(end_to_end)
        _add_thin_lines(thin, gray, ys[1:-1], xs, band, px_per_mm, vertical=False, only=solid_rows)
        apart_below |= (end_to_end & thin).T
    groups = _join(apart_right, apart_below)
    restorable_right = np.array([x in (solid_xs or ()) for x in xs[1:-1]], dtype=bool)
    restorable_below = np.array([y in (solid_ys or ()) for y in ys[1:-1]], dtype=bool)
    if close_line_ends(apart_right, apart_below, groups, restorable_right, restorable_below):
        groups = _join(apart_right, apart_below)
    cells = []
    for members in groups.values():
        r0 = min(r for r, _ in members)
        r1 = max(r for r, _ in members)
        c0 = min(c for _, c in members)
        c1 = max(c for _, c in members)
        cells.append(Cell(r0, r1, c0, c1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    cells.sort(key=lambda cell: (cell.row0, cell.col0))
    return cells


def _join(apart_right: np.ndarray, apart_below: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """Fine cells grouped where no line parts them: root → its (row, column) members."""
    rows, cols = apart_below.shape[0] + 1, apart_right.shape[1] + 1
    parent = list(range(rows * cols))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols and not apart_right[r, c]:
                parent[root(r * cols + c)] = root(r * cols + c + 1)
            if r + 1 < rows and not apart_below[r, c]:
                parent[root(r * cols + c)] = root((r + 1) * cols + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(rows):
        for c in range(cols):
            groups.setdefault(root(r * cols + c), []).append((r, c))
    return groups


def close_line_ends(
    apart_right: np.ndarray,
    apart_below: np.ndarray,
    groups: dict[int, list[tuple[int, int]]],
    restorable_right: np.ndarray,
    restorable_below: np.ndarray,
) -> bool:
    """Restore, inside a joined cell, the lost line that the lines seen within it end on.

    A merged cell holds no ruling line. One that does was joined around a line's end: in a
    table of rectangular cells a line ends only on a line across it, which runs on both
    sides of the end. So where a row line inside a joined cell stops at a column position,
    that column's line is restored above and below the stop (a 二级 cell whose right line is
    worn away would otherwise swallow the 三级 lines beside it). Returns whether any was.
    """
    rows, cols = apart_below.shape[0] + 1, apart_right.shape[1] + 1
    group_of = np.zeros((rows, cols), dtype=int)
    for key, members in groups.items():
        for r, c in members:
            group_of[r, c] = key
    seen_right, seen_below = apart_right.copy(), apart_below.copy()
    restored = False
    for r in range(rows - 1):
        for c in range(cols - 1):
            if (
                len(
                    {group_of[r, c], group_of[r, c + 1], group_of[r + 1, c], group_of[r + 1, c + 1]}
                )
                > 1
            ):
                continue  # not inside one joined cell
            # the row line under row r stops at the column line right of column c
            solid = restorable_right[c] and restorable_below[r]  # a text stroke ends anywhere
            if seen_below[r, c] != seen_below[r, c + 1] and solid:
                apart_right[r, c] = apart_right[r + 1, c] = True
                restored = True
            # the column line right of column c stops at the row line under row r
            if seen_right[r, c] != seen_right[r + 1, c] and solid:
                apart_below[r, c] = apart_below[r, c + 1] = True
                restored = True
    return restored


def _apart(
    mask: np.ndarray,
    lines: Sequence[int],
    spans: Sequence[int],
    band: int,
    coverage: float,
    vertical: bool,
) -> np.ndarray:
    """[span][line]: whether a ruling line at `lines[line]` covers the span between `spans`."""
    counts = _hit_counts(mask, lines, band, vertical)
    apart = np.zeros((len(spans) - 1, len(lines)), dtype=bool)
    for i, (start, end) in enumerate(pairwise(spans)):
        lo, hi = _edge(start, end, counts.shape[1] - 1)
        covered = (counts[:, hi] - counts[:, lo]) / (hi - lo) if hi > lo else 1.0  # all corner
        apart[i] = covered >= coverage
    return apart


# A thin line seen along this share of a cell's edge, in one pixel column, separates.
THIN_LINE_COVERAGE = 0.9
THIN_LINE_CONTRAST = 24  # grey levels darker than the paper of its strip
THIN_LINE_ALONG_MM = 0.5  # fills a dotted line's gaps, not the paper between text lines
THIN_LINE_BESIDE = 0.6  # share of its length with paper just beside it, on one side


def _add_thin_lines(
    apart: np.ndarray,
    gray: np.ndarray,
    lines: Sequence[int],
    spans: Sequence[int],
    band: int,
    px_per_mm: float,
    vertical: bool,
    only: Sequence[bool] | None = None,
) -> None:
    """Set apart[span][line] where a thin line runs through the span (`_runs_through`).

    `only`: the lines to look at, by index; all where None.
    """
    along = max(2, round(THIN_LINE_ALONG_MM * px_per_mm))
    for i, (start, end) in enumerate(pairwise(spans)):
        for j, at in enumerate(lines):
            if only is not None and not only[j]:
                continue
            if not apart[i, j] and _runs_through(gray, at, start, end, band, along, vertical):
                apart[i, j] = True


def _runs_through(
    gray: np.ndarray, at: int, start: int, end: int, band: int, along: int, vertical: bool
) -> bool:
    """Whether a thin line runs in one pixel column (or row) near `at` along start..end.

    Text on both sides of a line hides it from the masks, which look for paper a band away
    beside it, but not from this: the line is ink along nearly all of the cell's edge, and
    paper shows just beside it, on one side at least, along most of it. A glyph's strokes
    do not run unbroken through a cell's whole height past the paper between text lines,
    and where a line of text is dense enough to (along it), it is as dark just beside.
    """
    inset = max(1, (end - start) // 10)  # the corners, where crossing lines are
    lo, hi = start + inset, end - inset
    gap = along  # just beside: about a line's width and a half away
    if hi - lo < along:
        return False
    if vertical:
        strip = gray[lo:hi, max(0, at - band - gap) : at + band + gap + 1]
    else:
        strip = gray[max(0, at - band - gap) : at + band + gap + 1, lo:hi].T
    if strip.shape[1] < 2 * gap + 2:
        return False
    smooth = cv2.blur(strip, (1, along)).astype(np.int16)
    dark = smooth <= _paper(strip) - THIN_LINE_CONTRAST
    # a line one or two pixels wide falls in one column, or across two
    line = np.minimum(smooth[:, :-1], smooth[:, 1:])
    dark = dark[:, :-1] | dark[:, 1:]
    # All the columns at once, each far enough from the strip's sides to have both beside it.
    columns = np.arange(gap, dark.shape[1] - gap - 1)
    columns = columns[dark[:, columns].mean(axis=0) >= THIN_LINE_COVERAGE]
    if len(columns) == 0:
        return False
    on_line = line[:, columns]
    before = (smooth[:, columns - gap] - on_line >= THIN_LINE_CONTRAST).mean(axis=0)
    after = (smooth[:, columns + 1 + gap] - on_line >= THIN_LINE_CONTRAST).mean(axis=0)
    return bool((np.maximum(before, after) >= THIN_LINE_BESIDE).any())


# The paper of a strip: this percentile of its pixels, above the ink of a line and its text.
PAPER_PERCENTILE = 95


def _paper(strip: np.ndarray) -> float:
    """`np.percentile(strip, PAPER_PERCENTILE)`, counted rather than sorted where it can be.

    A strip is thousands of pixels in 256 grey levels, so the pixels about that rank nearly
    always share one level, which is then the percentile exactly, as numpy interpolates it.
    Only where they do not is numpy asked; its sort costs several times the count.
    """
    pixels = strip.ravel()
    rank = math.floor((pixels.size - 1) * PAPER_PERCENTILE / 100)
    if pixels.dtype == np.uint8 and rank >= 1:
        at_or_below = np.cumsum(np.bincount(pixels, minlength=256))
        # numpy interpolates between two neighbouring ranks, which rounding may put one off
        # `rank`: where the levels from one rank below to two above agree, that level it is
        lowest, highest = np.searchsorted(at_or_below, (rank - 1, rank + 2), side="right")
        if lowest == highest:
            return float(lowest)
    return float(np.percentile(strip, PAPER_PERCENTILE))


# A line that text runs up to separates two cells only where it runs along most of their
# edge and into the lines at both its ends: a glyph's stroke inside a merged cell stops short.
END_TO_END_COVERAGE = 0.7
END_REACH = 0.2


def _apart_end_to_end(
    mask: np.ndarray, lines: Sequence[int], spans: Sequence[int], band: int, vertical: bool
) -> np.ndarray:
    """[span][line]: whether a line at `lines[line]` runs from end to end of the span."""
    counts = _hit_counts(mask, lines, band, vertical)
    apart = np.zeros((len(spans) - 1, len(lines)), dtype=bool)
    for i, (start, end) in enumerate(pairwise(spans)):
        lo, hi = _edge(start, end, counts.shape[1] - 1)
        if hi == lo:
            continue
        reach = max(1, round((hi - lo) * END_REACH))
        apart[i] = (
            ((counts[:, hi] - counts[:, lo]) / (hi - lo) >= END_TO_END_COVERAGE)
            & (counts[:, lo + reach] > counts[:, lo])
            & (counts[:, hi] > counts[:, hi - reach])
        )
    return apart


def _hit_counts(mask: np.ndarray, lines: Sequence[int], band: int, vertical: bool) -> np.ndarray:
    """[line][p]: how many of the first p px along `lines[line]` have mask within `band` of it.

    Counted once along the whole page, so that any stretch of a line takes two look-ups.
    """
    length = mask.shape[0] if vertical else mask.shape[1]
    counts = np.zeros((len(lines), length + 1), dtype=np.int64)
    for j, at in enumerate(lines):
        near = slice(max(0, at - band), at + band + 1)
        hits = mask[:, near].any(axis=1) if vertical else mask[near, :].any(axis=0)
        np.cumsum(hits, out=counts[j, 1:])
    return counts


def _edge(start: int, end: int, length: int) -> tuple[int, int]:
    """start..end less its corners, where crossing lines are, within a line `length` px long."""
    inset = max(1, (end - start) // 10)
    if end - inset <= start + inset:
        return 0, 0
    lo, hi, _ = slice(start + inset, end - inset).indices(length)
    return lo, max(lo, hi)


def _thickness(across: Components) -> int:
    """Median thickness of the horizontal ruling lines (area over length)."""
    stats = across[0]
    if len(stats) == 0:
        return 2
    widths = np.maximum(stats[:, cv2.CC_STAT_WIDTH], 1)
    return max(1, round(float(np.median(stats[:, cv2.CC_STAT_AREA] / widths))))


def draw_grid(page: PreparedPage, grid: Grid) -> np.ndarray:
    """A debug picture: ruling lines in blue, each cell outlined in green with its span.

    Seals are circled in magenta: no line was taken from their strokes.
    """
    canvas = cv2.cvtColor(page.gray, cv2.COLOR_GRAY2BGR)
    for seal in page.seals:
        centre = (round(seal.x), round(seal.y))
        cv2.circle(canvas, centre, round(seal.radius), (200, 0, 200), 2)
    for x0, y0, x1, y1 in grid.segments:
        cv2.line(canvas, (x0, y0), (x1, y1), (255, 120, 0), 2)
    for cell in grid.cells:
        x0, y0, x1, y1 = cell.box
        cv2.rectangle(canvas, (x0 + 3, y0 + 3), (x1 - 3, y1 - 3), (0, 170, 0), 1)
        label = f"{cell.row0}-{cell.row1},{cell.col0}-{cell.col1}"
        cv2.putText(
            canvas, label, (x0 + 5, y0 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 200), 1
        )
    return canvas
