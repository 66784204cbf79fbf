"""The reading pipeline: the stages in order, over files and folders of scans.

    page stages:  prepare → grid → ocr
    form stages:  template → check → confidence
    then:         export

`PAGE_STAGES` and `FORM_STAGES` below are the one place that order is written down.
A file that cannot be read is recorded with its reason and the run goes on with the next.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.check import check_form
from pipeline.confidence import Calibration, load_calibration, score_form
from pipeline.export import write_records, write_summary
from pipeline.grid import GridOptions, find_grid
from pipeline.ingest import IngestError, IngestOptions, ScanFile, find_scans, read_pages
from pipeline.ocr.base import OcrEngine, OcrOptions
from pipeline.ocr.cells import read_above_table, read_cells
from pipeline.ocr.registry import load_engine
from pipeline.prepare import PrepareOptions, prepare_page
from pipeline.readings import FormReading
from pipeline.template import PageRead, Template, load_template, read_forms

log = logging.getLogger(__name__)


class RunOptions(BaseModel):
    """One run's configuration: what the CLI builds and the library takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str = "budget_performance_approval"
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    prepare: PrepareOptions = Field(default_factory=PrepareOptions)
    grid: GridOptions = Field(default_factory=GridOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)


@dataclass
class FileResult:
    """What came of one file: its forms, or the reason it could not be read."""

    name: str
    pages: int = 0
    forms: list[FormReading] = field(default_factory=list)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


class Reader:
    """Reads scan files into checked, scored forms. Load once per worker; not thread-safe."""

    def __init__(self, options: RunOptions | None = None, engine: OcrEngine | None = None) -> None:
        """Load the template, the calibration and the OCR engine."""
        self.options = options or RunOptions()
        self.template: Template = load_template(self.options.form_type)
        self.calibration: Calibration = load_calibration()
        self.engine = engine or load_engine(self.options.ocr)

    @property
    def versions(self) -> dict[str, str]:
        """What produced a record: stamped on every one."""
        return {
            "formscan": __version__,
            "ocr": self.engine.version,
            "template": f"{self.template.form_type}@{self.template.version}",
            "calibration": self.calibration.version,
        }

    def read_file(self, scan: ScanFile) -> FileResult:
        """Read every page of one file and map its forms; a bad file gives `error`, not a raise."""
        result = FileResult(scan.name)
        pages: list[PageRead] = []
        try:
            for image in read_pages(scan, self.options.ingest):
                pages.append(self._read_page(image, result))
                result.pages += 1
        except IngestError as error:
            result.error = str(error)
            log.warning("%s", error)
            if not pages:
                return result
        started = time.perf_counter()
        forms = read_forms(self.template, scan.name, pages)
        for form in forms:
            for stage in FORM_STAGES:
                stage(self, form)
        result.forms = forms
        result.seconds["forms"] = time.perf_counter() - started
        return result

    def _read_page(self, image: object, result: FileResult) -> PageRead:
        state: dict[str, object] = {"image": image}
        for name, stage in PAGE_STAGES:
            started = time.perf_counter()
            state[name] = stage(self, state)
            spent = time.perf_counter() - started
            result.seconds[name] = result.seconds.get(name, 0.0) + spent
        page = state["ocr"]
        assert isinstance(page, PageRead)
        return page


def _prepare(reader: Reader, state: dict[str, object]) -> object:
    return prepare_page(state["image"], reader.options.prepare)  # type: ignore[arg-type]


def _grid(reader: Reader, state: dict[str, object]) -> object:
    return find_grid(state["prepare"], reader.options.grid)  # type: ignore[arg-type]


def _ocr(reader: Reader, state: dict[str, object]) -> object:
    prepared, grid = state["prepare"], state["grid"]
    cells = read_cells(prepared, grid, reader.engine) if grid is not None else []  # type: ignore[arg-type]
    above = read_above_table(prepared, grid, reader.engine)  # type: ignore[arg-type]
    return PageRead(prepared, grid, cells, above)  # type: ignore[arg-type]


PAGE_STAGES: list[tuple[str, Callable[[Reader, dict[str, object]], object]]] = [
    ("prepare", _prepare),
    ("grid", _grid),
    ("ocr", _ocr),
]
FORM_STAGES: list[Callable[[Reader, FormReading], None]] = [
    lambda reader, form: check_form(reader.template, form),
    lambda reader, form: score_form(form, reader.template.level1_of, reader.calibration),
]


_worker_reader: Reader | None = None


def _start_worker(options: RunOptions) -> None:
    global _worker_reader
    # One worker per core: OpenCV's own thread pool would only fight the other workers.
    cv2.setNumThreads(1)
    _worker_reader = Reader(options)


def _read_in_worker(scan: ScanFile) -> FileResult:
    assert _worker_reader is not None
    return _worker_reader.read_file(scan)


def run(
    paths: Sequence[Path], out: Path, options: RunOptions | None = None, workers: int = 1
) -> dict[str, object]:
    """Read every scan under `paths`, write `out/records.jsonl` and `out/summary.json`.

    With `workers` > 1, files are read in that many processes, each loading the models once.
    """
    started = time.perf_counter()
    options = options or RunOptions()
    reader = Reader(options)
    load_seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    scans = find_scans(paths)
    if workers > 1 and len(scans) > 1:
        context = multiprocessing.get_context("spawn")  # no forked copies of model runtimes
        with context.Pool(workers, initializer=_start_worker, initargs=(options,)) as pool:
            results = pool.map(_read_in_worker, scans, chunksize=1)
    else:
        results = [reader.read_file(scan) for scan in scans]
    forms = [form for r in results for form in r.forms]
    count = write_records(out / "records.jsonl", forms, reader.versions)
    fields = [reading for form in forms for _, reading in form.all_fields()]
    seconds: Counter[str] = Counter()
    for r in results:
        seconds.update(r.seconds)
    summary: dict[str, object] = {
        "files": len(results),
        "pages": sum(r.pages for r in results),
        "forms": count,
        "fields": len(fields),
        "review": sum(f.review for f in fields),
        "errors": {r.name: r.error for r in results if r.error},
        "seconds": {
            "load": round(load_seconds, 2),
            **{k: round(v, 2) for k, v in seconds.items()},
            "total": round(time.perf_counter() - started, 2),
        },
        "versions": reader.versions,
    }
    write_summary(out / "summary.json", summary)
    return summary
