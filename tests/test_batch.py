"""The nightly batch with the real models: crash safety, no file read twice, quarantine,
corrections in every export, recycled workers, the run report."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from openpyxl import load_workbook
from PIL import Image

from pipeline.records import read_export
from pipeline.store import Store, store_url

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
FORMSCAN = Path(sys.executable).parent / "formscan"
SCANS = {  # three one-page scans, quick to read; the photo sends fields to review
    "a/clean-0019.jpg": SAMPLES / "clean" / "clean-0019.jpg",
    "b/light-0000.jpg": SAMPLES / "light" / "light-0000.jpg",
    "photo-0005.jpg": SAMPLES / "photo" / "photo-0005.jpg",
}
POLL_SECONDS = 0.05
pytestmark = pytest.mark.slow


def formscan(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FORMSCAN), *map(str, args)], capture_output=True, text=True, timeout=600
    )


def start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(FORMSCAN), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def query(out: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the store as another process would, while a run may be writing it."""
    database = out / "formscan.db"
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database, timeout=30) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the run has not made its tables yet
        return []


def wait_until(test: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_SECONDS)


def record_lines(out: Path) -> list[str]:
    return sorted((out / "records.jsonl").read_text(encoding="utf-8").splitlines())


def summary(out: Path) -> dict[str, object]:
    result: dict[str, object] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scans")
    for name, source in SCANS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / name)
    return folder


