"""Page preparation and the table grid, checked against what the generator printed."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from synth.documents import make_document

from pipeline.grid import (
    GridOptions,
    _table_box,
    find_grid,
    fine_grid_to_cells,
    lines_to_positions,
    ridges,
)
from pipeline.ingest import PageImage, ScanFile
from pipeline.ink import depth
from pipeline.ocr.cells import split_at_columns
from pipeline.prepare import (
    PAGE_WIDTH_MM,
    PrepareOptions,
    _deskew_and_rectify,
    _even,
    _frame,
    _sheet_corners,
    _skew,
    lift_colour,
    prepare_page,
)
from pipeline.seals import Seal

SEED = 77  # not a seed any corpus is reported on


def _pages(level: str, count: int) -> list[tuple[PageImage, object]]:
    pages = []
    for index in range(count):
        doc = make_document(SEED, level, index)
        for number, page in enumerate(doc.pages, start=1):
            image = PageImage(ScanFile(None, doc.name), number, page.image, float(page.dpi))  # type: ignore[arg-type]
            pages.append((image, page))
    return pages


@pytest.mark.slow
@pytest.mark.parametrize("level", ["clean", "light"])
def test_grid_finds_every_printed_cell(level: str) -> None:
    for image, printed in _pages(level, 3):
        grid = find_grid(prepare_page(image))
        if grid is None and printed.cells <= 5:  # type: ignore[attr-defined]
            # A page holding one spilled, empty row of the table: its column lines are
            # shorter than a column line can be, and nothing on it is data.
            continue
        assert grid is not None
        assert len(grid.cells) == printed.cells, (image.file.name, image.number)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_heavy_pages_come_out_upright_and_square() -> None:
    pages = _pages("heavy", 6)
    assert any(p.damage.turned == 2 for _, p in pages)  # type: ignore[attr-defined]
    for image, printed in pages:
        prepared = prepare_page(image)
        assert prepared.turned == printed.damage.turned  # type: ignore[attr-defined]
        # What is left of the skew after preparing is within the search step or two.
        assert abs(_skew(depth(prepared.gray), PrepareOptions())) <= 0.3


@pytest.mark.slow
def test_photo_frame_is_rectified() -> None:
    for image, _ in _pages("photo", 2)[:2]:
        prepared = prepare_page(image)
        assert prepared.frame_found
        assert abs(_skew(depth(prepared.gray), PrepareOptions())) <= 0.3
        grid = find_grid(prepared)
        assert grid is not None and len(grid.xs) >= 5


def test_sheet_is_found_on_a_desk_in_shadow_and_not_on_a_scan() -> None:
    rng = np.random.default_rng(0)
    desk = rng.normal(110, 20, (1200, 900)).clip(0, 255)
    corners = np.array([[150, 120], [760, 160], [720, 1080], [120, 1040]], np.float32)
    photo = desk.copy()
    cv2.fillConvexPoly(photo, corners.astype(np.int32), (235,))
    cv2.line(photo, (250, 300), (650, 320), (20,), 3)  # a ruling line on the sheet
    # A soft shadow across sheet and desk alike, darkening the left half to 55%.
    photo *= 0.55 + 0.45 * np.clip((np.arange(900) - 250) / 300, 0, 1)
    rgb = np.repeat(photo.astype(np.uint8)[..., None], 3, axis=2)
    found = _sheet_corners(rgb)
    assert found is not None
    assert np.abs(found - corners).max() < 8

    scan = np.full((1200, 900, 3), 240, np.uint8)
    cv2.rectangle(scan, (100, 150), (800, 1000), (0, 0, 0), 3)  # a table's frame, not a sheet
    assert _sheet_corners(scan) is None


def test_a_sheet_folded_across_is_found_whole() -> None:
    # A fold's crease is an edge across the sheet, the paper a shade darker past it: the part
    # below it, the larger, was taken alone for the sheet and the form's top cut off.
    rng = np.random.default_rng(1)
    desk = rng.normal(110, 20, (1200, 900)).clip(0, 255)
    corners = np.array([[150, 120], [760, 160], [720, 1080], [120, 1040]], np.float32)
    photo = desk.copy()
    cv2.fillConvexPoly(photo, corners.astype(np.int32), (235,))
    below = np.zeros_like(photo, np.uint8)
    fold = np.array([[100, 420], [800, 440], [800, 1150], [100, 1150]], np.int32)
    cv2.fillConvexPoly(below, fold, (1,))
    sheet = np.zeros_like(below)
    cv2.fillConvexPoly(sheet, corners.astype(np.int32), (1,))
    photo[(below == 1) & (sheet == 1)] = 200  # the part past the crease, turned from the light
    rgb = np.repeat(photo.astype(np.uint8)[..., None], 3, axis=2)

    found = _sheet_corners(rgb)

    assert found is not None
    assert np.abs(found - corners).max() < 8


def test_lines_cluster_into_positions() -> None:
    # Two pieces of one broken line at y≈100 and one line at y=140; a glyph stroke is too short.
    segments = [(0, 100, 50, 100), (60, 101, 120, 101), (0, 140, 120, 140), (30, 170, 34, 170)]
    # Length-weighted: (100 * 50 + 101 * 60) / 110 = 100.55, rounded to 101.
    assert lines_to_positions(segments, axis=1, merge=3, min_total=20) == [101, 140]


def test_merged_cells_come_out_with_their_spans() -> None:
    # A 2x3 fine grid: the top row's first two cells merged (no line between them).
    xs, ys = [0, 100, 200, 300], [0, 50, 100]
    across = np.zeros((101, 301), np.uint8)
    down = np.zeros((101, 301), np.uint8)
    across[50, :] = 255
    down[:, 0] = down[:, 300] = down[:, 200] = 255
    down[50:, 100] = 255  # the line at x=100 runs only through the bottom row
    cells = fine_grid_to_cells(xs, ys, across, down, band=2, coverage=0.5)
    spans = sorted((c.row0, c.row1, c.col0, c.col1) for c in cells)
    assert spans == [(0, 0, 0, 1), (0, 0, 2, 2), (1, 1, 0, 0), (1, 1, 1, 1), (1, 1, 2, 2)]


def _block_masks(worn: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 二级 cell (column 0, rows 0-2) beside three 三级 lines (column 1) and their values."""
    across = np.zeros((151, 301), np.uint8)
    down = np.zeros((151, 301), np.uint8)
    across[0, :] = across[150, :] = 255
    across[50, 100:] = across[100, 100:] = 255  # the 三级 lines' rules end at x=100
    down[:, 0] = down[:, 200] = down[:, 300] = 255
    if not worn:
        down[:, 100] = 255
    return across, down


