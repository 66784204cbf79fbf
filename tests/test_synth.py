"""The corpus generator: its truth is what the page prints, and its files are real, stable scans."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synth.content import SEED_FILE, invent_sheet, seed_sheets
from synth.degrade import LEVELS
from synth.documents import make_document, write_document
from synth.layout import CELL_PAD_MM, PageLayout, Style, layout_sheet
from synth.render import Ink

from pipeline.form_spec import load_template
from pipeline.records import read_gold

TEMPLATE = load_template("budget_performance_approval")
SCALAR_KEYS = tuple(TEMPLATE.scalar_keys)
LEVEL1_NAMES = tuple(TEMPLATE.indicators.vocabulary)
LEVEL2_NAMES = tuple(TEMPLATE.level2_names)

REPO = Path(__file__).resolve().parents[1]
MAKE_CORPUS = REPO / "scripts" / "make_corpus.py"


def test_seed_sheets_print_exactly_the_seed_truth() -> None:
    assert [s.gold() for s in seed_sheets()] == read_gold(SEED_FILE)


@pytest.mark.parametrize("seed", range(300))
def test_invented_truth_is_well_formed(seed: int) -> None:
    gold = invent_sheet(random.Random(seed), long=seed % 3 == 0).gold()
    f = gold.fields
    assert tuple(f) == SCALAR_KEYS
    assert Decimal(f["funds_total"]) == Decimal(f["funds_fiscal"]) + Decimal(
        f["funds_other"] or "0"
    )
    assert len(f["overall_goal"]) <= 80
    assert f["year"].isdigit() and len(f["year"]) == 4
    seen = set()
    for row in gold.indicators:
        assert row["level1"] in LEVEL1_NAMES and row["level2"] in LEVEL2_NAMES
        assert row["name"] or row["value"], "a line with name and value blank is not a row"
        assert (row["level2"], row["seq"]) not in seen
        seen.add((row["level2"], row["seq"]))
    assert {r["level2"] for r in gold.indicators} == set(LEVEL2_NAMES)


def _printed(pages: list[PageLayout], role: str) -> list[str]:
    """Text of every cell with `role`, wrapped lines joined as the spec joins them."""
    return ["".join(c.lines) for p in pages for c in p.cells if c.role == role and c.lines]


@pytest.mark.parametrize("seed", range(40))
def test_layout_prints_every_truth_value_inside_its_cell(seed: int) -> None:
    rng = random.Random(seed)
    sheet = invent_sheet(rng, long=seed % 2 == 0) if seed % 5 else rng.choice(seed_sheets())
    style, ink = Style.draw(rng, tall_rows=seed % 2 == 0), Ink.draw(rng)
    measure = ink.measure()
    pages = layout_sheet(sheet, style, measure)
    gold = sheet.gold()

    for key in (
        "project_name",
        "department",
        "implementing_unit",
        "project_attribute",
        "project_period",
        "overall_goal",
    ):
        expected = [gold.fields[key]] if gold.fields[key] else []
        assert _printed(pages, f"value:{key}") == expected
    assert (
        _printed(pages, "value:funds_total")[0].removesuffix("万元") == gold.fields["funds_total"]
    )

    # Every 一级 and 二级 label is printed, once, wherever its cell was cut by a page end.
    for block in sheet.blocks:
        assert _printed(pages, f"level2:{block.level2}") == [f"{block.level2}{block.note}"]
    assert sorted(_printed(pages, "level1")) == sorted({b.level1 for b in sheet.blocks})

    lines = _printed(pages, "ind:name")
    for row in gold.indicators:
        if row["name"]:
            assert any(
                line.strip().startswith(f"指标{row['seq']}") and line.endswith(row["name"])
                for line in lines
            ), row
    assert sorted(_printed(pages, "ind:value")) == sorted(
        r["value"] for r in gold.indicators if r["value"]
    )

    for page in pages:
        for cell in page.cells:
            for line in cell.lines:
                # Wrapped text stays inside its cell (closing punctuation may hang by one glyph).
                slack = style.font_mm if line[-1] in "）)，,。、：:；;%" else 0.01
                assert measure(line, style.font_mm) <= cell.x1 - cell.x0 - 2 * CELL_PAD_MM + slack
            assert cell.y1 - cell.y0 >= len(cell.lines) * style.font_mm


def test_long_forms_continue_on_a_second_page() -> None:
    pages_per_form = []
    for seed in range(10):
        rng = random.Random(seed)
        pages = layout_sheet(
            invent_sheet(rng, long=True), Style.draw(rng, tall_rows=True), Ink.draw(rng).measure()
        )
        pages_per_form.append(len(pages))
        assert all(c.y1 <= p.height_mm - 5 for p in pages for c in p.cells), (
            "table runs off the page"
        )
    assert min(pages_per_form) >= 2


def _corpus(out: Path, seed: int, docs: int, levels: str) -> dict[str, str]:
    subprocess.run(
        [
            sys.executable,
            str(MAKE_CORPUS),
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--docs",
            str(docs),
            "--levels",
            levels,
        ],
        check=True,
        capture_output=True,
    )
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    first = _corpus(tmp_path / "a", 5, 2, "light,heavy")
    again = _corpus(tmp_path / "b", 5, 2, "light,heavy")
    other = _corpus(tmp_path / "c", 6, 2, "light,heavy")
    assert first == again
    assert len(first) >= 9  # 4 scans + 4 truth files + manifest
    assert first["manifest.jsonl"] != other["manifest.jsonl"]


def _pages(path: Path) -> list[Image.Image]:
    if path.suffix == ".pdf":
        from pdf2image import convert_from_path

        return list(convert_from_path(path, dpi=50))
    image = Image.open(path)
    frames = []
    for i in range(getattr(image, "n_frames", 1)):
        image.seek(i)
        frames.append(image.copy())
    return frames


@pytest.mark.parametrize("level", LEVELS)
def test_documents_are_readable_scans_with_truth(tmp_path: Path, level: str) -> None:
    kinds = set()
    for index in range(4):
        doc = make_document(11, level, index)
        entry = write_document(doc, tmp_path)
        scan = tmp_path / str(entry["file"])
        truth = read_gold(tmp_path / f"{doc.name}.gold.jsonl")
        assert len(_pages(scan)) == entry["pages"] == len(doc.pages)
        assert len(truth) == entry["forms"] >= 1
        assert entry["pages"] >= entry["forms"]
        kinds.add(entry["kind"])
    assert kinds & {"multi", "continued"}, "every level should get multi-page documents"


def _red_share(image: np.ndarray) -> float:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return float(np.mean((r - g > 80) & (r - b > 60)))


def test_damage_levels_do_what_they_say() -> None:
    clean = make_document(3, "clean", 0).pages[0]
    assert clean.damage.angle == 0 and clean.damage.jpeg is None

    light = [make_document(3, "light", i).pages[0].damage for i in range(6)]
    assert all(0 < abs(d.angle) <= 1.5 and 70 <= (d.jpeg or 0) <= 80 for d in light)

    heavy_pages = [p for i in range(12) for p in make_document(3, "heavy", i).pages]
    assert all(abs(p.damage.angle) <= 4 and 30 <= (p.damage.jpeg or 0) <= 50 for p in heavy_pages)
    assert any(p.damage.turned == 2 for p in heavy_pages), "some heavy pages are upside down"
    assert any(p.dpi == 150 for p in heavy_pages)
    assert any(_red_share(p.image) > 0.002 for p in heavy_pages), "some heavy pages carry a seal"

    photo = make_document(3, "photo", 0).pages[0]
    assert photo.damage.photo and 3 <= abs(photo.damage.angle) <= 6
    corners = [photo.image[5, 5], photo.image[5, -5], photo.image[-5, 5], photo.image[-5, -5]]
    assert max(int(c.mean()) for c in corners) < 215, "a photo shows the desk round the sheet"


def test_samples_manifest_matches_the_files() -> None:
    samples = REPO / "samples"
    entries = [json.loads(line) for line in (samples / "manifest.jsonl").read_text().splitlines()]
    assert {e["level"] for e in entries} == set(LEVELS)
    assert {"multi", "continued", "seed"} <= {e["kind"] for e in entries}
    for e in entries:
        scan = samples / e["level"] / e["file"]
        assert (
            len(read_gold(scan.with_name(scan.name.rsplit(".", 1)[0] + ".gold.jsonl")))
            == e["forms"]
        )
    assert sum(f.stat().st_size for f in samples.rglob("*") if f.is_file()) < 10 * 1024 * 1024