@pytest.fixture(scope="module")
def reference(scans: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run, each worker replaced after one document."""
    out = tmp_path_factory.mktemp("reference")
    done = formscan("run", scans, "--out", out, "--recycle-after", 1)
    assert done.returncode == 0, done.stderr
    assert "3 files read of 3 (3 new)" in done.stdout
    return out


def copy_of(out: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy


def test_recycled_workers_and_the_run_report(reference: Path) -> None:
    report_files = sorted((reference / "runs").iterdir())
    assert [p.suffix for p in report_files] == [".html", ".json"]
    report = json.loads(report_files[1].read_text(encoding="utf-8"))
    assert (report["state"], report["read"], report["pages"], report["forms"]) == ("done", 3, 3, 3)
    # Replaced after each document: three workers read one document each.
    assert sorted(w["documents"] for w in report["workers"].values()) == [1, 1, 1]
    assert {"prepare", "grid", "ocr", "store", "hash", "load"} <= set(report["seconds"])
    assert len(report["slowest"]) == 3 and report["slowest"][0]["seconds"] > 0
    page = report_files[0].read_text(encoding="utf-8")
    assert "Slowest pages" in page and "a/clean-0019.jpg" in page
    assert len(read_export(reference / "records.jsonl")) == 3
    assert query(reference, "SELECT state FROM runs") == [("done",)]


def test_a_run_with_nothing_new_reads_nothing_and_says_so(
    scans: Path, reference: Path, tmp_path: Path
) -> None:
    out = copy_of(reference, tmp_path)
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "nothing new to read: 3 files (3 known)" in done.stdout
    assert summary(out)["read"] == 0
    assert record_lines(out) == record_lines(reference)


@pytest.mark.parametrize("kill_after", [0, 1, 2], ids=["at-startup", "after-1st", "after-2nd"])
def test_kill_9_then_a_rerun_gives_exactly_the_uninterrupted_records(
    scans: Path, reference: Path, tmp_path: Path, kill_after: int
) -> None:
    out = tmp_path / "out"
    run = start("run", scans, "--out", out, "--workers", "1")  # one file at a time
    if kill_after == 0:
        wait_until(lambda: bool(query(out, "SELECT id FROM runs")), "the run to start")
    else:
        wait_until(
            lambda: (
                query(out, "SELECT count(*) FROM documents WHERE state = 'done'") >= [(kill_after,)]
            ),
            f"{kill_after} documents committed",
        )
    workers = _workers_of(run.pid)
    run.send_signal(signal.SIGKILL)
    run.wait()
    # Its workers see their parent gone and end too, instead of lingering.
    wait_until(lambda: not any(map(_alive, workers)), "its workers to end", 10)
    done = query(out, "SELECT count(*) FROM documents WHERE state = 'done'")[0][0]
    assert isinstance(done, int) and kill_after <= done < 3

    again = formscan("run", scans, "--out", out)
    assert again.returncode == 0, again.stderr
    assert summary(out)["read"] == 3 - done
    assert record_lines(out) == record_lines(reference)
    # Nothing read twice: one set of forms per document, the killed run marked as such.
    assert query(out, "SELECT count(*), count(DISTINCT document_id) FROM forms") == [(3, 3)]
    assert query(out, "SELECT state FROM runs ORDER BY started_at") == [
        ("interrupted",),
        ("done",),
    ]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be collected


def _workers_of(pid: int) -> list[int]:
    """A run's reading workers: its children started by spawn (not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return found


def _kill_the_first_files_worker(
    scans: Path, out: Path, *args: str
) -> tuple[subprocess.Popen[str], str, str]:
    """Run with one worker, kill it while it reads the first file; the run, its output."""
    run = start("run", scans, "--out", out, "--workers", "1", *args)
    wait_until(
        lambda: (
            query(out, "SELECT name FROM documents WHERE state = 'reading'")
            == [("a/clean-0019.jpg",)]
        ),
        "the first file handed to a worker",
    )
    [worker] = _workers_of(run.pid)
    os.kill(worker, signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=600)
    return run, stdout, stderr


def test_a_worker_killed_mid_file_quarantines_that_file_and_the_run_goes_on(
    scans: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run, stdout, stderr = _kill_the_first_files_worker(scans, out)
    assert run.returncode == 0, stderr
    assert "1 files not read" in stdout and "a/clean-0019.jpg" in stdout
    assert query(out, "SELECT name, state, reason FROM documents ORDER BY name") == [
        (
            "a/clean-0019.jpg",
            "failed",
            "the reading worker died (signal 9) while reading this file",
        ),
        ("b/light-0000.jpg", "done", None),
        ("photo-0005.jpg", "done", None),
    ]
    retried = formscan("run", scans, "--out", out, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert summary(out)["decisions"] == {"known": 2, "read: retry failed": 1}
    assert record_lines(out) == record_lines(reference)


def test_with_tries_a_file_whose_worker_was_killed_is_read_again_by_a_fresh_one(
    scans: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run, stdout, stderr = _kill_the_first_files_worker(scans, out, "--tries", "2")
    assert run.returncode == 0, stderr
    assert "read again after its reader died (1x): a/clean-0019.jpg" in stdout
    assert query(out, "SELECT state, count(*) FROM documents GROUP BY state") == [("done", 3)]
    [report] = (out / "runs").glob("*.json")
    retried = json.loads(report.read_text(encoding="utf-8"))["retried"]
    assert retried == {
        "a/clean-0019.jpg": ["the reading worker died (signal 9) while reading this file"]
    }
    assert record_lines(out) == record_lines(reference)


def _bad_inputs(folder: Path) -> dict[str, str]:
    """The bad inputs of the reading issue, each with a word its reason must hold."""
    from pypdf import PdfReader, PdfWriter
    from test_ingest import _png_claiming

    pdf = SAMPLES / "clean" / "clean-0002.pdf"
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "cut.pdf").write_bytes(pdf.read_bytes()[: pdf.stat().st_size // 3])
    writer = PdfWriter(clone_from=PdfReader(pdf))
    writer.encrypt(user_password="secret", owner_password="owner")
    with (folder / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    (folder / "notes.png").write_text("not a picture")
    (folder / "zip.pdf").write_bytes(b"PK\x03\x04 a zip file")
    (folder / "bomb.png").write_bytes(_png_claiming(60_000, 60_000))
    frames = [Image.new("L", (8, 8), 255)] * 501
    frames[0].save(folder / "long.tif", save_all=True, append_images=frames[1:])
    noise = SAMPLES / "heavy" / "heavy-0011.jpg"
    (folder / "cut.jpg").write_bytes(noise.read_bytes()[: noise.stat().st_size // 2])
    return {
        "empty.pdf": "empty file",
        "cut.pdf": "PDF",
        "locked.pdf": "password",
        "notes.png": "not an image",
        "zip.pdf": "not a PDF",
        "bomb.png": "bomb",
        "long.tif": "over the limit of 500",
        "cut.jpg": "damaged",
    }


def test_bad_inputs_land_in_quarantine_with_their_reason_and_the_rest_finish(
    tmp_path: Path,
) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    shutil.copy(SCANS["a/clean-0019.jpg"], scans / "good.jpg")
    bad = _bad_inputs(scans)
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    assert [r.source.file for r in read_export(out / "records.jsonl")] == ["good.jpg"]
    reasons = dict(query(out, "SELECT name, reason FROM documents WHERE state = 'failed'"))
    assert set(reasons) == set(bad)
    for name, word in bad.items():
        assert word in str(reasons[name]), (name, reasons[name])
    status = formscan("status", "--out", out)
    assert status.returncode == 0, status.stderr
    assert "documents: 1 done, 8 failed" in status.stdout
    assert all(f"  {name}: {reasons[name]}" in status.stdout for name in bad)

    again = formscan("run", scans, "--out", out)
    assert "nothing new to read: 9 files (1 known, 8 quarantined)" in again.stdout
    (scans / "notes.png").write_text("still not a picture")  # changed: read again
    again = formscan("run", scans, "--out", out)
    assert summary(out)["decisions"] == {"changed": 1, "known": 1, "quarantined": 7}
    again = formscan("run", scans, "--out", out, "--retry-failed")
    assert again.returncode == 0, again.stderr
    assert summary(out)["decisions"] == {"known": 1, "read: retry failed": 8}


def test_file_names_that_are_not_utf8_are_read_stored_and_shown_escaped(tmp_path: Path) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    shutil.copy(SCANS["a/clean-0019.jpg"], scans / "good.jpg")
    folder = os.fsencode(scans)
    shutil.copy(SCANS["b/light-0000.jpg"], os.fsdecode(folder + b"/scan\xff\xfe.jpg"))
    with open(folder + b"/zz\xff.jpg", "wb") as handle:  # the try-out's file: not a picture
        handle.write(b"x")
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    assert sorted(r.source.file for r in read_export(out / "records.jsonl")) == [
        "good.jpg",
        "scan\\xff\\xfe.jpg",
    ]
    assert query(out, "SELECT name, state FROM documents ORDER BY name") == [
        ("good.jpg", "done"),
        ("scan\\xff\\xfe.jpg", "done"),
        ("zz\\xff.jpg", "failed"),
    ]
    assert "zz\\xff.jpg: not an image" in formscan("status", "--out", out).stdout
    again = formscan("run", scans, "--out", out)
    assert again.returncode == 0, again.stderr
    assert "nothing new to read: 3 files (2 known, 1 quarantined)" in again.stdout


def test_every_file_name_has_its_own_text() -> None:
    from pipeline.ingest import path_text

    names = ["a.jpg", "a\\xff.jpg", "a\udcff.jpg", "a\\\\xff.jpg", "a\n.jpg", "a\\x0a.jpg"]
    names.append("表.pdf")
    texts = [path_text(name) for name in names]
    assert len(set(texts)) == len(names), texts
    for text in texts:
        text.encode("utf-8")  # no lone surrogate is left
        assert text.isprintable()
    assert texts[0] == "a.jpg" and texts[-1] == "表.pdf"  # plain names stay as they are


def test_a_run_uses_a_worker_for_each_core_it_may_use_unless_told(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(SCANS["a/clean-0019.jpg"], scans / name)
    (scans / "b.jpg").open("ab").write(b"another file")
    cores = len(os.sched_getaffinity(0))
    for out, pin in ((tmp_path / "all", None), (tmp_path / "one", "0")):
        command = [str(FORMSCAN), "run", str(scans), "--out", str(out)]
        done = subprocess.run(
            ["taskset", "-c", pin, *command] if pin else command, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        [report] = (out / "runs").glob("*.json")
        workers = json.loads(report.read_text(encoding="utf-8"))["workers_started"]
        assert workers == (1 if pin else min(cores, 2)), (pin, workers)


def test_every_path_named_like_a_scan_that_is_not_read_is_named(tmp_path: Path) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    shutil.copy(SCANS["a/clean-0019.jpg"], scans / "good.jpg")
    (scans / "folder.png").mkdir()  # a folder named like a scan
    (scans / "loop.pdf").symlink_to(scans / "loop.pdf")  # a link round in a loop
    (scans / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    for name in ("empty-1.pdf", "empty-2.pdf"):  # two empty files: the same (no) bytes
        (scans / name).write_bytes(b"")
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    errors = summary(out)["errors"]
    assert isinstance(errors, dict)
    for name in ("folder.png", "loop.pdf", "gone.jpg"):
        assert name in errors and "cannot be read" in errors[name], (name, errors)
    failed = dict(query(out, "SELECT name, reason FROM documents WHERE state = 'failed'"))
    assert set(failed) == {"empty-1.pdf", "empty-2.pdf"}
    assert all("empty file" in str(reason) for reason in failed.values())


def test_files_are_handed_out_biggest_first(tmp_path: Path) -> None:
    from pipeline.batch import biggest_first
    from pipeline.ingest import ScanFile

    sizes = {"a.pdf": 10, "b.pdf": 3000, "c.jpg": 200, "d.png": 200}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    tasks = [(key, ScanFile(tmp_path / name, name)) for key, name in enumerate([*sizes, "gone"])]
    order = [scan.name for _, scan in biggest_first(tasks)]
    assert order == ["b.pdf", "c.jpg", "d.png", "a.pdf", "gone"]


def test_a_renamed_or_copied_file_is_not_read_again_and_a_changed_one_is(tmp_path: Path) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    shutil.copy(SCANS["a/clean-0019.jpg"], scans / "first.jpg")
    assert formscan("run", scans, "--out", out).returncode == 0
    (scans / "first.jpg").rename(scans / "renamed.jpg")
    done = formscan("run", scans, "--out", out)
    assert "nothing new to read" in done.stdout
    assert summary(out)["decisions"] == {"renamed": 1}
    assert [r.source.file for r in read_export(out / "records.jsonl")] == ["renamed.jpg"]
    shutil.copy(scans / "renamed.jpg", scans / "copy.jpg")
    done = formscan("run", scans, "--out", out)
    assert "nothing new to read" in done.stdout
    assert summary(out)["decisions"] == {"copy": 1, "known": 1}
    assert [r.source.file for r in read_export(out / "records.jsonl")] == ["renamed.jpg"]

    project = read_export(out / "records.jsonl")[0].fields["project_name"].value
    (scans / "copy.jpg").unlink()
    shutil.copy(SCANS["b/light-0000.jpg"], scans / "renamed.jpg")  # new content, same name
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    assert summary(out)["decisions"] == {"changed": 1}
    [record] = read_export(out / "records.jsonl")
    assert record.source.file == "renamed.jpg"
    assert record.fields["project_name"].value != project
    assert query(out, "SELECT state FROM documents ORDER BY id") == [("superseded",), ("done",)]

    # In one night a file moves away and a new one takes its name: the moved file keeps
    # its records under its new name, the new file is read as new, nothing is superseded.
    (scans / "renamed.jpg").rename(scans / "z-moved.jpg")
    shutil.copy(SAMPLES / "heavy" / "heavy-0011.jpg", scans / "renamed.jpg")
    done = formscan("run", scans, "--out", out)
    assert done.returncode == 0, done.stderr
    assert summary(out)["decisions"] == {"new": 1, "renamed": 1}
    assert [r.source.file for r in read_export(out / "records.jsonl")] == [
        "renamed.jpg",
        "z-moved.jpg",
    ]
    assert read_export(out / "records.jsonl")[1].fields == record.fields


def test_a_file_of_the_size_and_time_last_seen_at_its_place_is_not_hashed_again(
    tmp_path: Path,
) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    shutil.copy(SCANS["a/clean-0019.jpg"], scans / "first.jpg")
    shutil.copy(SCANS["b/light-0000.jpg"], scans / "second.jpg")
    assert formscan("run", scans, "--out", out).returncode == 0
    assert summary(out)["hashed"] == 2

    assert formscan("run", scans, "--out", out).returncode == 0
    assert (summary(out)["hashed"], summary(out)["decisions"]) == (0, {"known": 2})

    # Touched: the same bytes at a new time are hashed once, found known, and the new time
    # kept for the next run's check.
    first = (scans / "first.jpg").stat()
    os.utime(scans / "first.jpg", ns=(first.st_atime_ns, first.st_mtime_ns + 10**9))
    assert formscan("run", scans, "--out", out).returncode == 0
    assert (summary(out)["hashed"], summary(out)["decisions"]) == (1, {"known": 2})
    assert formscan("run", scans, "--out", out).returncode == 0
    assert summary(out)["hashed"] == 0

    # Bytes changed under the size and time the store saw: only --rehash finds it.
    second = scans / "second.jpg"
    seen = second.stat()
    data = bytearray(second.read_bytes())
    data[-200:-100] = bytes(100)
    second.write_bytes(bytes(data))
    os.utime(second, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    assert formscan("run", scans, "--out", out).returncode == 0
    assert (summary(out)["hashed"], summary(out)["decisions"]) == (0, {"known": 2})
    assert formscan("run", scans, "--out", out, "--rehash").returncode in (0, 1)
    assert (summary(out)["hashed"], summary(out)["decisions"]) == (2, {"changed": 1, "known": 1})


def test_a_correction_shows_in_all_three_export_formats(reference: Path, tmp_path: Path) -> None:
    out = copy_of(reference, tmp_path)
    store = Store.open(store_url(out, None))
    task = next(t for t in store.review_queue() if t.row is None)  # a form row's field
    store.correct(task.field_id, "已核对的值", "reviewer-1")
    store.close()

    exported = formscan("export", "--out", out, "--format", "jsonl", "-o", tmp_path / "r.jsonl")
    assert exported.returncode == 0, exported.stderr
    [record] = [r for r in read_export(tmp_path / "r.jsonl") if r.source.file == task.file]
    field = record.fields[task.key]
    assert (field.value, field.confidence, field.review) == ("已核对的值", 1.0, False)
    assert field.reviewed_by == "reviewer-1" and (field.model_extra or {})["raw"] == task.raw

    assert formscan("export", "--out", out, "--format", "csv").returncode == 0
    table = (out / "records.approval.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(table.splitlines()))
    [row] = [r for r in rows if r["file"] == task.file and r["row"] == "form"]
    assert row[task.key] == "已核对的值"
    assert len(rows) == 3 + sum(len(r.indicators) for r in read_export(tmp_path / "r.jsonl"))

    assert formscan("export", "--out", out, "--format", "xlsx").returncode == 0
    sheet = list(load_workbook(out / "records.xlsx")["approval"].iter_rows(values_only=True))
    [line] = [r for r in sheet[1:] if r[0] == task.file]
    assert line[sheet[0].index(task.key)] == "已核对的值"


def test_review_tasks_are_the_review_and_audit_fields_each_with_its_region(
    reference: Path,
) -> None:
    records = read_export(reference / "records.jsonl")
    sent = [
        f
        for r in records
        for f in [*r.fields.values(), *(v for i in r.indicators for v in i.values())]
        if f.review
    ]
    store = Store.open(store_url(reference, None))
    queue = store.review_queue()
    audits = {a.id for a in store.audit_tasks()}  # straight-through fields drawn (issue 22)
    assert len([t for t in queue if t.id not in audits]) == len(sent) > 0
    assert summary(reference)["audit"] == len(audits)
    least: dict[int, float] = {}
    for task in queue:
        least.setdefault(task.form_id, task.confidence)
    forms = list(least)
    assert forms == sorted(forms, key=lambda f: least[f])  # least sure form first
    assert [t.form_id for t in queue] == sorted((t.form_id for t in queue), key=forms.index)
    for task in queue:
        crop = store.crop(task.id)
        assert crop is not None and crop.startswith(b"\x89PNG")
        image = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and min(image.shape[:2]) > 20
    store.close()


def test_reread_older_reads_again_what_older_versions_read_and_keeps_corrections(
    scans: Path, reference: Path, tmp_path: Path
) -> None:
    out = copy_of(reference, tmp_path)
    store = Store.open(store_url(out, None))
    task = next(t for t in store.review_queue() if t.row is None)
    store.correct(task.field_id, "人工值", "reviewer-2")
    store.close()
    with sqlite3.connect(out / "formscan.db") as db:
        db.execute(
            "UPDATE documents SET versions = json_set(versions, '$.calibration', 'fit-old') "
            "WHERE name = ?",
            (task.file,),
        )
    assert "nothing new" in formscan("run", scans, "--out", out).stdout
    done = formscan("run", scans, "--out", out, "--reread-older")
    assert done.returncode == 0, done.stderr
    assert summary(out)["decisions"] == {"known": 2, "read: older versions": 1}
    [record] = [r for r in read_export(out / "records.jsonl") if r.source.file == task.file]
    assert record.fields[task.key].value == "人工值"  # the person's value outlives a reread
    assert query(out, "SELECT current, count(*) FROM forms GROUP BY current") == [(0, 1), (1, 3)]


def test_a_second_run_on_a_busy_store_refuses_with_a_clear_message(
    scans: Path, reference: Path, tmp_path: Path
) -> None:
    out = copy_of(reference, tmp_path)
    store = Store.open(store_url(out, None))
    with store.lock():
        refused = formscan("run", scans, "--out", out)
    store.close()
    assert refused.returncode == 3
    assert "another formscan run is using the store" in refused.stderr
    assert "wait for it to finish" in refused.stderr
    assert len(query(out, "SELECT id FROM runs")) == 1


def test_bench_script_measures_a_small_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "bench_batch.py"),
            "--docs",
            "2",
            "--workers",
            "2",
            "--work",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["documents"] == 2 and result["pages"] >= 2
    assert result["pages_per_minute"] > 0
    assert all(w["first_rss_mb"] > 50 for w in result["workers"].values())
    assert "ocr" in result["stage_share"]


def test_planning_bench_hashes_nothing_known_and_everything_with_rehash() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_planning.py"), "--files", "30"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    hashed = [line.split("(")[1].split()[0] for line in done.stdout.splitlines()]
    assert hashed == ["30", "0", "30"]  # all new, all known, --rehash


def test_a_postgresql_store_works_as_the_sqlite_one(
    scans: Path, reference: Path, postgres_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = formscan("run", scans, "--out", out, "--db", postgres_store)
    assert done.returncode == 0, done.stderr
    assert not (out / "formscan.db").exists()
    assert record_lines(out) == record_lines(reference)
    again = formscan("run", scans, "--out", out, "--db", postgres_store)
    assert "nothing new to read: 3 files (3 known)" in again.stdout
    status = formscan("status", "--db", postgres_store)
    assert "documents: 3 done" in status.stdout
    exported = formscan("export", "--db", postgres_store, "-o", tmp_path / "r.jsonl")
    assert exported.returncode == 0, exported.stderr
    assert sorted((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == (
        record_lines(reference)
    )