def test_a_column_line_worn_away_where_row_lines_end_on_it_is_restored() -> None:
    xs, ys = [0, 100, 200, 300], [0, 50, 100, 150]
    whole = fine_grid_to_cells(xs, ys, *_block_masks(worn=False), band=2, coverage=0.5)
    restored = fine_grid_to_cells(
        xs, ys, *_block_masks(worn=True), band=2, coverage=0.5, solid_xs={100}, solid_ys={50, 100}
    )
    spans = sorted((c.row0, c.row1, c.col0, c.col1) for c in whole)
    assert (0, 2, 0, 0) in spans  # the 二级 cell
    assert sorted((c.row0, c.row1, c.col0, c.col1) for c in restored) == spans
    # Where the ending lines are not solid (a glyph stroke), nothing is restored.
    joined = fine_grid_to_cells(
        xs, ys, *_block_masks(worn=True), band=2, coverage=0.5, solid_xs={100}, solid_ys=set()
    )
    assert (0, 2, 0, 1) in [(c.row0, c.row1, c.col0, c.col1) for c in joined]


def test_a_broken_outer_frame_is_still_the_frame() -> None:
    # The frame's left side worn into pieces, each shorter than the whole inner column line.
    gray = np.full((1400, 1000), 250, np.uint8)
    gray[200:203, 100:900] = gray[1200:1203, 100:900] = 40
    gray[200:1200, 897:900] = gray[200:1200, 300:303] = 40
    for y0 in range(200, 1200, 100):
        gray[y0 : y0 + 80, 100:103] = 40
    corners = _frame(depth(gray), PrepareOptions())
    assert corners is not None
    assert abs(corners[0][0] - 101) < 3 and abs(corners[3][0] - 101) < 3


