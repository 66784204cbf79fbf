"""Batched writes (`Store.save_documents`): many documents a transaction, each once a run.

On SQLite and on the test PostgreSQL server (conftest.py); a crash is a writer process
killed with SIGKILL inside its transaction, and concurrent writers are real processes.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pipeline.pages import FileResult, PageView
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading
from pipeline.store import Store, StoreError
from pipeline.store import schema as t
from pipeline.store.rows import FinishedDocument

VERSIONS = {"formscan": "0.1.0", "ocr": "o", "template": "t@1", "calibration": "c1"}
ROW_TABLES = (t.pages, t.forms, t.fields, t.review_tasks, t.corrections)
HOLD_S = 60  # how long the crashing writer sits inside its transaction, waiting to be killed


def _field(value: str, confidence: float) -> FieldReading:
    return FieldReading(
        value=value,
        raw=value,
        page=1,
        bbox=[1.0, 2.0, 3.0, 4.0],
        evidence=Evidence(rec_score=confidence),
        confidence=confidence,
        review=confidence < 0.9,
    )


def _reading(name: str) -> FileResult:
    """Two pages, two forms: sure and doubtful fields, an indicator row, an audit, crops."""
    forms = [
        FormReading(
            file=name,
            pages=[page],
            form_type="budget_performance_approval",
            fields={"project_name": _field(f"{name}项目", 0.99), "year": _field("2024", 0.4)},
            indicators=[{"level1": _field("产出指标", 0.98), "value": _field("≥90%", 0.5)}],
        )
        for page in (1, 2)
    ]
    view = PageView(b"jpeg", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], 10, 10)
    return FileResult(
        name,
        pages=2,
        forms=forms,
        page_seconds=[1.0, 1.5],
        page_views={1: view, 2: view},
        crops={(0, "fields.year"): b"png", (1, "indicators.0.value"): b"png"},
        audits={(1, "fields.project_name"): AuditDraw(stratum="approval:text", rate=0.1)},
    )


# What one `_reading` puts in each of ROW_TABLES: 2 review tasks a form, and the audit.
ONE_READING = {"pages": 2, "forms": 2, "fields": 8, "review_tasks": 5, "corrections": 0}


def _planned(url: str, names: list[str]) -> tuple[Store, str, dict[str, FinishedDocument]]:
    """A store with a run and `names` recorded as documents, and each one's reading."""
    store = Store.open(url)
    run = store.start_run(["/scans"], {})
    documents = {}
    for name in names:
        key = name.encode().hex().rjust(64, "0")
        store.add_document(key, f"/scans/{name}", name, 10, run)
        documents[name] = FinishedDocument(key, _reading(name))
    return store, run, documents


def _rows(store: Store) -> dict[str, int]:
    """Rows in each table a reading writes."""
    with store.engine.connect() as c:
        return {
            table.name: int(c.execute(select(func.count()).select_from(table)).scalar() or 0)
            for table in ROW_TABLES
        }


def _each(n: int) -> dict[str, int]:
    return {name: n * count for name, count in ONE_READING.items()}


def test_a_batch_stored_again_writes_nothing_and_a_copy_inside_it_counts_once(
    store_at: str,
) -> None:
    store, run, docs = _planned(store_at, ["a.pdf", "b.pdf", "c.pdf"])
    batch = [docs["a.pdf"], docs["b.pdf"], docs["a.pdf"], docs["c.pdf"]]
    assert store.save_documents(run, VERSIONS, batch) == 3
    assert _rows(store) == _each(3)
    assert store.save_documents(run, VERSIONS, batch) == 0
    assert store.save_documents(run, VERSIONS, [docs["c.pdf"], docs["b.pdf"]]) == 0
    assert _rows(store) == _each(3)
    assert {d.name: d.state for d in store.documents()} == dict.fromkeys(docs, "done")
    counts = store.counts()
    assert counts["forms"] == 6
    assert counts["review_tasks"] == {"open": 15}
    stored = {s.document.name: s.form for s in store.current_forms() if s.seq == 0}
    assert stored["b.pdf"] == docs["b.pdf"].result.forms[0]
    store.close()


def test_a_document_in_two_batches_of_one_run_is_stored_by_the_first(store_at: str) -> None:
    store, run, docs = _planned(store_at, ["a.pdf", "b.pdf", "c.pdf"])
    assert store.save_documents(run, VERSIONS, [docs["a.pdf"], docs["b.pdf"]]) == 2
    later = FinishedDocument(docs["b.pdf"].sha256, _reading("b-again.pdf"))
    assert store.save_documents(run, VERSIONS, [later, docs["c.pdf"]]) == 1
    assert _rows(store) == _each(3)
    files = {s.form.file for s in store.current_forms()}
    assert files == {"a.pdf", "b.pdf", "c.pdf"}  # b kept its first reading
    store.close()


