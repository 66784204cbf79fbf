"""Corpus documents: drawn, typed into workbooks, printed in batches, damaged, written to disk.

A level's documents are planned first (content, look, file type, resolution), their workbooks
printed by one LibreOffice run, then each PDF is rasterised, damaged page by page and written
with its truth file beside it. Every random choice comes from the document's own streams
(seed, level, index), so the same seed gives the same files whatever else is generated.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scan_files import save_scan
from synth.content import Sheet, invent_sheet, seed_sheets

from pipeline.records import write_gold
from sheetsynth import office, scanner
from sheetsynth.levels import LEVELS, Damage, PageContext, damage_page, draw_dpi, scans_gray
from sheetsynth.look import Look
from sheetsynth.workbook import FormPrint, add_form, new_workbook, save

PDF_JPEG_QUALITY = 85  # what a scanner's own PDF uses when the page had no JPEG step of its own
SEED_SHARE = 0.1  # share of forms that carry one of the seven real forms' content
OPEN_FRAME = {"heavy": 0.35}  # chance that a clerk left one side of the frame undrawn
OPEN_FRAME_DEFAULT = 0.15
BATCH = 25  # workbooks per LibreOffice run


@dataclass
class Plan:
    """One document before it is printed."""

    name: str
    level: str
    kind: str  # single, continued, multi
    ext: str
    dpi: int
    look: Look
    sheets: list[Sheet]
    forms: list[FormPrint] = field(default_factory=list)


@dataclass
class Scan:
    """One page as it leaves the scanner, and what was done to it."""

    image: np.ndarray | Image.Image
    damage: Damage


def streams(seed: int, level: str, index: int) -> tuple[random.Random, random.Random]:
    """The document's content stream and its damage stream."""
    key = f"sheet:{seed}:{level}:{index}"
    return random.Random(key), random.Random(key + ":damage")


def plan_document(seed: int, level: str, index: int) -> Plan:
    """Draw what one document holds and how it is printed and saved."""
    rng, _ = streams(seed, level, index)
    kind = rng.choices(["single", "continued", "multi"], weights=[5, 2, 3])[0]
    long = kind == "continued"
    count = rng.randint(2, 4) if kind == "multi" else 1
    sheets = [_sheet(rng, long or (kind == "multi" and rng.random() < 0.2)) for _ in range(count)]
    look = Look.draw(rng, open_frame=OPEN_FRAME.get(level, OPEN_FRAME_DEFAULT), tall_rows=long)
    if level == "bilevel":
        ext = "tif"
    elif level == "photo":
        ext = "jpg" if kind == "single" else "pdf"
    elif kind == "single":
        ext = rng.choice(["png", "jpg", "tif", "pdf"])
    else:
        ext = rng.choice(["pdf", "pdf", "tif"])
    return Plan(f"{level}-{index:04d}", level, kind, ext, draw_dpi(level, rng), look, sheets)


def _sheet(rng: random.Random, long: bool) -> Sheet:
    if not long and rng.random() < SEED_SHARE:
        return rng.choice(seed_sheets())
    return invent_sheet(rng, long=long)


def build_workbook(plan: Plan, folder: Path) -> Path:
    """Type the plan's forms into one workbook, a worksheet each; returns the .xlsx."""
    wb = new_workbook()
    plan.forms = [add_form(wb, s, plan.look, f"表{i + 1}") for i, s in enumerate(plan.sheets)]
    path = folder / f"{plan.name}.xlsx"
    save(wb, path)
    return path


