"""The store without the models: migrations, field rows, the review queue, corrections, lock."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from openpyxl import load_workbook

from pipeline.export import stored_records
from pipeline.export_tables import write_csv, write_xlsx
from pipeline.readings import Evidence, FieldReading, FormReading
from pipeline.run import FileResult
from pipeline.store import Store, StoreBusyError, store_url
from pipeline.store.schema import metadata
from pipeline.store.store import open_engine, upgrade

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


def _store_with(tmp_path: Path, forms: dict[str, float]) -> Store:
    store = Store.open(store_url(tmp_path, None))
    run = store.start_run([str(tmp_path)], {})
    for n, (name, least) in enumerate(forms.items()):
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(name, pages=1, forms=[_form(name, least)], page_seconds=[1.0])
        store.save_reading(document, run, result, VERSIONS, {(0, "fields.funds_total"): b"png"})
    return store


def test_schema_at_head_is_the_tables_the_code_uses(tmp_path: Path) -> None:
    engine = open_engine(store_url(tmp_path, None))
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_a_store_made_by_the_previous_schema_migrates(tmp_path: Path) -> None:
    engine = open_engine(store_url(tmp_path, None))
    upgrade(engine, "0001")
    with engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO runs (id, started_at, state, roots, options) "
            "VALUES ('r1', '2026-11-01 00:00:00', 'done', '[]', '{}')"
        )
        c.exec_driver_sql(
            "INSERT INTO documents (id, sha256, path, name, size, state, first_run_id, "
            "updated_at) VALUES (1, 'abc', '/s/a.pdf', 'a.pdf', 5, 'done', 'r1', "
            "'2026-11-01 00:00:00')"
        )
        c.exec_driver_sql(
            "INSERT INTO forms (id, document_id, seq, form_type, pages, issues, versions, "
            "current, run_id) VALUES (1, 1, 0, 'budget_performance_approval', '[1]', '[]', "
            "'{}', 1, 'r1')"
        )
        c.exec_driver_sql(
            "INSERT INTO fields (id, form_id, ordinal, key, value, raw, confidence, review, "
            "evidence, review_state) VALUES (1, 1, 0, 'year', '2024', '2024', 0.4, 1, '{}', "
            "'pending')"
        )
        c.exec_driver_sql(
            "INSERT INTO review_tasks (id, field_id, form_id, confidence, state, run_id) "
            "VALUES (1, 1, 1, 0.4, 'open', 'r1')"
        )
    engine.dispose()
    database = tmp_path / "formscan.db"
    with sqlite3.connect(database) as old:
        assert old.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert "crop_png" not in {r[1] for r in old.execute("PRAGMA table_info(review_tasks)")}

    store = Store.open(store_url(tmp_path, None))
    [task] = store.review_queue()
    assert (task.file, task.key, task.value, task.has_crop) == ("a.pdf", "year", "2024", False)
    assert [s.form.fields["year"].value for s in store.current_forms()] == ["2024"]
    store.close()
    with sqlite3.connect(database) as new:
        assert new.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert "crop_png" in {r[1] for r in new.execute("PRAGMA table_info(review_tasks)")}
        indexes = {r[1] for r in new.execute("PRAGMA index_list(review_tasks)")}
        assert "ix_review_tasks_queue" in indexes
        assert new.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_forms_come_back_as_they_went_in(tmp_path: Path) -> None:
    store = _store_with(tmp_path, {"a.jpg": 0.3})
    [stored] = store.current_forms()
    assert stored.form == _form("a.jpg", 0.3)
    assert stored.versions == VERSIONS
    store.close()


def test_review_queue_puts_the_least_sure_form_first_and_keeps_a_form_together(
    tmp_path: Path,
) -> None:
    store = _store_with(tmp_path, {"a.jpg": 0.6, "b.jpg": 0.2, "c.jpg": 0.4})
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


def test_a_correction_sits_beside_the_ocr_value_and_every_export_uses_it(tmp_path: Path) -> None:
    store = _store_with(tmp_path, {"a.jpg": 0.3})
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

    write_csv(store, tmp_path / "r.csv")
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["row"] for r in rows] == ["form", "indicator"]
    # A value Excel would run as a formula is written as text.
    assert rows[0]["funds_total"] == "'=1+1" and rows[1]["value"] == "≥95%"
    write_xlsx(store, tmp_path / "r.xlsx")
    book = load_workbook(tmp_path / "r.xlsx")
    forms = list(book["forms"].iter_rows(values_only=True))
    head = forms[0]
    assert forms[1][head.index("funds_total")] == "=1+1"
    assert book["forms"].cell(2, head.index("funds_total") + 1).data_type == "s"
    indicators = list(book["indicators"].iter_rows(values_only=True))
    assert indicators[1][indicators[0].index("value")] == "≥95%"
    store.close()


def test_a_second_run_on_one_store_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    first, second = Store.open(store_url(tmp_path, None)), Store.open(store_url(tmp_path, None))
    with first.lock():
        with pytest.raises(StoreBusyError, match=r"another formscan run is using .*\(pid \d+"):
            with second.lock():
                pass
    with second.lock():  # released with the first
        pass
    first.close()
    second.close()
