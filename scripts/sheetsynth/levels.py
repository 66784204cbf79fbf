"""The five damage levels as recipes, and one printed page taken through its level's damage.

clean: a flatbed scan of a fresh print, sometimes stamped.  light: an office scanner, a little
skew, JPEG, now and then a seal, a tick, punch holes.  heavy: a worn, stamped, annotated,
folded and punched copy through a tired feeder: 150 dpi often, skew to 5°, upside down,
uneven light, JPEG 25-45 (still readable by a person).  photo: a phone picture on a desk.
bilevel: 1-bit CCITT G4 TIFF from a fax or archive scanner at 200 or 300 dpi.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from sheetsynth import marks, paper, scanner
from sheetsynth.office import TextLine

LEVELS = ("clean", "light", "heavy", "photo", "bilevel")
SEAL_TARGETS = ("title", "year", "unit", "amount", "department", "anywhere")
BILEVEL_METHODS = ("threshold", "dither", "adaptive", "dropout")


@dataclass(frozen=True)
class Recipe:
    """Chances and ranges of each damage family at one level."""

    dpis: dict[int, float]
    seal: float = 0.0
    seals_max: int = 1
    faint: float = 0.3
    pen: float = 0.0
    pens_max: int = 2
    fold: float = 0.0
    holes: float = 0.0
    bleed: float = 0.0
    bleed_range: tuple[float, float] = (0.05, 0.12)
    fade: float = 0.0
    fade_range: tuple[float, float] = (0.15, 0.35)
    angle: float = 0.0
    upside_down: float = 0.0
    sideways: float = 0.0
    blur: tuple[float, float] = (0.0, 0.0)
    noise: tuple[float, float] = (0.5, 1.5)
    light: float = 0.0
    darkest: tuple[float, float] = (0.8, 0.95)
    specks: tuple[int, int] = (0, 0)
    jpeg: tuple[int, int] | None = None
    gray: float = 0.0
    photo: bool = False
    bilevel: bool = False


RECIPES: dict[str, Recipe] = {
    "clean": Recipe(
        dpis={200: 0.6, 300: 0.4},
        seal=0.25,
        faint=0.2,
        holes=0.1,
        angle=0.3,
        blur=(0.0, 0.3),
        jpeg=(88, 95),
        gray=0.5,
    ),
    "light": Recipe(
        dpis={150: 0.1, 200: 0.6, 300: 0.3},
        seal=0.45,
        pen=0.25,
        fold=0.15,
        holes=0.25,
        bleed=0.15,
        fade=0.15,
        angle=1.5,
        upside_down=0.03,
        blur=(0.3, 0.7),
        noise=(2, 5),
        light=0.3,
        jpeg=(65, 85),
        gray=0.4,
    ),
    "heavy": Recipe(
        dpis={150: 0.4, 200: 0.45, 300: 0.15},
        seal=0.85,
        seals_max=3,
        faint=0.35,
        pen=0.7,
        pens_max=5,
        fold=0.6,
        holes=0.5,
        bleed=0.5,
        bleed_range=(0.12, 0.26),
        fade=0.5,
        fade_range=(0.25, 0.55),
        angle=5.0,
        upside_down=0.3,
        sideways=0.05,
        blur=(0.5, 1.0),
        noise=(5, 11),
        light=1.0,
        darkest=(0.58, 0.8),
        specks=(50, 400),
        jpeg=(25, 45),
        gray=0.3,
    ),
    "photo": Recipe(
        dpis={200: 0.7, 300: 0.3},
        seal=0.4,
        seals_max=2,
        pen=0.35,
        pens_max=3,
        fold=0.4,
        holes=0.2,
        bleed=0.15,
        fade=0.1,
        upside_down=0.05,
        jpeg=(60, 85),
        photo=True,
    ),
    "bilevel": Recipe(
        dpis={200: 0.5, 300: 0.5},
        seal=0.4,
        seals_max=2,
        faint=0.5,
        pen=0.2,
        fold=0.2,
        holes=0.3,
        bleed=0.1,
        fade=0.25,
        angle=2.0,
        upside_down=0.1,
        bilevel=True,
    ),
}


@dataclass
class Damage:
    """What was done to one page, for the corpus manifest."""

    seals: list[str] = field(default_factory=list)  # where each seal was aimed
    faint_seals: bool = False
    pen: int = 0
    fold: str = ""
    holes: str = ""
    bleed: float = 0.0
    faded_rulings: float = 0.0
    angle: float = 0.0
    turned: int = 0
    blur: float = 0.0
    noise: float = 0.0
    light: float = 1.0
    jpeg: int | None = None
    gray: bool = False
    photo: bool = False
    bilevel: str = ""


@dataclass(frozen=True)
class PageContext:
    """What damage needs to know about the printed page: where things are, whose seal."""

    boxes: list[TextLine]  # in pixels
    unit: str
    department: str
    amounts: tuple[str, ...]
    values: tuple[str, ...]  # the 指标值 printed on the form
    dpi: int
    title: str = "绩效批复表"  # the part of the form's title a seal aimed at the title finds


def draw_dpi(level: str, rng: random.Random) -> int:
    """The resolution a document of this level is scanned at."""
    dpis = RECIPES[level].dpis
    return rng.choices(list(dpis), weights=list(dpis.values()))[0]


def scans_gray(level: str, rng: random.Random) -> bool:
    """Whether the document goes through the scanner in grayscale (one setting per batch)."""
    return rng.random() < RECIPES[level].gray


def damage_page(
    page: np.ndarray,
    back: np.ndarray,
    ctx: PageContext,
    level: str,
    rng: random.Random,
    *,
    gray: bool = False,
) -> tuple[np.ndarray | Image.Image, Damage]:
    """Take one printed page (RGB) through the level's damage; bilevel gives a mode "1" image."""
    recipe = RECIPES[level]
    nprng = np.random.default_rng(rng.getrandbits(32))
    dpi = ctx.dpi
    d = Damage()
    out = page.copy()
    # On the printed sheet, in the order it happens to it.
    if rng.random() < recipe.fade:
        d.faded_rulings = round(rng.uniform(*recipe.fade_range), 2)
        out = paper.fade_rulings(out, dpi, rng, d.faded_rulings)
    if rng.random() < recipe.seal:
        d.faint_seals = rng.random() < recipe.faint
        for target in rng.sample(SEAL_TARGETS, rng.randint(1, recipe.seals_max)):
            centre = _seal_centre(ctx, target, out.shape, rng)
            marks.press_seal(out, ctx.unit, centre, dpi, rng, faint=d.faint_seals)
            d.seals.append(target)
    if rng.random() < recipe.pen:
        d.pen = rng.randint(1, recipe.pens_max)
        for _ in range(d.pen):
            _pen_mark(out, ctx, rng)
    if rng.random() < recipe.fold:
        out, d.fold = paper.fold(out, dpi, rng)
    if rng.random() < recipe.holes:
        out, d.holes = paper.punch_holes(out, dpi, rng)
    if rng.random() < recipe.bleed:
        d.bleed = round(rng.uniform(*recipe.bleed_range), 2)
        out = paper.bleed_through(out, back, rng, d.bleed)
    # Through the scanner or the phone.
    if recipe.photo:
        d.photo = True
        out = scanner.photograph(out, rng, nprng)
    else:
        d.angle = round(rng.uniform(-recipe.angle, recipe.angle), 2)
        if d.angle:
            out = scanner.rotate(out, d.angle, rng.randint(215, 250))
        if rng.random() < recipe.light:
            d.light = round(rng.uniform(*recipe.darkest), 2)
            out = scanner.uneven_light(out, d.light, rng)
        d.blur = round(rng.uniform(*recipe.blur), 2)
        out = scanner.blur(out, d.blur)
        if not recipe.bilevel:
            d.noise = round(rng.uniform(*recipe.noise), 1)
            out = scanner.noise(out, d.noise, nprng)
        if recipe.specks[1]:
            out = scanner.specks(out, rng.randint(*recipe.specks), dpi, nprng)
    if rng.random() < recipe.upside_down:
        d.turned = 2
    elif rng.random() < recipe.sideways:
        d.turned = rng.choice([1, 3])
    out = scanner.turn(out, d.turned)
    if recipe.bilevel:
        d.bilevel = rng.choice(BILEVEL_METHODS)
        return scanner.bilevel(out, d.bilevel, rng, nprng), d
    if recipe.jpeg:
        d.jpeg = rng.randint(*recipe.jpeg)
    d.gray = gray
    return out, d


