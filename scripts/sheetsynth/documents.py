"""Corpus documents: drawn, typed into workbooks, printed in batches, damaged, written to disk.

A level's documents are planned first (content, look, file type, resolution), their workbooks
printed by one LibreOffice run, then each PDF is rasterised, damaged page by page and written
with its truth file beside it. Every random choice comes from the document's own streams
(seed, level, index), so the same seed gives the same files whatever else is generated.
`form_types` picks what the documents hold: approval forms (the default, the same files as
before the self-evaluation existed), self-evaluations, or both, where some PDFs hold a
project's approval form followed by its self-evaluation.
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
from synth.self_evaluation import Form, SelfEvaluation, invent_self_evaluation, self_evaluation_of
from truth_files import write_truth

from sheetsynth import office, scanner
from sheetsynth.levels import LEVELS, Damage, PageContext, damage_page, draw_dpi, scans_gray
from sheetsynth.look import Look
from sheetsynth.self_evaluation_sheet import add_self_evaluation, evaluation_look
from sheetsynth.workbook import FormPrint, add_form, new_workbook, save

PDF_JPEG_QUALITY = 85  # what a scanner's own PDF uses when the page had no JPEG step of its own
SEED_SHARE = 0.1  # share of forms that carry one of the seven real forms' content
OPEN_FRAME = {"heavy": 0.35}  # chance that a clerk left one side of the frame undrawn
OPEN_FRAME_DEFAULT = 0.15
BATCH = 25  # workbooks per LibreOffice run
# What a corpus holds: approval forms, self-evaluations, or both (pairs of one project).
FORM_TYPES = ("approval", "self_evaluation", "both")


@dataclass
class Plan:
    """One document before it is printed."""

    name: str
    level: str
    kind: str  # single, continued, multi; pair (an approval form and its self-evaluation)
    ext: str
    dpi: int
    look: Look
    sheets: list[Form]
    forms: list[FormPrint] = field(default_factory=list)
    evaluation_look: Look | None = None  # the same clerk's nine-column look, for self-evaluations


@dataclass
class Scan:
    """One page as it leaves the scanner, and what was done to it."""

    image: np.ndarray | Image.Image
    damage: Damage


def streams(seed: int, level: str, index: int) -> tuple[random.Random, random.Random]:
    """The document's content stream and its damage stream."""
    key = f"sheet:{seed}:{level}:{index}"
    return random.Random(key), random.Random(key + ":damage")


def plan_document(seed: int, level: str, index: int, form_types: str = "approval") -> Plan:
    """Draw what one document holds and how it is printed and saved."""
    if form_types != "approval":
        return _plan_evaluation(seed, level, index, form_types)
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


def _plan_evaluation(seed: int, level: str, index: int, form_types: str) -> Plan:
    """A document of self-evaluations; with `both`, often a PDF of a project's two forms."""
    # Its own stream, so that these corpora do not repeat the approval corpus's projects.
    rng = random.Random(f"sheet:{seed}:{level}:{index}:{form_types}")
    kinds = ["single", "continued", "multi"] + (["pair"] if form_types == "both" else [])
    kind = rng.choices(kinds, weights=[5, 2, 3, 6][: len(kinds)])[0]
    long = kind == "continued"
    sheets: list[Form]
    if kind == "pair":
        sheet = _sheet(rng, False)
        sheets = [sheet, self_evaluation_of(sheet, rng, long=rng.random() < 0.2)]
    else:
        count = rng.randint(2, 3) if kind == "multi" else 1
        sheets = [
            invent_self_evaluation(rng, long=long or (kind == "multi" and rng.random() < 0.2))
            for _ in range(count)
        ]
    look = Look.draw(rng, open_frame=OPEN_FRAME.get(level, OPEN_FRAME_DEFAULT), tall_rows=long)
    if level == "bilevel":
        ext = "tif"
    elif level == "photo":
        ext = "jpg" if kind == "single" else "pdf"
    elif kind == "single":
        ext = rng.choice(["png", "jpg", "tif", "pdf"])
    else:
        ext = "pdf" if kind == "pair" else rng.choice(["pdf", "pdf", "tif"])
    name = f"{level}-{index:04d}"
    plan = Plan(name, level, kind, ext, draw_dpi(level, rng), look, sheets)
    plan.evaluation_look = evaluation_look(look, rng)
    return plan