def test_a_doubled_frame_line_is_one_side_and_the_last_line_the_other() -> None:
    """Two strokes of the top line side by side once added up to twice any other line's
    length, and the top was taken for the bottom too: no frame, and the page was read as a
    photo, its desk painted white over a third of the table."""
    gray = np.full((2000, 1000), 250, np.uint8)
    cv2.rectangle(gray, (100, 200), (900, 1200), (40,), 3)
    gray[206:209, 100:900] = 40  # the top line printed twice, 6 px apart
    for y in range(300, 1200, 100):
        gray[y : y + 3, 300:900] = 40
    corners = _frame(depth(gray), PrepareOptions())
    assert corners is not None
    assert abs(corners[0][1] - 201) < 8 and abs(corners[3][1] - 1201) < 4, corners


@pytest.mark.parametrize("side", ["right", "left", "bottom"])
def test_a_side_printed_without_its_frame_line_is_where_the_lines_across_end(side: str) -> None:
    gray = np.full((1400, 1000), 250, np.uint8)
    for y in range(200, 1101 if side == "bottom" else 1201, 100):  # the outer lines unprinted
        gray[y : y + 3, 100:900] = 40
    for x in {"right": (100, 300, 700), "left": (300, 700, 897)}.get(side, (100, 300, 700, 897)):
        gray[200:1203, x : x + 3] = 40
    corners = _frame(depth(gray), PrepareOptions())
    assert corners is not None
    tl, tr, br, bl = corners
    assert abs(tl[0] - 101) < 4 and abs(bl[0] - 101) < 4, corners
    assert abs(tr[0] - 898) < 4 and abs(br[0] - 898) < 4, corners
    assert abs(tl[1] - 201) < 4 and abs(bl[1] - 1201) < 4, corners

    # A line across that runs out past the frame alone (a title's rule) moves no side.
    gray = np.full((1400, 1000), 250, np.uint8)
    cv2.rectangle(gray, (100, 200), (900, 1200), (40,), 3)
    for y in range(300, 1200, 100):
        gray[y : y + 3, 100:900] = 40
    gray[150:153, 60:960] = 40
    corners = _frame(depth(gray), PrepareOptions())
    assert corners is not None and abs(corners[1][0] - 901) < 4, corners


def test_a_page_with_one_long_line_along_opens_no_side() -> None:
    # A photo of a continuation page: one long line along (the right side) stands for both
    # sides, and the rows begin at an inner column, not at a frame line.
    gray = np.full((1400, 1000), 250, np.uint8)
    for y in range(200, 1201, 100):
        gray[y : y + 3, 300:900] = 40
    gray[200:1203, 897:900] = 40
    gray[200:500, 300:303] = 40  # a short inner column line
    assert _frame(depth(gray), PrepareOptions()) is None


@pytest.mark.slow
def test_a_table_without_its_right_line_keeps_its_last_column() -> None:
    [(image, printed)] = _pages("clean", 1)[:1]
    page = image.image.copy()
    ink = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) < 128
    right = int(np.flatnonzero(ink.sum(axis=0) > 0.4 * ink.shape[0]).max())
    whole = find_grid(prepare_page(image))
    page[:, right - 4 : right + 5] = 255
    grid = find_grid(prepare_page(replace(image, image=page)))
    assert whole is not None and grid is not None
    assert whole.open_sides == () and grid.open_sides == ("right",)
    assert len(grid.xs) == len(whole.xs) and len(grid.cells) == printed.cells  # type: ignore[attr-defined]