def find_box(boxes: list[TextLine], text: str) -> TextLine | None:
    """The smallest printed box whose text holds `text` (spaces ignored)."""
    want = "".join(text.split())
    if not want:
        return None
    found = [b for b in boxes if want in "".join(b.text.split())]
    return min(found, key=lambda b: (b.x1 - b.x0) * (b.y1 - b.y0), default=None)


def _seal_centre(
    ctx: PageContext, target: str, shape: tuple[int, ...], rng: random.Random
) -> tuple[float, float]:
    wanted = {
        "title": ctx.title,
        "year": "年度",
        "unit": ctx.unit,
        "department": ctx.department,
        "amount": rng.choice(ctx.amounts) if ctx.amounts else "",
    }.get(target, "")
    box = find_box(ctx.boxes, wanted)
    if box is None and ctx.boxes:
        box = rng.choice(ctx.boxes)  # "anywhere": on some printed text of the page
    if box is None:
        return rng.uniform(0.2, 0.8) * shape[1], rng.uniform(0.2, 0.8) * shape[0]
    return rng.uniform(box.x0, box.x1), (box.y0 + box.y1) / 2


def _pen_mark(page: np.ndarray, ctx: PageContext, rng: random.Random) -> None:
    choices = [v for v in ctx.values if v] + list(ctx.amounts)
    box = find_box(ctx.boxes, rng.choice(choices)) if choices else None
    if box is None and ctx.boxes:
        box = rng.choice(ctx.boxes)
    if box is None:
        return
    if rng.random() < 0.5:
        marks.pen_tick(page, box.x1 + marks.mm(3, ctx.dpi), box.y1, ctx.dpi, rng)
    else:
        marks.pen_scrawl(page, (box.x0, box.y0, box.x1, box.y1), ctx.dpi, rng)
