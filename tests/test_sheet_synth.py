"""The spreadsheet corpus generator (scripts/sheetsynth): printed by a real LibreOffice.

The page must show what the truth says (the PDF's text holds every field and indicator line,
and no row clips its text), the damage families must change the page where they aim, and one
seed must give the same files.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import shutil
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sheetsynth import marks, office, paper, scanner
from sheetsynth.documents import Plan, Scan, make_level, plan_document, write_document
from sheetsynth.levels import Damage, PageContext, damage_page, find_box
from sheetsynth.look import Look
from sheetsynth.workbook import add_form, new_workbook, save
from synth.content import Sheet, invent_sheet, seed_sheets

from pipeline.records import read_gold

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
    reason="needs LibreOffice (libreoffice-calc-nogui) and poppler-utils: scripts/setup.sh",
)

DPI = 100  # enough to find rulings and marks; keeps the tests fast


@dataclasses.dataclass
class Printed:
    sheets: list[Sheet]
    pages_of: list[range]  # the PDF pages of each form
    pdf: Path
    pages: list[np.ndarray]
    look: Look


def _normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """Three invented forms (one long enough for two pages) and a seed form, one workbook."""
    rng = random.Random(4242)
    # Thin rulings, so that the test can find them; the frame left open on the right.
    look = dataclasses.replace(
        Look.draw(rng, open_frame=0.0, tall_rows=False),
        inner="thin",
        outer="medium",
        open_side="right",
    )
    sheets = [
        invent_sheet(rng),
        invent_sheet(rng, long=True),
        seed_sheets()[1],
        invent_sheet(rng),
    ]
    folder = tmp_path_factory.mktemp("sheet")
    wb = new_workbook()
    forms = [add_form(wb, s, look, f"表{i + 1}") for i, s in enumerate(sheets)]
    book = folder / "forms.xlsx"
    save(wb, book)
    [pdf] = office.to_pdf([book], folder)
    starts = np.cumsum([0] + [f.pages for f in forms])
    pages_of = [range(int(a), int(b)) for a, b in itertools.pairwise(starts)]
    return Printed(sheets, pages_of, pdf, office.rasterize(pdf, DPI), look)


def test_pages_are_the_planned_pages(printed: Printed) -> None:
    assert office.page_count(printed.pdf) == printed.pages_of[-1].stop
    assert len(printed.pages_of[1]) >= 2, "the long form should run onto a second page"
    assert all(p.shape[1] == round(210 / 25.4 * DPI) for p in printed.pages)


def _rulings(page: np.ndarray, horizontal: bool) -> np.ndarray:
    dark = (page.min(axis=2) < 140).astype(np.uint8)
    kernel = np.ones((1, 60) if horizontal else (60, 1), np.uint8)
    return cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)


def _cell_texts(page: np.ndarray, words: list[office.TextLine]) -> list[str]:
    """The text of each ruled cell of the page, read from the PDF's words, top to bottom.

    Cells are the regions the rulings enclose; the open frame side is closed here first.
    """
    across, down = _rulings(page, horizontal=True), _rulings(page, horizontal=False)
    grid = across | down
    rows, cols = np.where(across)
    grid[rows.min() : rows.max() + 1, cols.max()] = 1
    grid[rows.min() : rows.max() + 1, cols.min()] = 1
    _, labels = cv2.connectedComponents((1 - grid).astype(np.uint8), connectivity=4)
    k = DPI / 72
    cells: dict[int, list[office.TextLine]] = {}
    for w in words:
        label = labels[int((w.y0 + w.y1) / 2 * k), int((w.x0 + w.x1) / 2 * k)]
        cells.setdefault(int(label), []).append(w)
    texts = []
    for label in sorted(cells, key=lambda c: min(w.y0 for w in cells[c])):
        ordered = sorted(cells[label], key=lambda w: (round(w.y0 / 4), w.x0))
        texts.append(_normal("".join(w.text for w in ordered)))
    return texts


def test_every_cell_prints_what_the_truth_says(printed: Printed) -> None:
    """Cell by cell, the PDF's text is the form's content: each gold field and 指标 line."""
    boxes = office.text_boxes(printed.pdf)
    for index, sheet in enumerate(printed.sheets):
        cells = []
        for number in printed.pages_of[index]:
            words = [b for b in boxes[number] if b.kind == "word"]
            cells += _cell_texts(printed.pages[number], words)
        # Above the table (one region with the page's margins): the title, then the year line.
        year_line = _normal(printed.look.year_line.format(year=sheet.year))
        assert cells[0].startswith("部门项目支出预算绩效批复表" + year_line)
        gold = sheet.gold().fields
        for key, printed_value in (
            ("project_name", sheet.project_name),
            ("department", sheet.department),
            ("implementing_unit", sheet.implementing_unit),
            ("project_attribute", sheet.project_attribute),
            ("project_period", sheet.project_period),
            ("funds_total", sheet.funds_total),
            ("funds_fiscal", sheet.funds_fiscal),
            ("funds_other", sheet.funds_other),
            ("overall_goal", sheet.overall_goal),
        ):
            assert _normal(gold[key]) in _normal(printed_value)
            if printed_value:
                assert _normal(printed_value) in cells, f"form {index}: {key}={printed_value!r}"
        rows = iter(sheet.gold().indicators)
        for block in sheet.blocks:
            assert _normal(block.level2 + block.note) in cells
            assert _normal(block.level1) in cells
            for line in block.lines:
                label = _normal(f"指标{line.seq}{printed.look.seq_colon}{line.name}")
                assert label in cells, f"form {index}: {label!r}"
                if line.value:
                    assert _normal(line.value) in cells
                if line.name or line.value:
                    row = next(rows)
                    assert (row["level2"], row["seq"], row["name"], row["value"]) == (
                        block.level2,
                        str(line.seq),
                        line.name,
                        line.value,
                    )
        assert next(rows, None) is None


def test_no_row_clips_its_text(printed: Printed) -> None:
    """A line of text that runs past its cell crosses a ruling; LibreOffice would clip it."""
    boxes = office.text_boxes(printed.pdf)
    k = DPI / 72
    for page, page_boxes in zip(printed.pages, boxes, strict=True):
        across = _rulings(page, horizontal=True)
        for b in page_boxes:
            if b.kind == "block":
                continue
            x0, x1 = int(b.x0 * k) + 1, int(b.x1 * k) - 1
            inset = 0.25 * (b.y1 - b.y0) * k
            y0, y1 = int(b.y0 * k + inset), int(b.y1 * k - inset)
            if x1 - x0 < 4 or y1 < y0:
                continue
            crossing = across[y0 : y1 + 1, x0:x1].sum(axis=1).max()
            assert crossing < 0.5 * (x1 - x0), f"{b.text!r} runs over a ruling"


def test_open_frame_side_has_no_line(printed: Printed) -> None:
    page = printed.pages[0]
    rows, cols = np.where(_rulings(page, horizontal=True))
    left, right = cols.min(), cols.max()
    height = rows.max() - rows.min()
    down = _rulings(page, horizontal=False)
    columns = np.where(down[rows.min() : rows.max() + 1].sum(axis=0) > 0.8 * height)[0]
    assert columns.min() <= left + 3, "the left frame line is printed"
    assert columns.max() < right - 3, "the right frame line is left out"


def _context(printed: Printed, page: int = 0) -> PageContext:
    sheet = printed.sheets[0]
    k = DPI / 72
    boxes = office.text_boxes(printed.pdf)[page]
    return PageContext(
        boxes=[office.TextLine(b.text, b.x0 * k, b.y0 * k, b.x1 * k, b.y1 * k) for b in boxes],
        unit=sheet.implementing_unit,
        department=sheet.department,
        amounts=(sheet.funds_total,),
        values=tuple(line.value for b in sheet.blocks for line in b.lines),
        dpi=DPI,
    )


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 25


def test_seal_is_red_and_lands_on_its_target(printed: Printed) -> None:
    page = printed.pages[0]
    title = find_box(_context(printed).boxes, "绩效批复表")
    assert title is not None
    centre = ((title.x0 + title.x1) / 2, (title.y0 + title.y1) / 2)
    out = page.copy()
    x0, y0, x1, y1 = marks.press_seal(
        out, "原州区古雁街道办事处", centre, DPI, random.Random(1), faint=False
    )
    changed = _changed(page, out)
    assert x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1
    inside = changed[max(y0, 0) : y1, max(x0, 0) : x1]
    assert inside.mean() > 0.05
    assert changed.sum() == inside.sum(), "the seal marks nothing outside its box"
    red = out[changed].astype(int)
    assert np.median(red[:, 0] - red[:, 1]) > 40
    # Black text under the seal stays dark: the ink multiplies, it does not paint over.
    under = (page.min(axis=2) < 60) & changed
    assert under.any() and out[under].max(axis=1).mean() < 120


def test_pen_marks_land_by_a_value(printed: Printed) -> None:
    page = printed.pages[0]
    ctx = _context(printed)
    box = find_box(ctx.boxes, printed.sheets[0].funds_total)
    assert box is not None
    out = page.copy()
    marks.pen_tick(out, box.x1 + 5, box.y1, DPI, random.Random(3))
    marks.pen_scrawl(out, (box.x0, box.y0, box.x1, box.y1), DPI, random.Random(4))
    ys, xs = np.where(_changed(page, out))
    assert len(xs) > 20
    assert abs(np.median(ys) - (box.y0 + box.y1) / 2) < 40
    assert xs.min() > box.x0 - 40 and xs.max() < box.x1 + 60


def test_fold_holes_bleed_and_fading_change_what_they_should(printed: Printed) -> None:
    page = printed.pages[0]
    h, w = page.shape[:2]
    folded, how = paper.fold(page, DPI, random.Random(5))
    diff = np.abs(folded.astype(int) - page.astype(int)).max(axis=2)
    axis = 1 if how == "across" else 0
    profile = diff.mean(axis=axis)
    assert profile.max() > 20 and np.median(profile) < 6, "a crease, not a page-wide change"

    holed, what = paper.punch_holes(page, DPI, random.Random(6))
    changed = _changed(page, holed)
    edge = what.split("-")[1]
    near = changed[:, : w // 8] if edge == "left" else changed[: h // 8]
    assert near.sum() > 100 and near.sum() == changed.sum()

    blank = np.full_like(page, 255)
    through = paper.bleed_through(blank, page, random.Random(7), 0.25)
    assert through.min() < 240, "the back's text shows"
    mirrored = cv2.cvtColor(page[:, ::-1], cv2.COLOR_RGB2GRAY) < 128
    shown = through.min(axis=2) < 245
    assert (
        shown & cv2.dilate(mirrored.astype(np.uint8), np.ones((41, 41))).astype(bool)
    ).sum() > 0.9 * shown.sum()
    assert np.array_equal(paper.bleed_through(page, blank, random.Random(7), 0.25), page)

    faded = paper.fade_rulings(page, DPI, random.Random(8), 0.5)
    lines = paper.ruling_mask(page, DPI)
    ink = page.min(axis=2) < 128
    assert faded[lines & ink].mean() > page[lines & ink].mean() + 40
    assert np.array_equal(faded[~lines], page[~lines]), "text away from the rulings is kept"


def test_scanner_turns_photographs_and_bilevel(printed: Printed) -> None:
    page = printed.pages[0]
    assert np.array_equal(scanner.turn(page, 2), page[::-1, ::-1])
    photo = scanner.photograph(page, random.Random(9), np.random.default_rng(9))
    assert photo.shape[0] > page.shape[0] and photo.shape[1] > page.shape[1]
    assert photo[:5, :5].mean() < 200, "the desk shows round the sheet"
    nprng = np.random.default_rng(10)
    for method in ("threshold", "dither", "adaptive", "dropout"):
        one_bit = scanner.bilevel(page, method, random.Random(10), nprng)
        assert one_bit.mode == "1" and one_bit.size == (page.shape[1], page.shape[0])
        black = ~np.asarray(one_bit)
        ink = page.min(axis=2) < 100
        assert black[ink].mean() > 0.5, f"{method}: the print survives"
        assert black[~cv2.dilate(ink.astype(np.uint8), np.ones((5, 5))).astype(bool)].mean() < 0.1


def test_bilevel_file_is_1bit_group4_tiff(printed: Printed, tmp_path: Path) -> None:
    ctx = _context(printed)
    rng = random.Random(11)
    scans = []
    for number in printed.pages_of[1]:
        image, damage = damage_page(printed.pages[number], printed.pages[0], ctx, "bilevel", rng)
        scans.append(Scan(image, damage))
    plan = Plan(
        "bilevel-0000", "bilevel", "continued", "tif", 200, printed.look, [printed.sheets[1]]
    )
    entry = write_document(plan, scans, tmp_path)
    with Image.open(tmp_path / "bilevel-0000.tif") as tif:
        assert tif.mode == "1"
        assert tif.info["compression"] == "group4"
        assert tif.info["dpi"] == (200, 200)
        assert tif.n_frames == len(scans) == entry["pages"]
    assert read_gold(tmp_path / "bilevel-0000.gold.jsonl") == [printed.sheets[1].gold()]
    assert all(d["bilevel"] for d in entry["damage"])  # type: ignore[union-attr]


def test_damage_page_records_what_it_did(printed: Printed) -> None:
    ctx = _context(printed)
    for seed in range(4):
        out, d = damage_page(printed.pages[0], printed.pages[1], ctx, "heavy", random.Random(seed))
        assert isinstance(out, np.ndarray) and isinstance(d, Damage)
        if d.turned == 2:
            assert out.shape == printed.pages[0].shape
        assert d.jpeg is not None and 25 <= d.jpeg <= 45


@pytest.mark.slow
def test_same_seed_gives_same_gold_and_pixels(tmp_path: Path) -> None:
    assert plan_document(77, "light", 0).sheets == plan_document(77, "light", 0).sheets
    assert plan_document(77, "light", 0).sheets != plan_document(78, "light", 0).sheets
    runs = []
    for name in ("a", "b"):
        entries = make_level(tmp_path / name, 77, 1, "light")
        runs.append(entries)
    assert runs[0] == runs[1]
    folder_a, folder_b = tmp_path / "a" / "light", tmp_path / "b" / "light"
    for path in sorted(folder_a.iterdir()):
        other = folder_b / path.name
        if path.suffix == ".jsonl":
            assert path.read_text() == other.read_text()
        elif path.suffix == ".pdf":
            assert path.read_bytes() == other.read_bytes()
        else:
            with Image.open(path) as a, Image.open(other) as b:
                assert np.array_equal(np.asarray(a), np.asarray(b))
