"""The reading pipeline: the stages in order, over files and folders of scans.

    ingest → prepare → grid → ocr          (each page: `Reader.read_page`)
    template → check → lexicon → confidence  (each form: `Reader.read_file`)
    → second reading → audit draw → crops  (each file's doubtful fields, read again)
    store → export                         (the run: `pipeline.batch.run`)

A file that cannot be read is recorded with its reason and the run goes on with the next;
a page that fails is recorded on its forms and the file goes on with its other pages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.audit import DEFAULT_RATE, audit_fields
from pipeline.check import check_form
from pipeline.confidence import Calibration, load_calibration, read_calibration, score_form
from pipeline.crops import page_views, review_crops
from pipeline.form_spec import Template, load_templates
from pipeline.grid import Grid, GridOptions, draw_grid, find_grid
from pipeline.ingest import IngestError, IngestOptions, PageImage, ScanFile, read_pages
from pipeline.lexicon import EMPTY, Lexicon, apply_lexicon
from pipeline.mapping.forms import read_forms
from pipeline.ocr.base import OcrEngine, OcrOptions
from pipeline.ocr.cells import read_above_table, read_cells
from pipeline.ocr.registry import load_engine
from pipeline.pages import FileResult, PageRead
from pipeline.prepare import PreparedPage, PrepareOptions, draw_prepared, prepare_page
from pipeline.readings import FormReading
from pipeline.second_reading import SecondReader, SecondReadingOptions

log = logging.getLogger(__name__)

CALIBRATION_FOLDER = "calibration"  # OUT/calibration/TYPE.json: `formscan calibrate --apply`


class RunOptions(BaseModel):
    """One run's configuration: what the CLI builds and the library takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str | None = Field(
        default=None,
        description="Read every page as this form type; None: each page as the known type "
        "its title and labels say, and a page of none as no form.",
    )
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    prepare: PrepareOptions = Field(default_factory=PrepareOptions)
    grid: GridOptions = Field(default_factory=GridOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)
    second_reading: SecondReadingOptions = Field(default_factory=SecondReadingOptions)
    debug_dir: Path | None = Field(
        default=None, description="Where each page's prepare and grid debug pictures go."
    )
    audit_rate: float = Field(
        default=DEFAULT_RATE,
        ge=0.0,
        le=1.0,
        description="Share of straight-through fields sent to review as audits, drawn from "
        "each document's hash (`pipeline.audit`); 0: none.",
    )
    review_below: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Review threshold in place of the fitted one; records name it in their "
        "calibration version.",
    )
    calibration_dir: Path | None = Field(
        default=None,
        description="Calibrations fitted on a store's reviewed fields and applied to it "
        "(`formscan calibrate --apply` writes `OUT/calibration/TYPE.json`): a form type with "
        "one there is scored by it instead of the shipped `models/calibration/TYPE.json`.",
    )


def store_options(options: RunOptions, out: Path) -> RunOptions:
    """`options` reading into the store in `out`: with its applied calibrations, if any.

    `formscan calibrate --apply` puts them in `OUT/calibration/`; a run given another
    folder (`calibration_dir`) keeps it.
    """
    if options.calibration_dir is not None:
        return options
    return options.model_copy(update={"calibration_dir": out.resolve() / CALIBRATION_FOLDER})


