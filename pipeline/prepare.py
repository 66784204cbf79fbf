"""Stage 2, prepare: make a page upright, square and evenly lit before the grid is looked for.

In order: a quarter turn for pages lying on their side; in a phone photo, the sheet's outline
found against the desk and warped flat (most of the perspective goes, and the desk with it);
the skew found from the ruling lines' projection profile; the table's frame found and warped
to a rectangle (this undoes what perspective is left); the background evened out (a large
closing estimates the paper); a page upside down turned by a text-orientation model voting
over text lines; red and blue ink suppressed in a second copy (seals, pen); and round seals
found as circles (`pipeline.seals`), for the grid to keep their rings out of its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.ingest import PageImage
from pipeline.ink import (
    OPEN_SIDE_LINES,
    across_lines,
    depth,
    down_lines,
    faint_strokes,
    line_masks,
    red_ink,
    strokes,
    where_lines_end,
)
from pipeline.seals import Seal, find_seals

# The prepared page is the table plus margins of 9% a side, and forms are about 180 mm wide;
# this turns "millimetres on the form" into pixels whatever the scan's resolution.
PAGE_WIDTH_MM = 210.0

Line = tuple[float, float, float]  # a*x + b*y = c


class PrepareOptions(BaseModel):
    """Tolerances of page preparation; the defaults suit A4 forms scanned at 150–300 dpi."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_skew_deg: float = Field(default=8.0, description="Skew searched for, either way.")
    skew_step_deg: float = Field(default=0.1, description="Resolution of the skew search.")
    work_width: int = Field(default=600, description="Width the skew search is done at (px).")
    margin_frac: float = Field(
        default=0.09, description="White kept round the table's frame, as a share of its width."
    )
    min_frame_frac: float = Field(
        default=0.5, description="A frame narrower than this share of the page is not trusted."
    )


@dataclass(frozen=True)
class PreparedPage:
    """A page ready for the grid: upright, deskewed, its table frame made rectangular.

    `image` is RGB; `gray` is the evened grey page; `ink` the same with red and blue ink
    (seals, pen) lifted out, and `ink_depth` its `depth` (made once here: the orientation
    vote, the grid and the OCR all look for strokes in it); `seal` marks where red ink was,
    `seals` the round seals found.
    `transform` maps source-page pixels to prepared-page pixels (3x3), so a box found here
    can be drawn on the scan.
    """

    source: PageImage
    image: np.ndarray
    gray: np.ndarray
    ink: np.ndarray
    ink_depth: np.ndarray
    seal: np.ndarray
    transform: np.ndarray
    skew_deg: float
    turned: int  # quarter turns applied, counter-clockwise
    frame_found: bool
    photo: bool = False  # a sheet photographed on a background, its outline found
    seals: tuple[Seal, ...] = ()


def prepare_page(page: PageImage, options: PrepareOptions | None = None) -> PreparedPage:
    """Turn, deskew and rectify one page."""
    options = options or PrepareOptions()
    rgb = page.image
    if _bilevel(rgb):
        rgb = _soften(rgb)
    transform = np.eye(3)
    turned = 0
    if rgb.shape[1] > rgb.shape[0] * 1.1:  # a portrait form lying on its side
        transform = _turn_matrix(rgb.shape, 1) @ transform
        rgb = np.ascontiguousarray(np.rot90(rgb, 1))
        turned = 1

    sheet = _sheet_corners(rgb)
    if sheet is not None:
        # A photo of the sheet on a desk: warp the sheet flat first. That undoes most of the
        # perspective and leaves no desk for the frame search to mistake for ruling lines.
        step, size = _sheet_warp(sheet)
        rgb = _whiten_border(_warp(rgb, step, size[0], size[1], border=255))
        transform = step @ transform

    rectified = _deskew_and_rectify(rgb, options)
    if rectified[3] is None:
        # No frame found: in a phone photo the desk's grain and edges can outdo the table's
        # lines. Try again with everything round the sheet painted white.
        retry = _deskew_and_rectify(_whiten_outside_paper(rgb), options)
        if retry[3] is not None:
            rectified = retry
    rgb, step, skew, frame = rectified
    transform = step @ transform

    gray = _evened_gray(rgb)
    ink = _even(lift_colour(rgb))
    ink_depth = depth(ink)
    if _upside_down(gray, ink_depth):
        turn = _turn_matrix(rgb.shape, 2)
        rgb, gray, ink, ink_depth = (
            np.ascontiguousarray(a[::-1, ::-1]) for a in (rgb, gray, ink, ink_depth)
        )
        transform = turn @ transform
        turned += 2
    seal = red_ink(rgb)
    return PreparedPage(
        source=page,
        image=rgb,
        gray=gray,
        ink=ink,
        ink_depth=ink_depth,
        seal=seal,
        transform=transform,
        skew_deg=skew,
        turned=turned % 4,
        frame_found=frame is not None,
        photo=sheet is not None,
        seals=find_seals(gray, gray.shape[1] / PAGE_WIDTH_MM),
    )