def test_a_skewed_frame_lands_square_on_the_page() -> None:
    page = np.full((2339, 1654), 245, np.uint8)
    corners = np.array([[150, 300], [1500, 300], [1500, 2000], [150, 2000]], np.float64)
    cv2.rectangle(page, (150, 300), (1500, 2000), (30,), 3)
    for y in range(400, 2000, 100):
        cv2.line(page, (150, y), (1500, y), (30,), 2)
    turn = cv2.getRotationMatrix2D((827, 1170), 2.0, 1.0)
    skewed = cv2.warpAffine(page, turn, (1654, 2339), borderValue=(245,))
    corners = np.c_[corners + 1, np.ones(4)] @ np.vstack([turn, [0, 0, 1]]).T  # line centres
    _, transform, skew, frame = _deskew_and_rectify(
        np.repeat(skewed[..., None], 3, axis=2), PrepareOptions()
    )
    assert frame is not None and abs(skew + 2.0) <= 0.1
    landed = corners @ transform.T
    landed = landed[:, :2] / landed[:, 2:]
    margin = PrepareOptions().margin_frac * 1350
    assert np.allclose(landed[:, 0], [margin, margin + 1350, margin + 1350, margin], atol=1.5)
    assert np.allclose(landed[:, 1] - landed[0, 1], [0, 0, 1700, 1700], atol=1.5)


def test_the_table_is_the_structure_with_the_most_ruling() -> None:
    # A photo's shadow edge: two long lines spanning a bigger box than the table's many lines.
    across = np.zeros((1000, 1000), np.uint8)
    down = np.zeros((1000, 1000), np.uint8)
    across[990, 0:1000] = 255
    down[500:1000, 995] = 255
    for y in range(50, 450, 40):
        across[y, 100:900] = 255
    down[50:451, 100] = down[50:451, 500] = down[50:451, 900] = 255
    box = _table_box(across, down, 3)
    assert box is not None
    assert np.allclose(box, (100, 50, 901, 451), atol=2)


def test_a_table_split_by_worn_row_lines_is_taken_whole() -> None:
    # Its row lines wore through at staggered places: a left part, and a right part with a
    # seal's ring on it, more ruling than the left. Their boxes overlap; their lines do not.
    across = np.zeros((1000, 1000), np.uint8)
    down = np.zeros((1000, 1000), np.uint8)
    across[100, 100:560] = across[100, 600:900] = 255
    across[160, 100:480] = across[160, 520:900] = 255
    across[220, 100:400] = across[220, 450:900] = 255
    down[100:221, 100] = down[100:221, 300] = down[100:221, 700] = down[100:221, 900] = 255
    cv2.circle(across, (800, 160), 90, 255, 3)
    whole = _table_box(across, down, 9)
    assert whole is not None and whole[0] < 100 and whole[2] > 900
    # The title's long stroke above the table stays out.
    across[40, 300:700] = 255
    assert _table_box(across, down, 9) == whole


@pytest.mark.parametrize("dash_px", [(3, 3), (6, 4), (2, 2)])
def test_a_table_ruled_with_dashed_inner_lines_is_cut_into_its_cells(
    dash_px: tuple[int, int],
) -> None:
    # A spreadsheet's dashed and dotted border styles: no run of ink is as long as a line.
    ink, gap = dash_px
    page = np.full((2339, 1654, 3), 250, np.uint8)
    cv2.rectangle(page, (150, 300), (1500, 1500), (20, 20, 20), 3)
    for y in range(400, 1500, 100):
        for x in range(150, 1500, ink + gap):
            page[y : y + 2, x : x + ink] = 20
    for x in (500, 900):
        for y in range(300, 1500, ink + gap):
            page[y : y + ink, x : x + 2] = 20
    image = PageImage(ScanFile(None, "dashed.png"), 1, page, 200.0)  # type: ignore[arg-type]
    grid = find_grid(prepare_page(image))
    assert grid is not None
    assert (len(grid.xs), len(grid.ys), len(grid.cells)) == (4, 13, 36)


