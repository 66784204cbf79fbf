"""End to end with the real PP-OCR models: scans in, records out, scored against their truth."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from pipeline.batch import run
from pipeline.evaluate import evaluate, load_gold_set
from pipeline.ocr.base import OcrOptions
from pipeline.records import read_export, read_gold
from pipeline.run import RunOptions

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
FORMSCAN = Path(sys.executable).parent / "formscan"


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`formscan run samples` once for the module, as the README's main job runs it."""
    out = tmp_path_factory.mktemp("samples-run")
    done = subprocess.run(
        [str(FORMSCAN), "run", str(SAMPLES), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "18 forms" in done.stdout
    return out


@pytest.mark.slow
def test_samples_read_with_their_truth(samples_run: Path) -> None:
    records = read_export(samples_run / "records.jsonl")
    report = evaluate(load_gold_set(SAMPLES), records)
    assert report.counts.missing_forms == 0 and report.counts.extra_forms == 0
    # A PDF of a project's approval form and then its self-evaluation: each read as its type.
    pair = [r.form_type for r in records if r.source.file == "light/light-both-0002.pdf"]
    assert pair == ["budget_performance_approval", "performance_self_evaluation"]
    assert set(report.per_form_type) == set(pair)
    # The samples mix all four damage levels; issue 3's per-level bars are measured on a
    # held-out corpus (README), this only guards against a broken pipeline.
    assert report.field_accuracy >= 0.97
    assert report.silent_error_rate <= 0.02


@pytest.mark.slow
def test_seed_forms_clean_every_field_right(samples_run: Path) -> None:
    records = [
        r
        for r in read_export(samples_run / "records.jsonl")
        if r.source.file == "clean/seed-forms-clean.pdf"
    ]
    gold = read_gold(SAMPLES / "clean" / "seed-forms-clean.gold.jsonl")
    report = evaluate({"clean/seed-forms-clean": gold}, records)
    wrong = [(w.key, w.expected, w.got) for w in report.wrong_fields]
    assert report.field_accuracy == 1.0, wrong


@pytest.mark.slow
def test_records_carry_source_pages_boxes_and_versions(samples_run: Path) -> None:
    records = read_export(samples_run / "records.jsonl")
    by_file: dict[str, list[list[int]]] = {}
    for record in records:
        by_file.setdefault(record.source.file, []).append(record.source.pages)
        extra = record.model_extra or {}
        assert set(extra["versions"]) == {"formscan", "ocr", "template", "calibration", "lexicon"}
        assert "PP-OCRv6" in extra["versions"]["ocr"]
        assert extra["versions"]["lexicon"] == "empty"  # a new store has learnt nothing yet
        for field in record.fields.values():
            assert 0.0 <= field.confidence <= 1.0
    manifest = [json.loads(line) for line in (SAMPLES / "manifest.jsonl").read_text().splitlines()]
    for entry in manifest:
        pages = by_file[f"{entry['level']}/{entry['file']}"]
        assert len(pages) == entry["forms"]
        assert sorted(p for form in pages for p in form) == list(range(1, entry["pages"] + 1))
        if entry["kind"] == "continued":
            assert pages == [[1, 2]]
    summary = json.loads((samples_run / "summary.json").read_text())
    assert summary["forms"] == len(records) and summary["pages"] == sum(
        e["pages"] for e in manifest
    )
    project = next(r for r in records if r.source.file == "clean/clean-0019.jpg").fields[
        "project_name"
    ]
    assert project.page == 1 and project.bbox is not None
    x0, y0, x1, y1 = project.bbox
    assert 0 <= x0 < x1 and 0 <= y0 < y1


@pytest.mark.slow
def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(SAMPLES / "clean" / "clean-0019.jpg", scans / "good.jpg")
    (scans / "empty.pdf").write_bytes(b"")
    pdf = (SAMPLES / "clean" / "clean-0002.pdf").read_bytes()
    (scans / "cut.pdf").write_bytes(pdf[: len(pdf) // 3])
    (scans / "notes.png").write_text("not a picture")
    summary = run([scans], tmp_path / "out", RunOptions())
    errors = summary["errors"]
    assert isinstance(errors, dict)
    assert set(errors) == {"empty.pdf", "cut.pdf", "notes.png"}
    assert all(name in reason for name, reason in errors.items())
    records = read_export(tmp_path / "out" / "records.jsonl")
    assert [r.source.file for r in records] == ["good.jpg"]


def test_debug_pictures_show_each_page_as_prepare_and_grid_saw_it(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(SAMPLES / "heavy" / "heavy-0003.pdf", scans / "heavy-0003.pdf")
    debug = tmp_path / "debug"
    done = subprocess.run(
        [str(FORMSCAN), "run", str(scans), "--out", str(tmp_path / "out"), "--debug", str(debug)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    pages = len(read_export(tmp_path / "out" / "records.jsonl")[0].source.pages)
    names = sorted(p.name for p in debug.iterdir())
    assert names == sorted(
        f"heavy-0003.pdf-p{n}-{stage}.jpg"
        for n in range(1, pages + 1)
        for stage in ("grid", "prepare")
    )
    # The prepare picture is the scan as it came; the grid picture the page made upright.
    first = cv2.imread(str(debug / "heavy-0003.pdf-p1-prepare.jpg"))
    grid = cv2.imread(str(debug / "heavy-0003.pdf-p1-grid.jpg"))
    assert first is not None and grid is not None
    assert first.shape != grid.shape


@pytest.mark.slow
def test_paddle_engine_reads_a_clean_page(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(SAMPLES / "clean" / "clean-0019.jpg", scans / "clean-0019.jpg")
    shutil.copy(SAMPLES / "clean" / "clean-0019.gold.jsonl", scans / "clean-0019.gold.jsonl")
    run([scans], tmp_path / "out", RunOptions(ocr=OcrOptions(kind="paddle")))
    records = read_export(tmp_path / "out" / "records.jsonl")
    assert "PP-OCRv5" in (records[0].model_extra or {})["versions"]["ocr"]
    report = evaluate(load_gold_set(scans), records)
    assert report.counts.missing_forms == 0 and report.counts.extra_forms == 0
    # Measured 2026-11-27: PP-OCRv5 mobile drops characters (文, 目, 金) on our cell line
    # crops, 85% of this page's fields against 100% for the onnx engine, which is why onnx
    # is the default (README). This guards the engine's wiring, not its accuracy.
    assert report.field_accuracy >= 0.8


class _EngineThatFailsOnce:
    """A real engine whose second recognition call crashes: a fault that can't be caused on
    demand otherwise (a runtime error inside the model)."""

    def __init__(self, engine: object) -> None:
        self._engine = engine
        self.calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def recognize(self, crops: list[object]) -> object:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("onnxruntime: simulated kernel failure")
        return self._engine.recognize(crops)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_failing_page_is_recorded_and_the_file_goes_on() -> None:
    from pipeline.ingest import ScanFile
    from pipeline.ocr.registry import load_engine
    from pipeline.run import Reader

    engine = _EngineThatFailsOnce(load_engine(OcrOptions()))
    reader = Reader(RunOptions(), engine=engine)  # type: ignore[arg-type]
    pdf = SAMPLES / "clean" / "clean-0002.pdf"  # 3 forms on 5 pages
    result = reader.read_file(ScanFile(pdf, "clean-0002.pdf"))
    # The second recognition call is page 1's text above the table: page 1 is lost.
    assert result.page_errors == [
        "clean-0002.pdf, page 1: RuntimeError: onnxruntime: simulated kernel failure"
    ]
    assert result.pages == 5 and result.error is None
    assert sorted(p for form in result.forms for p in form.pages) == [2, 3, 4, 5]
    assert all(result.page_errors[0] in form.issues for form in result.forms)


@pytest.mark.slow
def test_cells_under_a_seal_are_read_both_ways() -> None:
    import numpy as np
    from synth.documents import make_document

    from pipeline.grid import find_grid
    from pipeline.ingest import PageImage, ScanFile
    from pipeline.ink import red_ink
    from pipeline.ocr.cells import read_cells
    from pipeline.ocr.registry import load_engine
    from pipeline.prepare import prepare_page

    sealed = next(
        (doc, page)
        for doc in (make_document(77, "heavy", i) for i in range(12))
        for page in doc.pages
        if float(np.mean(red_ink(page.image))) > 0.002
    )
    doc, page = sealed
    prepared = prepare_page(PageImage(ScanFile(None, doc.name), 1, page.image, float(page.dpi)))  # type: ignore[arg-type]
    grid = find_grid(prepared)
    assert grid is not None
    cells = read_cells(prepared, grid, load_engine(OcrOptions()))
    under_seal = [c for c in cells if c.seal]
    assert under_seal, "the seal lies over at least one cell"
    assert all(c.plain is not None for c in under_seal)
    assert all(c.plain is None for c in cells if not c.seal)


@pytest.mark.slow
def test_a_table_printed_without_its_right_line_loses_no_value_silently(tmp_path: Path) -> None:
    """The 指标值 column of a table with no right frame line is read, or all of it reviewed."""
    import numpy as np

    from pipeline.check import normalise_text
    from pipeline.ingest import ScanFile
    from pipeline.run import Reader

    def same(value: str, truth: str) -> bool:  # as the spec scores them
        return normalise_text(value) == normalise_text(truth)

    page = cv2.imread(str(SAMPLES / "clean" / "clean-0019.jpg"))
    ink = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) < 128
    long_lines = np.flatnonzero(ink.sum(axis=0) > 0.4 * ink.shape[0])
    right = int(long_lines.max())
    assert right > 0.8 * ink.shape[1], "the frame's right line is the rightmost long line"
    page[:, right - 4 : right + 5] = 255
    cv2.imwrite(str(tmp_path / "no-right-line.png"), page)

    result = Reader(RunOptions()).read_file(ScanFile(tmp_path / "no-right-line.png", "p.png"))
    [form] = result.forms
    [truth] = read_gold(SAMPLES / "clean" / "clean-0019.gold.jsonl")
    assert len(form.indicators) == len(truth.indicators)
    for row, gold in zip(form.indicators, truth.indicators, strict=True):
        value = row["value"]
        assert value.review or same(value.value, gold["value"]), (value.value, gold["value"])
    for key, gold_value in truth.fields.items():
        field = form.fields[key]
        assert field.review or same(field.value, gold_value), (key, field.value, gold_value)


@pytest.mark.slow
def test_a_second_reading_disagrees_with_a_misread_and_agrees_with_the_right_reading() -> None:
    from pipeline.check import check_form
    from pipeline.confidence import score_form
    from pipeline.ingest import IngestOptions, ScanFile, read_pages
    from pipeline.mapping.forms import read_forms
    from pipeline.run import Reader
    from pipeline.second_reading import SecondReader, same_text

    reader = Reader(RunOptions(review_below=0.5))  # the fields pass, whatever the fit
    scan = ScanFile(SAMPLES / "clean" / "clean-0019.jpg", "clean-0019.jpg")
    pages = [reader.read_page(image, {}) for image in read_pages(scan, IngestOptions())]
    template = reader.templates["budget_performance_approval"]
    [form], _ = read_forms([template], scan.name, pages)
    check_form(template, form)
    score_form(form, template, reader.calibrations[template.form_type])
    project, unit = form.fields["project_name"], form.fields["implementing_unit"]
    assert not project.review and not unit.review
    # The first reader's kind of slip: a character lost at the start of a cell.
    right = project.raw
    project.raw = project.value = right[1:]
    second = SecondReader()
    read = second.read_again([form], pages, below=1.01)  # every passing field read again
    assert read >= 10
    assert project.evidence.second_reading is not None
    assert same_text(project.evidence.second_reading, right)
    assert project.evidence.second_disagrees and not unit.evidence.second_disagrees
    score_form(form, template, reader.calibrations[template.form_type])
    assert project.review and project.confidence <= 0.5 and not unit.review


def test_two_readings_agree_when_they_differ_only_where_the_spec_does_not_look() -> None:
    from pipeline.second_reading import same_text

    assert same_text("≥90%", " ≥ 90％ ")  # full width, spaces
    assert same_text("≥90%", ">90%")  # a plain sign: check puts it right and records it
    assert same_text("免费开放资金", "免费开放资金。")  # a speck kept at the end by one cut
    assert not same_text("免费开放资金", "费开放资金")
    assert not same_text("≥90%", "≥98%")
    assert not same_text("群众满意度", "群众满度")


@pytest.mark.slow
def test_a_grid_that_begins_low_leaves_the_rows_above_it_to_detection() -> None:
    # Faded rulings: the grid found only the indicator table, and the form's header rows lay
    # above it as plain ink. The line search ran each row's label and value (and a seal over
    # them) into one block, the title went unread, and the page was taken for a continuation
    # of the form before it.
    import dataclasses

    from synth.documents import make_document

    from pipeline.grid import find_grid
    from pipeline.ingest import PageImage, ScanFile
    from pipeline.mapping.anchors import anchor_score, clean
    from pipeline.ocr.cells import ROWS_LOST_ABOVE_MM, read_above_table
    from pipeline.prepare import PAGE_WIDTH_MM, prepare_page
    from pipeline.run import Reader

    doc = make_document(77, "clean", 0)
    page = doc.pages[0]
    image = PageImage(ScanFile(None, doc.name), 1, page.image, float(page.dpi))  # type: ignore[arg-type]
    prepared = prepare_page(image)
    grid = find_grid(prepared)
    assert grid is not None
    mm = prepared.gray.shape[1] / PAGE_WIDTH_MM
    lost = next(i for i, y in enumerate(grid.ys) if y > (ROWS_LOST_ABOVE_MM + 10) * mm)
    lower = dataclasses.replace(grid, ys=grid.ys[lost:])
    reader = Reader(RunOptions())
    lines, boxes = read_above_table(prepared, lower, reader.engine)
    assert len(lines) == len(boxes)
    title = reader.templates["budget_performance_approval"].title
    assert any(anchor_score(line, title) >= 90 for line in lines), lines
    # Each label a line of its own, not run into its value.
    assert "项目名称" in {clean(line) for line in lines}, lines
    assert all(box[3] <= lower.frame[1] for box in boxes)
