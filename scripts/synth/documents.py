"""Documents as a scanner would leave them, each with its truth file beside it.

Single pages (PNG, JPG, TIFF), multi-form PDFs, and forms whose 绩效指标 rows run onto a
second page. `form_types` picks what the documents hold: approval forms (the default, the same
files as before the self-evaluation existed), self-evaluations, or both, where some PDFs hold a
project's approval form followed by its self-evaluation.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scan_files import save_scan
from truth_files import Truth, write_truth

from synth.content import Sheet, invent_sheet, seed_sheets
from synth.degrade import LEVELS, Damage, encode_jpeg, scan
from synth.layout import Measure, PageLayout, Style, layout_sheet, shift
from synth.marks import pen_strokes, press_seal
from synth.render import Ink, as_array, render_page
from synth.self_evaluation import Form, SelfEvaluation, invent_self_evaluation, self_evaluation_of
from synth.self_evaluation_layout import evaluation_style, layout_self_evaluation

CLEAN_JPEG_QUALITY = 85  # what office scanners default to for JPG and PDF output
SEED_SHARE = 0.1  # share of invented documents that reuse one of the seven real forms' content
# What a corpus holds: approval forms, self-evaluations, or both (pairs of one project).
FORM_TYPES = ("approval", "self_evaluation", "both")


@dataclass
class Page:
    """One page as it comes out of the scanner, and what was done to it."""

    image: np.ndarray
    dpi: int
    damage: Damage
    gray: bool = False  # scanned in grayscale, as office scanners do unless told otherwise
    cells: int = 0  # ruled cells printed on the page, to check a grid finder against


@dataclass
class Document:
    """A file to write: its pages, its forms' truth, and notes for the manifest."""

    name: str
    ext: str
    pages: list[Page] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)


def doc_rng(seed: int, level: str, index: int) -> random.Random:
    """The random stream of one document: the same (seed, level, index) gives the same file."""
    return random.Random(f"{seed}:{level}:{index}")


def make_document(seed: int, level: str, index: int, form_types: str = "approval") -> Document:
    """Draw the content, kind and format of one corpus document and print, mark and scan it."""
    if form_types != "approval":
        return _evaluation_document(seed, level, index, form_types)
    rng = doc_rng(seed, level, index)
    kind = rng.choices(["single", "continued", "multi"], weights=[5, 2, 3])[0]
    if kind == "single":
        sheets = [_sheet(rng, long=False)]
        # A phone saves JPEG; scanners offer all three.
        ext = "jpg" if level == "photo" else rng.choice(["png", "jpg", "tif"])
    elif kind == "continued":
        sheets = [_sheet(rng, long=True)]
        ext = "pdf" if level == "photo" else rng.choice(["pdf", "tif"])
    else:
        sheets = [_sheet(rng, long=rng.random() < 0.25) for _ in range(rng.randint(2, 4))]
        ext = "pdf"
    doc = Document(name=f"{level}-{index:04d}", ext=ext, notes={"kind": kind})
    dpi = _dpi(level, rng)
    for sheet in sheets:
        _print_form(doc, sheet, level, dpi, rng, long=kind == "continued")
    if kind == "single" and len(doc.pages) > 1:
        doc.ext = "tif" if ext == "tif" else "pdf"  # a form that spilt over needs a multi-page file
        doc.notes["kind"] = "continued"
    return doc


def _evaluation_document(seed: int, level: str, index: int, form_types: str) -> Document:
    """A document of self-evaluations; with `both`, often a PDF of a project's two forms."""
    # Its own stream, so that these corpora do not repeat the approval corpus's projects.
    rng = random.Random(f"{seed}:{level}:{index}:{form_types}")
    kinds = ["single", "continued", "multi"] + (["pair"] if form_types == "both" else [])
    kind = rng.choices(kinds, weights=[5, 2, 3, 6][: len(kinds)])[0]
    forms: list[Form]
    if kind == "pair":
        sheet = _sheet(rng, long=False)
        forms = [sheet, self_evaluation_of(sheet, rng, long=rng.random() < 0.2)]
        ext = "pdf"
    elif kind == "multi":
        forms = [
            invent_self_evaluation(rng, long=rng.random() < 0.25) for _ in range(rng.randint(2, 3))
        ]
        ext = "pdf"
    elif kind == "continued":
        forms = [invent_self_evaluation(rng, long=True)]
        ext = "pdf" if level == "photo" else rng.choice(["pdf", "tif"])
    else:
        forms = [invent_self_evaluation(rng)]
        ext = "jpg" if level == "photo" else rng.choice(["png", "jpg", "tif"])
    doc = Document(name=f"{level}-{index:04d}", ext=ext, notes={"kind": kind})
    dpi = _dpi(level, rng)
    for form in forms:
        _print_form(doc, form, level, dpi, rng, long=kind == "continued")
    if kind == "single" and len(doc.pages) > 1:
        doc.ext = "tif" if ext == "tif" else "pdf"
        doc.notes["kind"] = "continued"
    doc.notes["form_types"] = [t.form_type for t in doc.truth]
    doc.notes["slips"] = [f.slip if isinstance(f, SelfEvaluation) else "" for f in forms]
    return doc