def test_a_stroke_afloat_inside_a_cell_cuts_no_row() -> None:
    """A row of digits' flat feet, or a pen's dash, inside one cell is no row line: it once
    cut a figure in two and both halves read blank."""
    page = np.full((2339, 1654, 3), 250, np.uint8)
    cv2.rectangle(page, (150, 300), (1500, 1500), (20, 20, 20), 3)
    for y in range(400, 1500, 100):
        page[y : y + 3, 150:1500] = 20
    for x in (500, 900):
        page[300:1500, x : x + 3] = 20
    page[452:455, 600:800] = 20  # 8.6 mm afloat in the cell (500..900, 400..500)
    image = PageImage(ScanFile(None, "afloat.png"), 1, page, 200.0)  # type: ignore[arg-type]
    grid = find_grid(prepare_page(image))
    assert grid is not None
    assert (len(grid.xs), len(grid.ys), len(grid.cells)) == (4, 13, 36)


CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _write(page: np.ndarray, text: str, x: int, y: int, *, right: bool = False) -> None:
    """Print `text` on the page at 10.5 pt (200 dpi), its left (or right) edge at x."""
    font = ImageFont.truetype(CJK_FONT, 29, index=2)
    image = Image.fromarray(page)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((0, 0), text, font=font)
    left = x - (box[2] - box[0]) if right else x
    draw.text((left - box[0], y - box[1]), text, font=font, fill=(25, 25, 25))
    page[:] = np.asarray(image)


def _dotted(page: np.ndarray, at: int, start: int, end: int, vertical: bool) -> None:
    for p in range(start, end, 3):  # one-pixel dots, as a spreadsheet's dotted border prints
        if vertical:
            page[p, at] = 40
        else:
            page[at, p] = 40


def test_a_dotted_column_line_with_text_up_to_it_on_both_sides_parts_the_cells() -> None:
    # A spreadsheet's wrapped 二级 label runs up to the dotted line on its right, the 三级
    # text starts right after it: no band of paper beside it, on either side.
    page = np.full((2339, 1654, 3), 250, np.uint8)
    cv2.rectangle(page, (150, 300), (1500, 700), (20, 20, 20), 3)
    cv2.line(page, (150, 500), (1500, 500), (20, 20, 20), 2)
    _dotted(page, 600, 300, 700, vertical=True)
    for top in (300, 500):
        _write(page, "可持续影响指", 599, top + 40, right=True)
        _write(page, "标（选填）", 599, top + 95, right=True)
        _write(page, "指标1：提高义务教育学生积极性", 603, top + 8)
        _write(page, "满意度", 603, top + 130)
    image = PageImage(ScanFile(None, "wrapped.png"), 1, page, 200.0)  # type: ignore[arg-type]
    grid = find_grid(prepare_page(image))
    assert grid is not None
    assert len(grid.cells) == 4, [c.box for c in grid.cells]


def test_a_dotted_row_line_with_text_hanging_from_it_parts_the_cells() -> None:
    # Text set at the top of its cell starts right under the dotted line above it, and the
    # text above stands clear of the line: paper a band away on one side only.
    page = np.full((2339, 1654, 3), 250, np.uint8)
    cv2.rectangle(page, (150, 300), (1500, 800), (20, 20, 20), 3)
    cv2.line(page, (400, 300), (400, 800), (20, 20, 20), 2)
    for y in (400, 500, 600, 700):
        _dotted(page, y, 150, 1500, vertical=False)
        _write(page, "主管部门及代码", 160, y - 70)
    for y in (300, 400, 500, 600, 700):
        _write(page, "中宁县卫生健康局办公室（含应急物资储备）资金", 404, y + 3)
    image = PageImage(ScanFile(None, "hanging.png"), 1, page, 200.0)  # type: ignore[arg-type]
    grid = find_grid(prepare_page(image))
    assert grid is not None
    assert len(grid.cells) == 10, [c.box for c in grid.cells]


