"""The store without the models: migrations, field rows, the review queue, corrections, lock.

Each test runs on SQLite and on PostgreSQL (a throwaway server, see conftest.py).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from openpyxl import load_workbook
from sqlalchemy import inspect, text

from pipeline.export import stored_records
from pipeline.export_tables import XLSX_CELL_CHARS, write_csv, write_xlsx
from pipeline.pages import FileResult
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading
from pipeline.store import Store, StoreBusyError
from pipeline.store import schema as t
from pipeline.store.rows import ReviewTask
from pipeline.store.schema import metadata
from pipeline.store.store import open_engine, upgrade
from pipeline.store_figures import store_figures

HEAD = "0008"  # the newest migration
VERSIONS = {"formscan": "0.1.0", "ocr": "o", "template": "t@1", "calibration": "c1"}


def _field(value: str, confidence: float, review: bool) -> FieldReading:
    return FieldReading(
        value=value,
        raw=value + "~",
        page=1,
        bbox=[10.0, 20.0, 110.0, 60.0],
        evidence=Evidence(rec_score=confidence),
        confidence=confidence,
        review=review,
    )


def _form(file: str, least: float) -> FormReading:
    return FormReading(
        file=file,
        pages=[1],
        form_type="budget_performance_approval",
        fields={
            "project_name": _field("项目甲", 0.99, False),
            "funds_total": _field("=SUM(A1)", least, True),
            "overall_goal": _field("目标", least + 0.1, True),
        },
        indicators=[
            {"level1": _field("产出指标", 0.97, False), "value": _field("≥90%", 0.5, True)}
        ],
    )


def _store_with(url: str, forms: dict[str, float]) -> Store:
    store = Store.open(url)
    run = store.start_run(["/scans"], {})
    for n, (name, least) in enumerate(forms.items()):
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(name, pages=1, forms=[_form(name, least)], page_seconds=[1.0])
        store.save_reading(document, run, result, VERSIONS, {(0, "fields.funds_total"): b"png"})
    return store


def test_schema_at_head_is_the_tables_the_code_uses(store_at: str) -> None:
    engine = open_engine(store_at)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_a_store_made_by_the_previous_schema_migrates(store_at: str) -> None:
    engine = open_engine(store_at)
    upgrade(engine, "0001")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as c:
        # Only the columns revision 0001 had.
        c.execute(
            t.runs.insert().values(id="r1", started_at=when, state="done", roots=[], options={})
        )
        c.execute(
            t.documents.insert().values(
                id=1,
                sha256="abc",
                path="/s/a.pdf",
                name="a.pdf",
                size=5,
                state="done",
                first_run_id="r1",
                updated_at=when,
            )
        )
        c.execute(
            t.forms.insert().values(
                id=1,
                document_id=1,
                seq=0,
                form_type="budget_performance_approval",
                pages=[1],
                issues=[],
                versions={},
                current=True,
                run_id="r1",
            )
        )
        c.execute(
            t.fields.insert().values(
                id=1,
                form_id=1,
                ordinal=0,
                key="year",
                value="2024",
                raw="2024",
                confidence=0.4,
                review=True,
                evidence={},
                review_state="pending",
            )
        )
        c.execute(
            t.review_tasks.insert().values(
                id=1, field_id=1, form_id=1, confidence=0.4, state="open", run_id="r1"
            )
        )
    old = inspect(engine)
    assert "crop_png" not in {col["name"] for col in old.get_columns("review_tasks")}
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).all() == [("0001",)]
    engine.dispose()

    store = Store.open(store_at)
    [task] = store.review_queue()
    assert (task.file, task.key, task.value, task.has_crop) == ("a.pdf", "year", "2024", False)
    assert [s.form.fields["year"].value for s in store.current_forms()] == ["2024"]
    new = inspect(store.engine)
    assert "crop_png" in {col["name"] for col in new.get_columns("review_tasks")}
    assert "ix_review_tasks_queue" in {i["name"] for i in new.get_indexes("review_tasks")}
    assert {"claimed_by", "claimed_until", "closed_by", "closed_at"} <= {
        col["name"] for col in new.get_columns("review_tasks")
    }
    assert "image_jpeg" in {col["name"] for col in new.get_columns("pages")}
    assert "sessions" in new.get_table_names()
    assert "locked_until" in {col["name"] for col in new.get_columns("users")}
    assert {"audit", "audit_rate", "audit_stratum"} <= {
        col["name"] for col in new.get_columns("review_tasks")
    }
    assert store.audit_tasks() == []  # a task made before audits is no audit
    assert store.claim(task.id, "lin") and not store.claim(task.id, "wang")
    assert store.user("lin") is None
    with store.engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        if store.engine.dialect.name == "sqlite":
            assert c.execute(text("PRAGMA journal_mode")).all() == [("wal",)]
    store.close()


def test_forms_come_back_as_they_went_in(store_at: str) -> None:
    store = _store_with(store_at, {"a.jpg": 0.3})
    [stored] = store.current_forms()
    assert stored.form == _form("a.jpg", 0.3)
    assert stored.versions == VERSIONS
    store.close()


def test_review_queue_puts_the_least_sure_form_first_and_keeps_a_form_together(
    store_at: str,
) -> None:
    store = _store_with(store_at, {"a.jpg": 0.6, "b.jpg": 0.2, "c.jpg": 0.4})
    queue = store.review_queue()
    assert [(t.file, t.confidence) for t in queue] == [
        ("b.jpg", 0.2),
        ("b.jpg", pytest.approx(0.3)),
        ("b.jpg", 0.5),
        ("c.jpg", 0.4),
        ("c.jpg", 0.5),
        ("c.jpg", 0.5),
        ("a.jpg", 0.5),
        ("a.jpg", 0.6),
        ("a.jpg", 0.7),
    ]
    assert store.crop(queue[0].id) == b"png" and not queue[1].has_crop
    store.close()


AUDITS = {  # two straight-through fields of `_form` drawn for audit
    (0, "fields.project_name"): AuditDraw(stratum="budget_performance_approval:text", rate=0.25),
    (0, "indicators.0.level1"): AuditDraw(
        stratum="budget_performance_approval:indicators.level1", rate=0.25
    ),
}


def _store_with_audits(url: str, names: list[str]) -> Store:
    store = Store.open(url)
    run = store.start_run(["/scans"], {"read": {"audit_rate": 0.25}})
    for n, name in enumerate(names):
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(
            name, pages=1, forms=[_form(name, 0.3)], page_seconds=[1.0], audits=dict(AUDITS)
        )
        crops = {key: b"png" for key in [(0, "fields.funds_total"), *AUDITS]}
        store.save_reading(document, run, result, VERSIONS, crops)
    return store


def test_an_audit_task_is_queued_like_any_task_and_only_the_store_knows_it(
    store_at: str,
) -> None:
    store = _store_with_audits(store_at, ["a.jpg"])
    queue = store.review_queue()
    # The same ordering rule: the form's tasks together, least sure first.
    assert [(t.key, t.confidence) for t in queue] == [
        ("funds_total", 0.3),
        ("overall_goal", pytest.approx(0.4)),
        ("value", 0.5),
        ("level1", 0.97),
        ("project_name", 0.99),
    ]
    audit = {t.key: t for t in queue}
    assert all(store.crop(audit[key].id) == b"png" for key in ["project_name", "level1"])
    assert "audit" not in " ".join(ReviewTask.model_fields)  # nothing the pages could show
    # The export says what routing said: straight through.
    [(_, record)] = stored_records(store)
    assert record.fields["project_name"].review is False
    assert record.indicators[0]["level1"].review is False
    view = store.form_view(queue[0].form_id)
    assert view is not None
    states = {f.path: f.review_state for f in view.fields}
    assert states["fields.project_name"] == states["fields.funds_total"] == "pending"
    # The store knows which tasks are audits, drawn at what rate, in which stratum.
    tasks = {a.key: a for a in store.audit_tasks()}
    assert set(tasks) == {"project_name", "level1"}
    assert tasks["project_name"].rate == 0.25 and tasks["project_name"].state == "open"
    assert tasks["level1"].stratum == "budget_performance_approval:indicators.level1"

    # A reviewer changes one (a silent error found) and confirms the other.
    assert store.claim(audit["project_name"].id, "lin")
    store.correct(audit["project_name"].field_id, "项目乙", "lin")
    store.correct(audit["level1"].field_id, "产出指标", "lin")
    tasks = {a.key: a for a in store.audit_tasks()}
    assert (tasks["project_name"].state, tasks["project_name"].corrected) == ("done", "项目乙")
    assert tasks["level1"].corrected == "产出指标"
    [(_, record)] = stored_records(store)
    assert (record.fields["project_name"].value, record.fields["project_name"].review) == (
        "项目乙",
        False,
    )
    assert [t.key for t in store.review_queue()] == ["funds_total", "overall_goal", "value"]
    store.close()


def test_the_store_figures_count_audits_review_load_and_the_estimate(store_at: str) -> None:
    store = _store_with_audits(store_at, ["a.jpg", "b.jpg"])
    figures = store_figures(store)
    assert (figures.fields, figures.review) == (10, 6)
    assert figures.review_load == pytest.approx(0.6)
    assert (figures.audits.pending, figures.audits.answered) == (4, 0)
    assert figures.silent_error_estimate.rate is None
    tasks = {(t.file, t.key): t for t in store.review_queue()}
    store.correct(tasks[("a.jpg", "project_name")].field_id, "项目乙", "lin")  # wrong
    store.correct(tasks[("b.jpg", "project_name")].field_id, "项目甲", "lin")  # right
    store.mark_unreadable(tasks[("a.jpg", "level1")].field_id, "lin")
    figures = store_figures(store)
    audits = figures.audits
    assert (audits.answered, audits.errors, audits.pending, audits.unreadable) == (2, 1, 1, 1)
    found = figures.silent_error_estimate
    assert (found.audited, found.errors, found.fields, found.straight_through) == (2, 1, 10, 4)
    # Only the text stratum is answered: half its straight-through fields wrong, taken for all.
    assert found.straight_through_rate == pytest.approx(0.5)
    assert found.rate == pytest.approx(0.5 * 4 / 10)
    assert found.low is not None and found.high is not None and found.low < found.high
    assert figures.by_kind["text"].audited == 2
    assert figures.by_kind["indicators.level1"].audited == 0
    assert set(figures.by_form_type) == {"budget_performance_approval"}
    as_json = figures.model_dump(mode="json")
    assert {"rate", "low", "high", "audited"} <= set(as_json["silent_error_estimate"])
    store.close()


def test_status_prints_the_estimate_and_gives_it_as_json(tmp_path: Path) -> None:
    store = _store_with_audits(f"sqlite:///{tmp_path / 'formscan.db'}", ["a.jpg", "b.jpg"])
    tasks = {(t.file, t.key): t for t in store.review_queue()}
    store.correct(tasks[("a.jpg", "project_name")].field_id, "项目乙", "lin")
    store.correct(tasks[("b.jpg", "project_name")].field_id, "项目甲", "lin")
    store.close()
    formscan = Path(sys.executable).parent / "formscan"
    shown = subprocess.run(
        [formscan, "status", "--out", tmp_path], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "review load: 6 of 10 fields (60.00%) sent to review" in shown.stdout
    assert "audits: 2 answered (1 changed: silent errors found), 2 pending" in shown.stdout
    assert "silent error rate, estimated: 20.00% of fields read (95% " in shown.stdout
    assert "1 wrong of 2 audited" in shown.stdout and "Clopper-Pearson" in shown.stdout
    assert "    text: " in shown.stdout and "indicators.level1: no answered audit" in shown.stdout
    given = subprocess.run(
        [formscan, "status", "--out", tmp_path, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert given.returncode == 0, given.stderr
    figures = json.loads(given.stdout)
    found = figures["silent_error_estimate"]
    assert (found["rate"], found["audited"]) == (pytest.approx(0.2), 2)
    assert 0 < found["low"] < found["rate"] < found["high"] < 1
    assert figures["review_load"] == pytest.approx(0.6) and figures["audits"]["pending"] == 2
    assert figures["counts"]["forms"] == 2 and figures["by_kind"]["text"]["audited"] == 2


def test_a_correction_sits_beside_the_ocr_value_and_every_export_uses_it(
    store_at: str, tmp_path: Path
) -> None:
    store = _store_with(store_at, {"a.jpg": 0.3})
    field = store.field_id("a.jpg", 0, "fields.funds_total")
    store.correct(field, "=1+1", "lin")
    row = store.field_id("a.jpg", 0, "indicators.0.value")
    store.correct(row, "≥95%", "lin")
    [(_, record)] = stored_records(store)
    corrected = record.fields["funds_total"]
    assert (corrected.value, corrected.confidence, corrected.review) == ("=1+1", 1.0, False)
    assert corrected.reviewed_by == "lin" and (corrected.model_extra or {})["raw"] == "=SUM(A1)~"
    assert store.review_queue()[0].key == "overall_goal"
    assert store.counts()["corrections"] == 2

    assert write_csv(store, tmp_path / "r.csv") == {tmp_path / "r.approval.csv": 1}
    raw = (tmp_path / "r.approval.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["row"] for r in rows] == ["form", "indicator"]
    # A value Excel would run as a formula is written as text.
    assert rows[0]["funds_total"] == "'=1+1" and rows[1]["value"] == "≥95%"
    write_xlsx(store, tmp_path / "r.xlsx")
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["approval", "approval indicators"]
    forms = list(book["approval"].iter_rows(values_only=True))
    head = forms[0]
    assert forms[1][head.index("funds_total")] == "=1+1"
    assert book["approval"].cell(2, head.index("funds_total") + 1).data_type == "s"
    indicators = list(book["approval indicators"].iter_rows(values_only=True))
    assert indicators[1][indicators[0].index("value")] == "≥95%"
    store.close()


def test_a_second_run_on_one_store_is_refused_while_the_first_holds_it(store_at: str) -> None:
    first, second = Store.open(store_at), Store.open(store_at)
    with first.lock():
        with pytest.raises(StoreBusyError, match=r"another formscan run is using the store"):
            with second.lock():
                pass
    with second.lock():  # released with the first
        pass
    first.close()
    second.close()


def test_reviewers_racing_for_tasks_each_get_a_different_one(store_at: str) -> None:
    store = _store_with(store_at, {"a.jpg": 0.3, "b.jpg": 0.4, "c.jpg": 0.5})
    names = [f"reviewer-{n}" for n in range(6)]
    with ThreadPoolExecutor(len(names)) as pool:
        got = list(pool.map(lambda name: store.claim_next(name), names))
    ids = [task.id for task in got if task is not None]
    assert len(ids) == len(names) == len(set(ids))
    progress = store.progress(datetime(2000, 1, 1, tzinfo=UTC))
    assert (progress.open, progress.claimed, progress.done_today) == (9, 6, 0)
    again = store.claim_next("reviewer-0")  # one's own claim comes back
    assert again is not None and got[0] is not None and again.id == got[0].id

    first = got[0]
    assert first is not None
    store.correct(first.field_id, "改", "reviewer-0")
    store.mark_unreadable(got[1].field_id, "reviewer-1")  # type: ignore[union-attr]
    progress = store.progress(datetime(2000, 1, 1, tzinfo=UTC))
    assert progress.by_reviewer == {"reviewer-0": 1, "reviewer-1": 1} and progress.open == 7
    assert [task_id for task_id, *_ in store.closed_tasks()] == [got[1].id, first.id]  # type: ignore[union-attr]
    assert store.reopen(first.id) and not store.reopen(10_000)
    reopened = store.task(first.id)
    assert reopened is not None and (reopened.state, reopened.current) == ("open", "改")
    for name in names:
        store.release(name)
    assert ("value", "≥90%") in [(k, v) for k, v, _ in store.groups("nobody", min_size=1)]
    store.close()


def _open_and_run(url: str, start: Any, results: Any) -> None:
    """What `formscan run` does first: open the store (making its schema), then take the lock."""
    start.wait()
    try:
        store = Store.open(url)
        try:
            with store.lock():
                time.sleep(0.2)
            results.put("ran")
        except StoreBusyError:
            results.put("busy")
        store.close()
    except BaseException:  # what the run would have died of, traceback and all
        results.put(traceback.format_exc())


def test_runs_opening_a_new_store_at_the_same_instant_never_fail_making_its_schema(
    empty_stores: Callable[[], str],
) -> None:
    # Issue 23: the schema was made before the run lock was taken, so one of two runs
    # started at once died of `table alembic_version already exists` (exit 1, not 3).
    context = multiprocessing.get_context("fork")  # children start at once, imports done
    for _ in range(3):
        url = empty_stores()
        start, results = context.Barrier(4), context.Queue()
        children = [
            context.Process(target=_open_and_run, args=(url, start, results)) for _ in range(4)
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=30)
        failures = [o for o in outcomes if o not in ("ran", "busy")]
        assert failures == [], failures[0]
        assert "ran" in outcomes
        store = Store.open(url)
        with store.engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        store.close()


def test_xlsx_marks_and_counts_a_value_too_long_for_a_cell_and_csv_keeps_it_whole(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'formscan.db'}")
    run = store.start_run(["/scans"], {})
    form = _form("long.jpg", 0.3)
    long = "目" * (XLSX_CELL_CHARS + 5000)
    form.fields["overall_goal"] = _field(long, 0.3, True)
    document = store.add_document("0" * 64, "/scans/long.jpg", "long.jpg", 10, run)
    result = FileResult("long.jpg", pages=1, forms=[form], page_seconds=[1.0])
    store.save_reading(document, run, result, VERSIONS, {})

    written = write_xlsx(store, tmp_path / "r.xlsx")
    assert (written.forms, written.cut) == (1, 1)
    sheet = load_workbook(tmp_path / "r.xlsx")["approval"]
    head = [c.value for c in sheet[1]]
    cell = sheet.cell(2, head.index("overall_goal") + 1).value
    assert isinstance(cell, str) and len(cell) <= XLSX_CELL_CHARS and cell != long[: len(cell)]
    note = sheet.cell(2, head.index("notes") + 1).value
    assert "overall_goal" in note and f"{len(long):,}" in note

    write_csv(store, tmp_path / "r.csv")
    csv.field_size_limit(len(long) + 1)
    table = (tmp_path / "r.approval.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(table.splitlines()))
    assert rows[0]["overall_goal"] == long
    store.close()