def seed_document(level: str, seed: int) -> Document:
    """The seven real forms of the seed set, in one multi-form PDF."""
    rng = doc_rng(seed, level, -1)
    doc = Document(name=f"seed-forms-{level}", ext="pdf", notes={"kind": "seed"})
    dpi = _dpi(level, rng)  # one batch through the scanner, one resolution
    for sheet in seed_sheets():
        _print_form(doc, sheet, level, dpi, rng, long=False)
    return doc


def _sheet(rng: random.Random, long: bool) -> Sheet:
    if not long and rng.random() < SEED_SHARE:
        return rng.choice(seed_sheets())
    return invent_sheet(rng, long=long)


def _dpi(level: str, rng: random.Random) -> int:
    if level == "heavy" and rng.random() < 0.3:
        return 150
    if level in ("clean", "light") and rng.random() < 0.25:
        return 300
    return 200


def _print_form(
    doc: Document, form: Form, level: str, dpi: int, rng: random.Random, long: bool
) -> None:
    if isinstance(form, SelfEvaluation):
        style = evaluation_style(rng, tall_rows=long)
    else:
        style = Style.draw(rng, tall_rows=long)
    ink = Ink.draw(rng, worn=level == "heavy" and rng.random() < 0.7)
    layouts = _layout(form, style, ink.measure())
    seal_page = rng.randrange(len(layouts)) if _wants_seal(level, rng) else -1
    pen = level == "heavy" and rng.random() < 0.5
    gray = seal_page < 0 and not pen and level in ("clean", "light") and rng.random() < 0.6
    for number, page in enumerate(layouts):
        page = shift(page, rng.uniform(-3, 3), rng.uniform(-3, 3))
        image = render_page(page, ink, dpi, rng, style.font_mm)
        if number == seal_page:
            press_seal(image, page, form.implementing_unit, dpi, rng)
        if pen:
            pen_strokes(image, page, dpi, rng)
        scanned, damage = scan(as_array(image), level, rng)
        doc.pages.append(Page(scanned, dpi, damage, gray, cells=len(page.cells)))
    doc.truth.append(form.gold())
    doc.notes.setdefault("faces", []).append(ink.body[0])  # type: ignore[union-attr]


def _layout(form: Form, style: Style, measure: Measure) -> list[PageLayout]:
    if isinstance(form, SelfEvaluation):
        return layout_self_evaluation(form, style, measure)
    return layout_sheet(form, style, measure)


def _wants_seal(level: str, rng: random.Random) -> bool:
    return {"heavy": 0.6, "photo": 0.3}.get(level, 0.0) > rng.random()


def write_document(doc: Document, folder: Path) -> dict[str, object]:
    """Write the scan and its truth file; return the manifest entry."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc.name}.{doc.ext}"
    dpi = doc.pages[0].dpi
    # The scanner's JPEG step happens once: inside a JPG or PDF it is the file's own
    # compression; a PNG or TIFF still carries its artefacts, losslessly.
    quality = doc.pages[0].damage.jpeg or CLEAN_JPEG_QUALITY
    if doc.ext in ("jpg", "pdf"):
        images = [_pil(p, None) for p in doc.pages]
    else:
        images = [_pil(p, p.damage.jpeg) for p in doc.pages]
    save_scan(path, images, dpi, quality)
    write_truth(folder / f"{doc.name}.gold.jsonl", doc.truth)
    return {
        "file": path.name,
        "forms": len(doc.truth),
        "pages": len(doc.pages),
        "dpi": dpi,
        **doc.notes,
        "damage": [asdict(p.damage) for p in doc.pages],
        "cells": [p.cells for p in doc.pages],
    }


def _pil(page: Page, jpeg: int | None) -> Image.Image:
    pixels = encode_jpeg(page.image, jpeg) if jpeg else page.image
    image = Image.fromarray(pixels)
    return image.convert("L") if page.gray else image


def write_corpus(
    out: Path,
    seed: int,
    docs: int,
    levels: tuple[str, ...],
    seed_forms: bool,
    form_types: str = "approval",
) -> int:
    """Generate `docs` documents per level under `out/LEVEL/`; returns how many were written."""
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown levels {sorted(unknown)}; choose from {', '.join(LEVELS)}")
    if form_types not in FORM_TYPES:
        raise ValueError(f"unknown form types {form_types!r}; choose from {', '.join(FORM_TYPES)}")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for level in levels:
            makers = [
                lambda i=i, lv=level: make_document(seed, lv, i, form_types) for i in range(docs)
            ]
            if seed_forms:
                makers.append(lambda lv=level: seed_document(lv, seed))
            for make in makers:  # one document in memory at a time
                entry = write_document(make(), out / level)
                manifest.write(
                    json.dumps({"level": level, "seed": seed, **entry}, ensure_ascii=False) + "\n"
                )
                written += 1
    return written
