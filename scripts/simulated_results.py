"""Simulated reading results shaped like a real run's, for loading a store without the models.

The shape is what `formscan run samples` put in its store at 1b27812 (9 files, 25 pages):
18 forms, 1,125 fields (45 a page, 61-95 a form), 136 review tasks (125 sent to review, 11
audits: 11% and 1% of the fields), a 208 kB page image a page and a 70 kB crop a task,
evidence of about 440 bytes of JSON a field. The blobs are random bytes: PNG and JPEG are
compressed already, so the database cannot shrink them either.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.form_spec import load_template
from pipeline.pages import FileResult, PageView
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading, field_path

FORM_TYPE = "budget_performance_approval"
# The form type's own keys (its YAML), as a reading of it has them.
SCALAR_KEYS = tuple(load_template(FORM_TYPE).scalar_keys)
ROW_KEYS = tuple(load_template(FORM_TYPE).indicators.keys)
# Pages per file of the samples, in their order: PDFs of 2-9 pages among single images.
PAGES_PER_FILE = (5, 1, 9, 2, 1, 1, 2, 3, 1)


@dataclass(frozen=True)
class PageShape:
    """What one page's reading puts in the store, on average; defaults from the samples."""

    fields_per_page: int = 45
    pages_per_form: float = 1.4
    review_share: float = 0.11
    audit_share: float = 0.01
    page_image_bytes: int = 208_000
    crop_bytes: int = 70_000
    with_images: bool = True  # pages' images and tasks' crops, the bulk of the bytes


def pages_of_file(n: int) -> int:
    """The page count of the `n`th simulated file: the samples' mix, over and over."""
    return PAGES_PER_FILE[n % len(PAGES_PER_FILE)]


def _text(rng: random.Random, length: int) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(length))


def _field(rng: random.Random, page: int, review: bool) -> FieldReading:
    value = _text(rng, rng.randint(2, 9))
    score = rng.uniform(0.5, 0.99) if review else rng.uniform(0.995, 1.0)
    return FieldReading(
        value=value,
        raw=value + _text(rng, rng.randint(0, 6)),
        page=page,
        bbox=[rng.uniform(0, 2000) for _ in range(4)],
        evidence=Evidence(
            rec_score=round(score, 5),
            char_min=round(score * 0.98, 5),
            second_reading=value if rng.random() < 0.09 else None,
        ),
        confidence=round(score, 4),
        review=review,
    )


def simulated_file(name: str, pages: int, shape: PageShape, seed: int) -> FileResult:
    """A file's reading of `pages` pages: forms, fields, review tasks, audits and blobs."""
    rng = random.Random(seed)
    forms = max(1, round(pages / shape.pages_per_form))
    result = FileResult(name, pages=pages, page_seconds=[rng.uniform(1.0, 3.0)] * pages)
    per_form = shape.fields_per_page * pages // forms
    for seq in range(forms):
        first = 1 + seq * pages // forms
        last = max(first, (seq + 1) * pages // forms)
        form = FormReading(file=name, pages=list(range(first, last + 1)), form_type=FORM_TYPE)
        for key in SCALAR_KEYS:
            form.fields[key] = _field(rng, first, rng.random() < shape.review_share)
        while len(form.fields) + len(form.indicators) * len(ROW_KEYS) < per_form:
            form.indicators.append(
                {k: _field(rng, last, rng.random() < shape.review_share) for k in ROW_KEYS}
            )
        placed = [(field_path(k, None), r) for k, r in form.fields.items()]
        for row, indicator in enumerate(form.indicators):
            placed.extend((field_path(k, row), r) for k, r in indicator.items())
        for path, reading in placed:
            if not reading.review and rng.random() < shape.audit_share:
                result.audits[(seq, path)] = AuditDraw(stratum=f"{FORM_TYPE}:text", rate=0.01)
            if shape.with_images and (reading.review or (seq, path) in result.audits):
                result.crops[(seq, path)] = rng.randbytes(shape.crop_bytes)
        result.forms.append(form)
    if shape.with_images:
        matrix = [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]]
        for number in range(1, pages + 1):
            jpeg = rng.randbytes(shape.page_image_bytes)
            result.page_views[number] = PageView(jpeg, matrix, 1400, 1980)
    return result