# A 1-bit page is softened to grey this much (a share of the page's width, 0.1 mm): a
# scanner's dither turns grey paper into salt that every stage takes for ink, and the
# recogniser was trained on grey text, not on its hard 1-bit edges.
BILEVEL_SOFTEN = 0.1 / PAGE_WIDTH_MM


def _bilevel(rgb: np.ndarray) -> bool:
    """Whether a page holds pure black and white only: a fax's or archive scanner's 1-bit."""
    sample = rgb[::7, ::7]
    return bool(np.isin(sample, (0, 255)).all())


def _soften(rgb: np.ndarray) -> np.ndarray:
    sigma = BILEVEL_SOFTEN * rgb.shape[1]
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


COLOUR_CHROMA = (
    35  # max - min channel: print (black, grey, JPEG noise) stays below; seals, pens above
)


def lift_colour(rgb: np.ndarray) -> np.ndarray:
    """Grey page with coloured ink (red seals, blue pen) lifted to the paper's brightness.

    Printed text is black or grey; a pixel with strong colour is someone else's ink. Where a
    seal lies over print, the mix is dark and keeps little colour, so the print stays.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    r, g, b = cv2.split(rgb)
    brightest = cv2.max(cv2.max(r, g), b)
    chroma = cv2.subtract(brightest, cv2.min(cv2.min(r, g), b))
    np.copyto(gray, brightest, where=chroma > COLOUR_CHROMA)
    return gray


PAPER_WORK_WIDTH = 400  # px; the sheet's outline needs no detail
SHEET_MIN_AREA = 0.25  # share of the picture a photographed sheet covers at least
SHEET_EDGE_SUPPORT = 0.6  # share of each side of the sheet that must show as an edge
SHEET_EDGE_BAND = 5.0  # px of the small copy: the region's inside lies that far within its edge


def _sheet_corners(rgb: np.ndarray) -> np.ndarray | None:
    """The corners (tl, tr, br, bl) of a sheet photographed on a background, or None.

    Found on a small copy: a closing removes print, so what edges are left are the sheet's
    outline and the background's texture. Edges are taken on the log of brightness, so a
    shadow, which darkens sheet and desk alike and has a soft edge, does not show. A scan,
    all paper, has no outline and gives None.
    """
    scale = min(1.0, PAPER_WORK_WIDTH / rgb.shape[1])
    edges = _outline_edges(rgb, scale)
    hull = _largest_hull(edges)
    if hull is None or cv2.contourArea(hull) < SHEET_MIN_AREA * edges.size:
        return None
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2)
    if len(quad) != 4 or not cv2.isContourConvex(quad):
        return None
    corners = _refine_quad(_order_corners(quad.astype(np.float32)), edges)
    if corners is None:
        return None
    full_size: np.ndarray = (corners / scale).astype(np.float32)
    return full_size


def _outline_edges(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Edges of a small, print-free, log-brightness copy of the picture."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    log = np.log1p(closed.astype(np.float32))
    log8 = ((log - log.min()) * (255 / max(float(np.ptp(log)), 1e-6))).astype(np.uint8)
    edges: np.ndarray = cv2.Canny(cv2.GaussianBlur(log8, (0, 0), 1.5), 30, 90)
    return edges


SHEET_PART_AREA = 0.05  # share of the picture: a part of the sheet a fold's crease marks off
SHEET_PARTS_FILL = 0.9  # share of their joint hull that a sheet's parts fill (the crease between)


def _largest_hull(edges: np.ndarray) -> np.ndarray | None:
    """Convex hull of the largest region that edges close all round: the sheet's inside.

    The inside of the outline, not the outline, because texture touching the sheet's edge
    from outside would pull the outline's hull out of shape. A fold's crease is an edge
    across the sheet too, and parts it into regions; the parts beside the largest that
    fill a convex hull with it, but for the crease between, are the same sheet. Taken
    alone, the part below a crease across was rectified to the whole page, the form's top
    half lost.
    """
    joined = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    contours, hierarchy = cv2.findContours(joined, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    holes = [c for c, links in zip(contours, hierarchy[0], strict=True) if links[3] >= 0]
    if not holes:
        return None
    holes.sort(key=cv2.contourArea, reverse=True)
    sheet, area = holes[0], cv2.contourArea(holes[0])
    for part in holes[1:]:
        part_area = cv2.contourArea(part)
        if part_area < SHEET_PART_AREA * edges.size:
            break
        joint = cv2.convexHull(np.concatenate([sheet, part]))
        if area + part_area >= SHEET_PARTS_FILL * cv2.contourArea(joint):
            sheet, area = joint, area + part_area
    return cv2.convexHull(sheet)


def _order_corners(quad: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    total = quad.sum(axis=1)
    diff = quad[:, 1] - quad[:, 0]
    return np.array(
        [
            quad[np.argmin(total)],
            quad[np.argmin(diff)],
            quad[np.argmax(total)],
            quad[np.argmax(diff)],
        ],
        dtype=np.float32,
    )


def _refine_quad(corners: np.ndarray, edges: np.ndarray) -> np.ndarray | None:
    """Fit each side to the edge pixels near it; None when a side is not edge along its length.

    The hull's corners may be pulled out by a speck of background texture touching the
    sheet; a line fitted through the whole side is not.
    """
    ys, xs = np.nonzero(edges)
    points = np.column_stack([xs, ys]).astype(np.float32)
    sides = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        near = points[_distance_to_segment(points, a, b) < SHEET_EDGE_BAND]
        length = float(np.linalg.norm(b - a))
        if len(near) < SHEET_EDGE_SUPPORT * length:
            return None
        vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        # As a*x + b*y = c, the normal to the fitted direction.
        sides.append((float(vy), float(-vx), float(vy * x0 - vx * y0)))
    refined = [_cross(sides[i - 1], sides[i]) for i in range(4)]  # corner i joins sides i-1, i
    return np.array(refined, dtype=np.float32)


def _distance_to_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each point to the segment a-b, its last 10% at either end left out."""
    direction = b - a
    t = (points - a) @ direction / max(float(direction @ direction), 1e-9)
    inside = (t > 0.1) & (t < 0.9)
    foot = a + np.clip(t, 0, 1)[:, None] * direction
    distance = np.linalg.norm(points - foot, axis=1)
    return np.where(inside, distance, np.inf)