class Reader:
    """Reads scan files into checked, scored forms. Load once per worker; not thread-safe."""

    def __init__(self, options: RunOptions | None = None, engine: OcrEngine | None = None) -> None:
        """Load the template, the calibration and the OCR engine."""
        self.options = options or RunOptions()
        forced = self.options.form_type
        self.templates: dict[str, Template] = {
            t.form_type: t for t in load_templates([forced] if forced is not None else None)
        }
        self.calibrations: dict[str, Calibration] = {
            name: self._calibration(name) for name in self.templates
        }
        self.engine = engine or load_engine(self.options.ocr)
        # The store's known values; a batch run hands its snapshot over before any file.
        self.lexicon: Lexicon = EMPTY
        self.second = (
            SecondReader(self.options.ocr.threads) if self.options.second_reading.enabled else None
        )

    def _calibration(self, form_type: str) -> Calibration:
        applied = (
            self.options.calibration_dir / f"{form_type}.json"
            if self.options.calibration_dir is not None
            else None
        )
        if applied is not None and applied.is_file():
            # Read afresh: `formscan calibrate --apply` replaces it between runs.
            calibration = read_calibration.__wrapped__(applied)
        else:
            calibration = load_calibration(form_type)
        if (below := self.options.review_below) is None:
            return calibration
        return calibration.model_copy(
            update={
                "threshold": below,
                "thresholds": {},
                "version": f"{calibration.version}+review<{below}",
            }
        )

    @property
    def versions(self) -> dict[str, str]:
        """What produced a record: stamped on every one."""
        ocr = self.engine.version
        if self.second is not None:
            below = self.options.second_reading.below
            ocr += f"; fields under {below} read again by {self.second.version}"
        return {
            "formscan": __version__,
            "ocr": ocr,
            "template": ", ".join(f"{t.form_type}@{t.version}" for t in self.templates.values()),
            "calibration": ", ".join(
                f"{name}: {c.version}" for name, c in self.calibrations.items()
            ),
        }

    def read_file(self, scan: ScanFile) -> FileResult:
        """Read every page of one file and map its forms; a bad file gives `error`, not a raise."""
        result = FileResult(scan.name)
        pages: list[PageRead] = []
        try:
            for image in _timed_pages(read_pages(scan, self.options.ingest), result.seconds):
                result.pages += 1
                page_started = time.perf_counter()
                try:
                    pages.append(self.read_page(image, result.seconds))
                except Exception as error:  # one bad page must not cost the file's other pages
                    log.exception("%s, page %d", scan.name, image.number)
                    result.page_errors.append(
                        f"{scan.name}, page {image.number}: {type(error).__name__}: {error}"
                    )
                result.page_seconds.append(time.perf_counter() - page_started)
        except IngestError as error:
            result.error = str(error)
            log.warning("%s", error)
            if not pages:
                return result
        with _timed(result.seconds, "template"):
            forms, result.unrecognised = read_forms(list(self.templates.values()), scan.name, pages)
        for number, why in result.unrecognised.items():
            log.warning("%s, page %d: no known form type (%s): not read", scan.name, number, why)
        for form in forms:
            form.issues.extend(result.page_errors)
            with _timed(result.seconds, "check"):
                check_form(self.templates[form.form_type], form)
            with _timed(result.seconds, "lexicon"):
                apply_lexicon(form, self.templates[form.form_type], self.lexicon)
            with _timed(result.seconds, "confidence"):
                self._score(form)
        if self.second is not None and forms:
            with _timed(result.seconds, "second reading"):
                if self.second.read_again(forms, pages, self.options.second_reading.below):
                    for form in forms:  # a disagreement sends its field to review
                        self._score(form)
        if scan.sha256 is not None:  # a batch run's file: audited by its content's hash
            result.audits = audit_fields(forms, scan.sha256, self.options.audit_rate)
        with _timed(result.seconds, "crops"):
            result.crops = review_crops(forms, pages, also=result.audits.keys())
            result.page_views = page_views(pages)
        result.forms = forms
        return result

    def _score(self, form: FormReading) -> None:
        score_form(form, self.templates[form.form_type], self.calibrations[form.form_type])

    def read_page(self, image: PageImage, seconds: dict[str, float]) -> PageRead:
        """Run the page stages on one page: prepare, grid, OCR."""
        with _timed(seconds, "prepare"):
            prepared = prepare_page(image, self.options.prepare)
        with _timed(seconds, "grid"):
            grid = find_grid(prepared, self.options.grid)
        if self.options.debug_dir is not None:
            _write_debug(self.options.debug_dir, prepared, grid)
        with _timed(seconds, "ocr"):
            cells = read_cells(prepared, grid, self.engine) if grid is not None else []
            above, above_boxes = read_above_table(prepared, grid, self.engine)
        return PageRead(prepared, grid, cells, above, tuple(above_boxes))


def _write_debug(folder: Path, page: PreparedPage, grid: Grid | None) -> None:
    """What prepare and grid found on one page, as `NAME-pN-prepare.jpg` and `-grid.jpg`."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{page.source.file.name.replace('/', '__')}-p{page.source.number}"
    cv2.imwrite(str(folder / f"{stem}-prepare.jpg"), draw_prepared(page))
    if grid is not None:
        cv2.imwrite(str(folder / f"{stem}-grid.jpg"), draw_grid(page, grid))


def _timed_pages(pages: Iterator[PageImage], seconds: dict[str, float]) -> Iterator[PageImage]:
    """`pages`, the time spent making each (decoding, rendering) counted as "ingest"."""
    while True:
        with _timed(seconds, "ingest"):
            page = next(pages, None)
        if page is None:
            return
        yield page


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started