def scan_document(plan: Plan, pdf: Path, seed: int, index: int) -> list[Scan]:
    """Rasterise the printed PDF at the plan's resolution and damage each page."""
    printed = office.page_count(pdf)
    planned = sum(f.pages for f in plan.forms)
    if printed != planned:
        raise office.OfficeError(
            f"{plan.name}: LibreOffice printed {printed} pages where the workbook planned "
            f"{planned}; a merged cell may straddle a page (lower workbook.PAGE_FILL)"
        )
    _, rng = streams(seed, plan.level, index)
    pages = office.rasterize(pdf, plan.dpi)
    boxes = office.text_boxes(pdf)
    owners = [s for s, f in zip(plan.sheets, plan.forms, strict=True) for _ in range(f.pages)]
    px = plan.dpi / 72.0
    gray = scans_gray(plan.level, rng)
    scans = []
    for number, (page, sheet) in enumerate(zip(pages, owners, strict=True)):
        ctx = PageContext(
            boxes=[
                office.TextLine(b.text, b.x0 * px, b.y0 * px, b.x1 * px, b.y1 * px, b.kind)
                for b in boxes[number]
            ],
            unit=sheet.implementing_unit,
            department=sheet.department,
            amounts=tuple(a for a in (sheet.funds_total, sheet.funds_fiscal) if a),
            values=tuple(line.value for b in sheet.blocks for line in b.lines),
            dpi=plan.dpi,
        )
        # The back of the sheet: the next page printed, or this one, turned over.
        back = pages[number + 1] if number + 1 < len(pages) else scanner.turn(page, 2)
        image, damage = damage_page(page, back, ctx, plan.level, rng, gray=gray)
        scans.append(Scan(image, damage))
    return scans


def write_document(plan: Plan, scans: list[Scan], folder: Path) -> dict[str, object]:
    """Write the scan file and its truth beside it; returns the manifest entry."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = plan.ext
    if len(scans) > 1 and ext in ("png", "jpg"):
        ext = "pdf"  # a form that ran onto a second page needs a multi-page file
    path = folder / f"{plan.name}.{ext}"
    dpi = plan.dpi
    images = [_as_image(s, keep_jpeg=ext in ("png", "tif")) for s in scans]
    quality = scans[0].damage.jpeg or PDF_JPEG_QUALITY
    save_scan(path, images, dpi, quality)  # 1-bit pages (bilevel) as CCITT G4 TIFF
    write_gold(folder / f"{plan.name}.gold.jsonl", [s.gold() for s in plan.sheets])
    return {
        "file": path.name,
        "renderer": "sheet",
        "kind": plan.kind,
        "forms": len(plan.sheets),
        "pages": len(scans),
        "dpi": dpi,
        "faces": [plan.look.body_face, plan.look.title_face],
        "frame": {"inner": plan.look.inner, "outer": plan.look.outer, "open": plan.look.open_side},
        "damage": [asdict(s.damage) for s in scans],
    }


def _as_image(scan: Scan, keep_jpeg: bool) -> Image.Image:
    """The page as Pillow saves it; a lossless file still carries the scanner's JPEG damage."""
    if isinstance(scan.image, Image.Image):
        return scan.image
    pixels = scan.image
    if keep_jpeg and scan.damage.jpeg:
        pixels = scanner.jpeg(pixels, scan.damage.jpeg)
    image = Image.fromarray(pixels)
    return image.convert("L") if scan.damage.gray else image


def make_level(out: Path, seed: int, docs: int, level: str) -> list[dict[str, object]]:
    """Write `docs` documents of one level under `out/LEVEL/`; returns their manifest entries."""
    entries: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="sheetsynth-") as work:
        folder = Path(work)
        for start in range(0, docs, BATCH):
            indices = range(start, min(start + BATCH, docs))
            plans = [plan_document(seed, level, i) for i in indices]
            books = [build_workbook(p, folder) for p in plans]
            pdfs = office.to_pdf(books, folder)
            for i, plan, pdf in zip(indices, plans, pdfs, strict=True):
                scans = scan_document(plan, pdf, seed, i)
                entry = write_document(plan, scans, out / level)
                entries.append({"level": level, "seed": seed, **entry})
    return entries


def write_corpus(out: Path, seed: int, docs: int, levels: tuple[str, ...]) -> int:
    """Generate `docs` documents per level and `out/manifest.jsonl`; returns how many."""
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown levels {sorted(unknown)}; choose from {', '.join(LEVELS)}")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for level in levels:
            for entry in make_level(out, seed, docs, level):
                manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
                written += 1
    return written