def _sheet_warp(corners: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The homography that makes the sheet's outline the whole of a new picture."""
    width, height = _mean_sides(corners)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    return cv2.getPerspectiveTransform(corners, target), (round(width), round(height))


SHEET_BORDER_FRAC = 0.01  # the outline is found to a few pixels of the small copy


def _whiten_border(rgb: np.ndarray) -> np.ndarray:
    """Paint a thin band round the picture white.

    A sliver of desk left at the sheet's edge would otherwise pass for the outermost line.
    """
    band = max(3, round(SHEET_BORDER_FRAC * rgb.shape[1]))
    out = rgb.copy()
    out[:band] = 255
    out[-band:] = 255
    out[:, :band] = 255
    out[:, -band:] = 255
    return out


def _whiten_outside_paper(rgb: np.ndarray) -> np.ndarray:
    """Paint what lies around the sheet (a desk in a phone photo) white.

    Its grain and edges are then never taken for ruling lines. A flat scan is all paper and
    comes back as it was.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, PAPER_WORK_WIDTH / w)
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), None, fx=scale, fy=scale)
    small = cv2.GaussianBlur(small, (0, 0), 3)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=8)
    if count < 2:
        return rgb
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] > 0.9 * small.size:
        return rgb
    points = cv2.findNonZero((labels == biggest).astype(np.uint8))
    hull = cv2.convexHull(points)
    hull_mask = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(hull_mask, hull, (255,))
    mask = cv2.resize(hull_mask, (w, h), interpolation=cv2.INTER_NEAREST)
    if mask.mean() < 0.3 * 255:  # no sheet-sized bright region: leave the picture alone
        return rgb
    out = rgb.copy()
    out[mask == 0] = 255
    return out


NO_SKEW_DEG = 1e-9


def _deskew_and_rectify(
    rgb: np.ndarray, options: PrepareOptions
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Rotate by the skew found, then warp the table's frame to a rectangle where one is found.

    Returns the new image, the 3x3 transform applied, the skew and the frame's corners.
    """
    # Both searches run on the full page. On a half-size copy they saved a quarter of prepare's
    # time, but the frame's corners moved by a pixel or two on worn pages and the grid's
    # knife-edge calls with them: more fields read wrong on each of three sets (README,
    # "Throughput").
    dark = depth(_evened_gray(rgb))
    skew = _skew(dark, options)
    transform = _rotation_matrix(dark.shape, skew)
    # The search's steps land a hair off 0 (sums of 0.1); turning by that moves no pixel, so
    # a straight page keeps its picture and the skew search's `depth` of it.
    if abs(skew) > NO_SKEW_DEG:
        # Turned on its own, then rectified: one warp for both changed a few grey levels
        # and flipped the orientation vote on 2 of 19 heavy pages (README, "Throughput").
        rgb = _warp(rgb, transform, rgb.shape[1], rgb.shape[0], border=255)
        dark = depth(_evened_gray(rgb))
    frame = _frame(dark, options)
    if frame is not None:
        homography, size = _rectify(frame, rgb.shape, options)
        rgb = _warp(rgb, homography, size[0], size[1], border=255)
        transform = homography @ transform
    return rgb, transform, skew, frame


PAPER_POOL = 4  # the paper's brightness is estimated on a copy this many times smaller


def _even(gray: np.ndarray) -> np.ndarray:
    """Divide by the paper's own brightness, so shadows and uneven light become white.

    The paper is a large closing (print is narrower than its kernel), smoothed. Paper changes
    slowly, so it is estimated on a small copy: each block's brightest pixel, as the closing
    would keep it, then scaled back up.
    """
    kernel = max(15, (min(gray.shape) // 40) | 1)
    pool = PAPER_POOL
    small = cv2.dilate(gray, np.ones((pool, pool), np.uint8))[pool // 2 :: pool, pool // 2 :: pool]
    square = np.ones((max(3, round(kernel / pool) | 1),) * 2, np.uint8)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, square)
    paper = cv2.GaussianBlur(paper, (0, 0), kernel / 2 / pool)
    paper = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    evened: np.ndarray = cv2.divide(gray, np.maximum(paper, 1), scale=255)
    return evened


def _evened_gray(rgb: np.ndarray) -> np.ndarray:
    return _even(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def _skew(dark: np.ndarray, options: PrepareOptions) -> float:
    """The angle that makes the ruling lines' row profile sharpest (degrees, counter-clockwise).

    Tried in steps of half a degree on a copy half `work_width` wide, then in `skew_step_deg`
    steps round the best of those at full `work_width`.
    """
    scale = options.work_width / dark.shape[1]
    small = cv2.resize(strokes(dark), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    half = cv2.resize(small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    coarse = np.arange(-options.max_skew_deg, options.max_skew_deg + 1e-6, 0.5)
    best = _sharpest(half, coarse)
    return _sharpest(small, np.arange(best - 0.5, best + 0.5 + 1e-6, options.skew_step_deg))


def _sharpest(image: np.ndarray, angles: np.ndarray) -> float:
    """The angle, of `angles`, that turns `image` so its row profile changes most sharply."""
    h, w = image.shape
    best, best_score = 0.0, -1.0
    for angle in angles:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(angle), 1.0)
        profile = cv2.warpAffine(image, m, (w, h)).sum(axis=1, dtype=np.float64)
        score = float(np.square(np.diff(profile)).sum())
        if score > best_score:
            best, best_score = float(angle), score
    return best


def _rotation_matrix(shape: tuple[int, ...], angle: float) -> np.ndarray:
    h, w = shape[:2]
    return np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])


def _turn_matrix(shape: tuple[int, ...], quarters: int) -> np.ndarray:
    h, w = shape[:2]
    if quarters % 4 == 1:  # counter-clockwise: (x, y) -> (y, w - 1 - x)
        return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=float)
    if quarters % 4 == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=float)
    return np.eye(3)


def _warp(rgb: np.ndarray, matrix: np.ndarray, width: int, height: int, border: int) -> np.ndarray:
    return cv2.warpPerspective(
        rgb,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border, border, border),
    )