def _sheet(rng: random.Random, long: bool) -> Sheet:
    if not long and rng.random() < SEED_SHARE:
        return rng.choice(seed_sheets())
    return invent_sheet(rng, long=long)


def build_workbook(plan: Plan, folder: Path) -> Path:
    """Type the plan's forms into one workbook, a worksheet each; returns the .xlsx."""
    wb = new_workbook()
    plan.forms = []
    for i, form in enumerate(plan.sheets):
        if isinstance(form, SelfEvaluation):
            look = plan.evaluation_look or evaluation_look(plan.look, random.Random(plan.name))
            plan.forms.append(add_self_evaluation(wb, form, look, f"表{i + 1}"))
        else:
            plan.forms.append(add_form(wb, form, plan.look, f"表{i + 1}"))
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
        ctx = _page_context(
            sheet,
            [
                office.TextLine(b.text, b.x0 * px, b.y0 * px, b.x1 * px, b.y1 * px, b.kind)
                for b in boxes[number]
            ],
            plan.dpi,
        )
        # The back of the sheet: the next page printed, or this one, turned over.
        back = pages[number + 1] if number + 1 < len(pages) else scanner.turn(page, 2)
        image, damage = damage_page(page, back, ctx, plan.level, rng, gray=gray)
        scans.append(Scan(image, damage))
    return scans


def _page_context(form: Form, boxes: list[office.TextLine], dpi: int) -> PageContext:
    """Where seals and pen marks aim on a page of `form`: its unit, amounts and values."""
    if isinstance(form, SelfEvaluation):
        total = form.funds[0]
        return PageContext(
            boxes=boxes,
            unit=form.implementing_unit,
            department=form.department,
            amounts=tuple(a for a in (total.budget, total.executed) if a),
            values=tuple(v for b in form.blocks for r in b.rows for v in (r.actual, r.score)),
            dpi=dpi,
            title="绩效自评表",
        )
    return PageContext(
        boxes=boxes,
        unit=form.implementing_unit,
        department=form.department,
        amounts=tuple(a for a in (form.funds_total, form.funds_fiscal) if a),
        values=tuple(line.value for b in form.blocks for line in b.lines),
        dpi=dpi,
    )


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
    write_truth(folder / f"{plan.name}.gold.jsonl", [s.gold() for s in plan.sheets])
    notes: dict[str, object] = {}
    if plan.evaluation_look is not None:
        notes["form_types"] = [s.gold().form_type for s in plan.sheets]
        notes["slips"] = [s.slip if isinstance(s, SelfEvaluation) else "" for s in plan.sheets]
    return {
        "file": path.name,
        "renderer": "sheet",
        "kind": plan.kind,
        "forms": len(plan.sheets),
        "pages": len(scans),
        "dpi": dpi,
        "faces": [plan.look.body_face, plan.look.title_face],
        "frame": {"inner": plan.look.inner, "outer": plan.look.outer, "open": plan.look.open_side},
        **notes,
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


def make_level(
    out: Path, seed: int, docs: int, level: str, form_types: str = "approval"
) -> list[dict[str, object]]:
    """Write `docs` documents of one level under `out/LEVEL/`; returns their manifest entries."""
    entries: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="sheetsynth-") as work:
        folder = Path(work)
        for start in range(0, docs, BATCH):
            indices = range(start, min(start + BATCH, docs))
            plans = [plan_document(seed, level, i, form_types) for i in indices]
            books = [build_workbook(p, folder) for p in plans]
            pdfs = office.to_pdf(books, folder)
            for i, plan, pdf in zip(indices, plans, pdfs, strict=True):
                scans = scan_document(plan, pdf, seed, i)
                entry = write_document(plan, scans, out / level)
                entries.append({"level": level, "seed": seed, **entry})
    return entries


def write_corpus(
    out: Path, seed: int, docs: int, levels: tuple[str, ...], form_types: str = "approval"
) -> int:
    """Generate `docs` documents per level and `out/manifest.jsonl`; returns how many."""
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown levels {sorted(unknown)}; choose from {', '.join(LEVELS)}")
    if form_types not in FORM_TYPES:
        raise ValueError(f"unknown form types {form_types!r}; choose from {', '.join(FORM_TYPES)}")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for level in levels:
            for entry in make_level(out, seed, docs, level, form_types):
                manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
                written += 1
    return written