def test_a_worn_line_shows_as_a_ridge_and_a_row_of_glyphs_does_not() -> None:
    px_per_mm = 8.0  # 200 dpi
    rng = np.random.default_rng(1)
    page = np.full((400, 1200), 245.0)
    # A worn line at y=100: faded stretches 5 mm long with 1 mm breaks, each too short for the
    # 8 mm line filter that finds the row positions.
    for x0 in range(100, 1100, 48):
        page[99:101, x0 : x0 + 40] = rng.integers(150, 215)
    # A row of glyphs at y=300: each a horizontal stroke with strokes above and below it.
    for x0 in range(100, 1100, 40):
        page[300:302, x0 : x0 + 32] = 40
        page[292:294, x0 + 4 : x0 + 28] = 40
        page[308:310, x0 + 4 : x0 + 28] = 40
        page[286:318, x0 + 15 : x0 + 17] = 40
    page += rng.normal(0, 10, page.shape)  # grain of a worn copy
    gray = np.clip(page, 0, 255).astype(np.uint8)
    across, _ = ridges(gray, px_per_mm, GridOptions())
    along_line = across[96:104, 120:1080].any(axis=0).mean()
    along_text = across[296:306, 120:1080].any(axis=0).mean()
    assert along_line > 0.8
    assert along_text < 0.1
    assert across[150:250].sum() == 0  # paper grain alone makes no line


def test_a_text_line_is_cut_only_where_paper_shows_at_a_column_position() -> None:
    mm = 8.0
    mask = np.zeros((40, 400), np.uint8)
    mask[10:30, 20:150] = 255  # a name
    mask[10:30, 250:300] = 255  # its value, past a worn column line at x=200
    mask[10:30, 320:390] = 255  # prose running over the position x=350
    boxes = split_at_columns(mask, [(20, 10, 390, 30)], [200, 350], mm)
    assert boxes == [(20, 10, 150, 30), (250, 10, 390, 30)]


def test_evening_whitens_paper_under_a_shadow_and_keeps_print_dark() -> None:
    # Paper lit from 110 on the left to 240 on the right, with print strokes all over it.
    page = np.tile(np.linspace(110, 240, 1600), (2200, 1)).astype(np.uint8)
    print_rows = slice(1000, 1040)
    for x in range(100, 1500, 60):
        page[print_rows, x : x + 6] = page[print_rows, x : x + 6] // 4

    evened = _even(page)

    paper = np.ones(page.shape, bool)
    paper[980:1060] = False
    assert np.percentile(evened[paper], 1) >= 235
    strokes = evened[print_rows][:, [x + 3 for x in range(100, 1500, 60)]]
    assert strokes.max() <= 90


def test_coloured_ink_is_lifted_to_paper_and_black_print_stays() -> None:
    rgb = np.full((4, 4, 3), 250, np.uint8)
    rgb[0, 0] = (200, 40, 40)  # a seal's red
    rgb[1, 1] = (40, 60, 190)  # blue pen
    rgb[2, 2] = (30, 30, 30)  # print
    rgb[3, 3] = (62, 45, 45)  # print under a seal: dark, little colour left

    gray = lift_colour(rgb)

    assert gray[0, 0] == 200 and gray[1, 1] == 190
    assert gray[2, 2] == 30
    assert gray[3, 3] < 60