def _frame(dark: np.ndarray, options: PrepareOptions) -> np.ndarray | None:
    """The table's outer frame as four corners (tl, tr, br, bl), or None when not found.

    `dark` is the page's `depth`.
    """
    h, w = dark.shape
    across, down = line_masks(faint_strokes(dark), max(20, w // 25))
    top, bottom = _extreme_lines(across, axis=0)
    left, right = _extreme_lines(down, axis=1)
    if top is None or bottom is None or left is None or right is None:
        return None
    left, right = _open_sides(across, left, right, 1, options.min_frame_frac * w)
    top, bottom = _open_sides(down, top, bottom, 0, 0.03 * h)
    corners = np.array(
        [_cross(top, left), _cross(top, right), _cross(bottom, right), _cross(bottom, left)],
        dtype=np.float32,
    )
    width = np.linalg.norm(corners[1] - corners[0])
    height = np.linalg.norm(corners[3] - corners[0])
    if width < options.min_frame_frac * w or height < 0.03 * h:
        return None
    return corners


FRAME_LINE_TOLERANCE = 0.004  # share of the page: pieces of one broken line lie this close


def _extreme_lines(mask: np.ndarray, axis: int) -> tuple[Line | None, Line | None]:
    """The first and the last long line of a mask, each fitted through its pixels.

    A worn line comes out of the line filter in pieces; pieces at one position count as one
    line, so a broken outer frame still outranks the whole lines inside it.
    """
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return None, None
    length_index = cv2.CC_STAT_WIDTH if axis == 0 else cv2.CC_STAT_HEIGHT
    across = 1 if axis == 0 else 0  # the centroid coordinate that says where the line is
    tolerance = FRAME_LINE_TOLERANCE * mask.shape[axis]
    lines: list[list[int]] = []
    for i in sorted(range(1, count), key=lambda i: centroids[i, across]):
        if lines and centroids[i, across] - centroids[lines[-1][-1], across] <= tolerance:
            lines[-1].append(i)
        else:
            lines.append([i])
    start_index = cv2.CC_STAT_LEFT if axis == 0 else cv2.CC_STAT_TOP
    lengths = [_covered(stats[line, start_index], stats[line, length_index]) for line in lines]
    # The frame's sides are among the longest lines of their direction; a continuation page's
    # table may be short, so "long" is relative to the longest line found.
    long = [
        line for line, length in zip(lines, lengths, strict=True) if length > 0.6 * max(lengths)
    ]
    return _fitted_line(labels, stats, long[0], axis), _fitted_line(labels, stats, long[-1], axis)


def _covered(starts: np.ndarray, lengths: np.ndarray) -> int:
    """How much of its direction a line's pieces cover together.

    Pieces of a broken line lie end to end and add up; two strokes side by side (a doubled
    or split frame line) cover one length, not two, else they outrank every other line and
    the frame's top is taken for its bottom too.
    """
    covered, reach = 0, -1
    for start, end in sorted(zip(starts.tolist(), (starts + lengths).tolist(), strict=True)):
        covered += max(0, end - max(start, reach))
        reach = max(reach, end)
    return covered


# How far past a side the lines across must end together (`OPEN_SIDE_LINES` of them) for it
# to be a side printed without its frame line (a share of the page).
OPEN_SIDE_BEYOND = 0.02


def _open_sides(
    across: np.ndarray, first: Line, last: Line, axis: int, least_apart: float
) -> tuple[Line, Line]:
    """The two sides of one direction, moved out where the table was printed unruled there.

    A sheet printed from a spreadsheet may leave the outer line of its last column unruled:
    the last line along it is then the column's inner line, and rectifying to it would cut
    the column off. The lines across still end together where the frame would be, so a
    side is taken there when at least `OPEN_SIDE_LINES` of them end past it. `axis` 1: the
    left and right sides (vertical lines, `across` the horizontal mask); 0: top and bottom.
    Only two sides at least `least_apart` apart are a frame to open: where one line stands
    for both (a page on which only one long line was found), the lines across begin at an
    inner column, and taking that for a side cut off every column before it (on seed 2000's
    photos that took 98.15% of the fields read right down to 96.23%).
    """
    middle = across.shape[axis] / 2
    count, _, stats, _ = cv2.connectedComponentsWithStats(across, connectivity=8)
    if count < 2 or _at(last, middle, axis) - _at(first, middle, axis) < least_apart:
        return first, last
    start, size = (
        (cv2.CC_STAT_LEFT, cv2.CC_STAT_WIDTH)
        if axis == 1
        else (cv2.CC_STAT_TOP, cv2.CC_STAT_HEIGHT)
    )
    pieces = stats[1:]
    lines = pieces[pieces[:, size] > 0.3 * pieces[:, size].max()]
    begins = lines[:, start].astype(float)
    ends = begins + lines[:, size]
    beyond = OPEN_SIDE_BEYOND * across.shape[1 - axis]
    tolerance = FRAME_LINE_TOLERANCE * across.shape[1 - axis]
    last_at, first_at = _at(last, middle, axis), _at(first, middle, axis)
    past_last = ends[ends > last_at + beyond]
    if (far := where_lines_end(past_last.tolist(), tolerance)) is not None:
        last = _straight(far, axis)
    elif axis == 1 and (far := _reached(pieces[:, start] + pieces[:, size], last_at + beyond)):
        last = _straight(far, axis)
    before_first = begins[begins < first_at - beyond]
    if (near := where_lines_end(before_first.tolist(), tolerance)) is not None:
        first = _straight(near, axis)
    elif axis == 1 and (near := _reached(-pieces[:, start].astype(float), -(first_at - beyond))):
        first = _straight(-near, axis)
    return first, last


def _reached(ends: np.ndarray, side: float) -> float | None:
    """How far past `side` at least `OPEN_SIDE_LINES` pieces of ruling reach, or None.

    A side taken at an inner line, where noise or wear broke the outer one into short pieces
    (a bilevel fax at 300 dpi), would cut the columns beyond it off: with them the label
    column and, on an upside-down page, the title. The ruling's pieces still reach past it,
    each at its own ragged end, so the side is moved out to where enough of them reach.
    Left and right only: above and below the frame a title's tall strokes pass for pieces.
    """
    past = np.sort(ends[ends > side])
    return float(past[-OPEN_SIDE_LINES]) if len(past) >= OPEN_SIDE_LINES else None


def _at(line: Line, along: float, axis: int) -> float:
    """Where a vertical (`axis` 1) line crosses height `along`, or a horizontal one x `along`."""
    a, b, c = line
    return (c - b * along) / a if axis == 1 else (c - a * along) / b


def _straight(place: float, axis: int) -> Line:
    """A vertical line at x `place` (`axis` 1), or a horizontal one at y `place`."""
    return (1.0, 0.0, place) if axis == 1 else (0.0, 1.0, place)


def _fitted_line(labels: np.ndarray, stats: np.ndarray, pieces: list[int], axis: int) -> Line:
    ys, xs = _component_pixels(labels, stats, pieces)
    if axis == 0:  # y = k x + d
        k, d = np.polyfit(xs.astype(float), ys.astype(float), 1)
        return (-k, 1.0, d)
    k, d = np.polyfit(ys.astype(float), xs.astype(float), 1)  # x = k y + d
    return (1.0, -k, d)


def _component_pixels(
    labels: np.ndarray, stats: np.ndarray, components: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every pixel of the given components, each looked for in its own box."""
    ys, xs = [], []
    for i in components:
        x, y, w, h = (int(v) for v in stats[i, :4])
        rows, cols = np.nonzero(labels[y : y + h, x : x + w] == i)
        ys.append(rows + y)
        xs.append(cols + x)
    return np.concatenate(ys), np.concatenate(xs)


def _cross(p: Line, q: Line) -> tuple[float, float]:
    a = np.array([[p[0], p[1]], [q[0], q[1]]])
    x, y = np.linalg.solve(a, np.array([p[2], q[2]]))
    return float(x), float(y)


def _mean_sides(corners: np.ndarray) -> tuple[float, float]:
    """Width and height of a quadrilateral (tl, tr, br, bl), each the mean of two sides."""
    width = np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])
    height = np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])
    return float(width) / 2, float(height) / 2


def _rectify(
    corners: np.ndarray, shape: tuple[int, ...], options: PrepareOptions
) -> tuple[np.ndarray, tuple[int, int]]:
    """The homography that makes the frame an upright rectangle, with margins for the title."""
    width, height = _mean_sides(corners)
    margin = options.margin_frac * width
    # Keep the page's own extent above and below the frame: the title sits above it.
    top = min(float(corners[0][1]), float(corners[1][1]), margin * 2.5)
    top = max(top, margin)
    # And below it as much: the page may still be upside down, its title under the frame.
    bottom = max(margin, min(float(shape[0] - max(corners[2][1], corners[3][1])), margin * 2.5))
    target = np.array(
        [
            [margin, top],
            [margin + width, top],
            [margin + width, top + height],
            [margin, top + height],
        ],
        dtype=np.float32,
    )
    homography = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return homography, (round(width + 2 * margin), round(top + height + bottom))


class _OrientationModel:
    """PP-OCR's text-line direction classifier (0° or 180°), shipped in the rapidocr wheel."""

    SHAPE = (48, 192)

    def __init__(self) -> None:
        import onnxruntime as ort

        path = resources.files("rapidocr") / "models" / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def upside_down_votes(self, crops: list[np.ndarray]) -> float:
        """Mean probability over `crops` (grey text lines) that the text is upside down."""
        h, w = self.SHAPE
        batch = np.zeros((len(crops), 3, h, w), np.float32)
        for i, crop in enumerate(crops):
            scaled_w = min(w, max(1, round(crop.shape[1] * h / crop.shape[0])))
            line = cv2.resize(crop, (scaled_w, h)).astype(np.float32) / 255.0
            batch[i, :, :, :scaled_w] = (line - 0.5) / 0.5
        probs = self.session.run(None, {self.input: batch})[0]
        return float(probs[:, 1].mean())


_orientation: _OrientationModel | None = None


def _upside_down(gray: np.ndarray, dark: np.ndarray) -> bool:
    """Vote with the text-orientation model over the page's widest text lines.

    `dark` is the page's `depth`, where the lines are looked for; the crops are of `gray`.
    """
    global _orientation
    crops = _text_line_crops(gray, dark)
    if len(crops) < 3:
        return False
    if _orientation is None:
        _orientation = _OrientationModel()
    return _orientation.upside_down_votes(crops) > 0.5


LINE_SEARCH_SHRINK = 2
DOT_GAPS_ALONG = np.ones((1, 3), np.uint8)  # on the copy: gaps up to 4 px of the page


def _text_line_crops(gray: np.ndarray, dark: np.ndarray, want: int = 16) -> list[np.ndarray]:
    # Lines are looked for on a copy `LINE_SEARCH_SHRINK` times smaller (each pixel set where
    # any of its block is ink): only their boxes come from it, the crops from the page itself.
    n = LINE_SEARCH_SHRINK
    h, w = dark.shape
    inked = cv2.dilate(strokes(dark), np.ones((n, n), np.uint8), anchor=(0, 0))
    binary = np.ascontiguousarray(inked[: h // n * n : n, : w // n * n : n])
    small_w = binary.shape[1]
    # A dotted or dashed ruling (a spreadsheet's border) is no run until its gaps are closed;
    # left in, it passes for a line of text, and the model's vote on it is a coin toss.
    min_len = max(10, small_w // 25)
    across = across_lines(cv2.morphologyEx(binary, cv2.MORPH_CLOSE, DOT_GAPS_ALONG), min_len)
    down = down_lines(cv2.morphologyEx(binary, cv2.MORPH_CLOSE, DOT_GAPS_ALONG.T), min_len)
    text = _without_specks(cv2.subtract(binary, cv2.bitwise_or(across, down)))
    # Glyphs joined along the line only: a row of the copy is two of the page, and joining
    # rows too ran neighbouring lines together (votes on 97 test pages: least sure 0.30 from
    # the middle this way, 0.05 joining 3 rows, 0.12 on the page itself).
    joined = cv2.dilate(text, np.ones((1, max(5, small_w // 120)), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = [
        stats[i, :4] * n
        for i in range(1, count)
        # Sized by the page's width: a continuation page may be cut short to its table.
        if stats[i, 2] > 3 * stats[i, 3] and small_w // 150 < stats[i, 3] < small_w // 25
    ]
    boxes.sort(key=lambda b: -int(b[2]))
    crops = []
    for x, y, bw, bh in boxes[:want]:
        pad = max(2, int(bh) // 5)
        crops.append(gray[max(0, y - pad) : y + bh + pad, max(0, x - pad) : x + bw + pad])
    return crops


SPECK_AREA = 4  # pixels of the half-size copy: a bilevel scan's salt, no glyph's stroke


def _without_specks(binary: np.ndarray) -> np.ndarray:
    """`binary` without its specks.

    Joined along the line, a noisy fax's specks ran the whole page's width into one line
    with the text in it, and the vote on it was a toss.
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    speck = stats[:, cv2.CC_STAT_AREA] < SPECK_AREA
    speck[0] = False
    return np.where(speck[labels], 0, binary).astype(np.uint8)


def draw_prepared(page: PreparedPage) -> np.ndarray:
    """A debug picture (BGR): the scan as it came, with the prepared page's outline on it.

    The outline is the prepared page's rectangle mapped back through `transform`, so a
    wrong turn, skew or frame shows as an outline that misses the table.
    """
    canvas = cv2.cvtColor(page.source.image, cv2.COLOR_RGB2BGR)
    h, w = page.image.shape[:2]
    corners = np.array([[[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]], dtype=np.float32)
    outline = cv2.perspectiveTransform(corners, np.linalg.inv(page.transform))
    cv2.polylines(canvas, [outline.astype(np.int32)], True, (255, 120, 0), 3)
    label = (
        f"skew {page.skew_deg:.1f} deg, turned {page.turned * 90}, frame {page.frame_found}"
        f"{', photo' if page.photo else ''}"
    )
    cv2.putText(canvas, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 200), 2)
    return canvas