def test_a_later_run_reads_again_and_each_document_keeps_its_own_corrections(
    store_at: str,
) -> None:
    store, run, docs = _planned(store_at, ["a.pdf", "b.pdf"])
    store.save_documents(run, VERSIONS, list(docs.values()))
    first_of_b = next(s for s in store.current_forms() if (s.document.name, s.seq) == ("b.pdf", 0))
    task = next(
        t for t in store.review_queue() if (t.form_id, t.key) == (first_of_b.form_id, "year")
    )
    store.correct(task.field_id, "2025", "lin")
    second = store.start_run(["/scans"], {})
    assert store.save_documents(second, VERSIONS, list(docs.values())) == 2
    assert store.counts()["forms"] == 4  # the first run's forms kept, no longer current
    years = {
        (s.document.name, s.seq): s.corrections.get("fields.year") for s in store.current_forms()
    }
    carried = years.pop(("b.pdf", 0))
    assert carried is not None and carried.new_value == "2025"
    assert set(years.values()) == {None}  # a's forms and b's other form: nothing carried
    assert _rows(store)["forms"] == 8 and _rows(store)["corrections"] == 2
    store.close()


def test_a_batch_naming_a_document_the_store_does_not_know_stores_nothing(store_at: str) -> None:
    store, run, docs = _planned(store_at, ["a.pdf"])
    stranger = FinishedDocument("f" * 64, _reading("stranger.pdf"))
    with pytest.raises(StoreError, match="not in the store"):
        store.save_documents(run, VERSIONS, [docs["a.pdf"], stranger])
    assert _rows(store) == _each(0)
    assert store.save_documents(run, VERSIONS, [docs["a.pdf"]]) == 1
    store.close()


def test_the_forms_key_refuses_a_second_reading_by_one_run(store_at: str) -> None:
    store, run, docs = _planned(store_at, ["a.pdf"])
    [document] = store.documents()
    result = docs["a.pdf"].result
    store.save_reading(document.id, run, result, VERSIONS, {})
    with pytest.raises(IntegrityError):
        store.save_reading(document.id, run, result, VERSIONS, {})
    assert _rows(store) == _each(1)
    store.close()


_CRASHING_WRITER = """
import pickle, sys, time
from pathlib import Path
from sqlalchemy import event
from pipeline.store import Store

url, run, batch, held = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
store = Store.open(url)

def hold(conn, cursor, statement, *args):
    if statement.startswith("INSERT INTO review_tasks"):  # pages, forms, fields written
        held.touch()
        time.sleep(float(sys.argv[5]))

event.listen(store.engine, "before_cursor_execute", hold)
store.save_documents(run, {}, pickle.loads(batch.read_bytes()))
"""


def test_a_batch_killed_inside_its_transaction_is_retried_whole_and_stored_once(
    store_at: str, tmp_path: Path
) -> None:
    store, run, docs = _planned(store_at, ["a.pdf", "b.pdf", "c.pdf"])
    assert store.save_documents(run, VERSIONS, [docs["a.pdf"]]) == 1  # committed before
    batch = tmp_path / "batch.pickle"
    batch.write_bytes(pickle.dumps(list(docs.values())))
    held = tmp_path / "held"
    writer = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WRITER, store_at, run, batch, held, str(HOLD_S)]
    )
    deadline = time.monotonic() + 60
    while not held.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held.exists(), "the writer never got inside its transaction"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert _rows(store) == _each(1)
    assert {d.name: d.state for d in store.documents()}["b.pdf"] == "new"
    assert store.save_documents(run, VERSIONS, list(docs.values())) == 2
    assert _rows(store) == _each(3)
    store.close()


def _save_when_all_are_ready(
    url: str, run: str, batch: list[FinishedDocument], start: Any, results: Any
) -> None:
    start.wait()
    try:
        store = Store.open(url)
        results.put(store.save_documents(run, VERSIONS, batch))
        store.close()
    except BaseException:  # what the writer died of, traceback and all
        results.put(traceback.format_exc())


def test_writers_racing_on_overlapping_batches_store_each_document_once(
    postgres_store: str,
) -> None:
    # PostgreSQL only: a SQLite store has one writer, the run that holds its lock.
    names = [f"{n}.pdf" for n in range(12)]
    store, run, docs = _planned(postgres_store, names)
    everything = list(docs.values())
    # Each writer takes every document, from its own starting point: all overlap everywhere.
    batches = [everything[k:] + everything[:k] for k in (0, 3, 6, 9)]
    context = multiprocessing.get_context("fork")  # children start at once, imports done
    start, results = context.Barrier(len(batches)), context.Queue()
    writers = [
        context.Process(
            target=_save_when_all_are_ready, args=(postgres_store, run, b, start, results)
        )
        for b in batches
    ]
    for writer in writers:
        writer.start()
    written = [results.get(timeout=120) for _ in writers]
    for writer in writers:
        writer.join(timeout=30)
    failures = [w for w in written if not isinstance(w, int)]
    assert failures == [], failures[0]
    assert sum(written) == len(names)
    assert _rows(store) == _each(len(names))
    store.close()