@pytest.mark.slow
@pytest.mark.parametrize("where", [(0.5, 0.2), (0.6, 0.25)])
def test_a_grey_seal_is_found_as_a_circle_and_its_ring_cuts_no_cell(
    where: tuple[float, float],
) -> None:
    # A grey scan keeps no red to lift: the ring's upright arcs pass for column lines.
    image, printed = _pages("clean", 1)[0]
    px_per_mm = image.dpi / 25.4
    h, w = image.image.shape[:2]
    centre = (round(w * where[0]), round(h * where[1]))
    stamped = image.image.copy()
    cv2.circle(stamped, centre, round(20 * px_per_mm), (110, 110, 110), round(1.1 * px_per_mm))
    page = prepare_page(replace(image, image=stamped))

    assert len(page.seals) == 1
    seal = page.seals[0]
    on_page = page.transform @ np.array([*centre, 1.0])
    scale = page.gray.shape[1] / PAGE_WIDTH_MM  # prepared-page pixels per mm
    assert np.hypot(seal.x - on_page[0] / on_page[2], seal.y - on_page[1] / on_page[2]) < scale
    assert abs(seal.radius / scale - 20) < 1.5  # drawn with a 20 mm radius
    grid = find_grid(page)
    assert grid is not None and len(grid.cells) == printed.cells  # type: ignore[attr-defined]
    # Taken for ruling lines, the ring would have cut cells.
    unsealed = find_grid(replace(page, seals=()))
    assert unsealed is not None and len(unsealed.cells) > printed.cells  # type: ignore[attr-defined]


def test_a_seals_ring_and_star_strokes_are_its_own_and_a_long_line_under_it_is_not() -> None:
    seal = Seal(x=500.0, y=500.0, radius=160.0)
    assert seal.covers((342, 440, 342, 560))  # along the ring's left side
    assert seal.covers((500, 460, 500, 540))  # the star: short, at the centre
    assert not seal.covers((420, 380, 420, 620))  # a column line under the seal: long, inside
    assert not seal.covers((300, 380, 300, 620))  # a line off the disc
    assert not seal.covers((340, 500, 900, 500))  # a row line running on past it
    # a column line under the ring's lower band: its middle there, but crossing it upright
    assert not seal.covers((400, 520, 400, 640))


def _fax(image: np.ndarray, paper: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A page as a scanner's photo mode stores it in 1 bit: grey paper dithered into salt.

    `noise`: the share of the rulings' pixels knocked out, as a worn print and the
    threshold leave them.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    toned = gray * (paper / 255.0)
    knocked = (rng.random(gray.shape) < noise) & (gray < 128)
    toned[knocked] = paper
    bits = Image.fromarray(toned.clip(0, 255).astype(np.uint8)).convert("1")  # Floyd–Steinberg
    return np.asarray(bits.convert("RGB"))


@pytest.mark.slow
def test_an_upside_down_dithered_fax_page_comes_out_upright_and_whole() -> None:
    # A fax of grey paper: the dither's salt is ink to every stage; upside down, the vote on
    # text lines ran through salt, and the frame, its outer lines broken into pieces, was
    # taken at inner lines and cut the label column and the title off.
    doc = make_document(SEED, "clean", 0)
    page = doc.pages[0]
    dpi = float(page.dpi)
    upright = find_grid(prepare_page(PageImage(ScanFile(None, doc.name), 1, page.image, dpi)))  # type: ignore[arg-type]
    assert upright is not None
    rng = np.random.default_rng(5)
    fax = _fax(page.image[::-1, ::-1], paper=230, noise=0.35, rng=rng)
    assert set(np.unique(fax)) <= {0, 255}
    prepared = prepare_page(PageImage(ScanFile(None, doc.name), 1, fax, dpi))  # type: ignore[arg-type]
    assert prepared.turned == 2
    grid = find_grid(prepared)
    assert grid is not None
    assert len(grid.xs) == len(upright.xs), (grid.xs, upright.xs)
