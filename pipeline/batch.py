"""The nightly batch: find new and changed scans by content, read them, keep every result.

    hash every file not known by its size and time → plan against the store → take the
    lexicon's snapshot → read in the readers (`pipeline.pool`: worker processes, or Ray
    actors) → store what came in together in one transaction → export `records.jsonl` →
    write the run report

A document is its file's SHA-256: a renamed or copied file is not read again, a changed file
is. Killed at any moment, a run loses nothing (each document is committed whole, with its
state) and the next run reads again whatever was left unfinished. Only this process writes
the store, and only while it holds the store's run lock; the readers only hash and read.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.export import write_jsonl, write_summary
from pipeline.hashing import ContentKey
from pipeline.ingest import ScanFile, find_scans, path_text
from pipeline.lexicon import Lexicon
from pipeline.pool import Died, Done, PoolSettings, ReadingPool, Retried, start_pool
from pipeline.progress import Progress
from pipeline.report import RunReport, SlowPage, WorkerMemory, write_report
from pipeline.run import RunOptions, store_options
from pipeline.store import Store, store_url
from pipeline.store.rows import Document, FinishedDocument

log = logging.getLogger(__name__)

# Keys of a record's versions that change what is read; `formscan` alone does not. Nor does
# `lexicon`, which records say they were read with: it grows with every night's answers,
# and reading the whole archive again each time it did would be reading everything nightly.
# The fields it would change are those a person has not answered yet; an admin who wants
# the new known values applied to old documents says `--reread-older` after importing a list
# or refitting the calibration, whose version does count.
READING_VERSIONS = ("ocr", "template", "calibration")
PROGRESS_SECONDS = 5.0  # how often a run's counts in the store are brought up to date


class BatchOptions(BaseModel):
    """How a batch run goes about its work, beside how it reads (`RunOptions`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default=1,
        ge=0,
        description="Readers: worker processes (local) or actors (Ray); 0: one for each core "
        "this process may use (local) or each CPU of the cluster (Ray).",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where files are hashed and read: worker processes on this machine, or "
        "actors on a Ray cluster (`pipeline.pool`).",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster to join (`ray start --head` prints it); None: the "
        "RAY_ADDRESS environment variable, else a one-machine cluster started for the run.",
    )
    tries: int | None = Field(
        default=None,
        ge=1,
        description="Readers a file may kill before it is quarantined; None: the executor's "
        "own (local 1, Ray 3: an actor also dies with its node).",
    )
    recycle_after: int = Field(
        default=100,
        ge=0,
        description="A worker is replaced after this many documents (0: never), so a leak "
        "in a model runtime cannot grow without bound.",
    )
    retry_failed: bool = Field(default=False, description="Read quarantined files again.")
    rehash: bool = Field(
        default=False,
        description="Hash every file, also those at the place, of the size and the time the "
        "store last saw them there (content changed under an unchanged time).",
    )
    reread_older: bool = Field(
        default=False,
        description="Read again documents read by older model, template or calibration versions.",
    )
    db: str | None = Field(default=None, description="Store URL; default OUT/formscan.db.")

    def pool_settings(self) -> PoolSettings:
        """How the run's readers are started (`pipeline.pool.start_pool`)."""
        return PoolSettings(
            self.executor, self.workers, self.recycle_after, self.tries, self.ray_address
        )


@dataclass
class Plan:
    """What a run will read, and what it decided about every file it found."""

    to_read: list[tuple[int, ScanFile]] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    hash_errors: dict[str, str] = field(default_factory=dict)


# A file's size and modification time in nanoseconds, as `os.stat` gives them.
FileTime = tuple[int, int]


def file_times(scans: Sequence[ScanFile]) -> dict[str, FileTime]:
    """Each file's size and time by its place (`path_text` of its real path), where it has them."""
    times: dict[str, FileTime] = {}
    for scan in scans:
        try:
            stat = os.stat(scan.path)
        except OSError:
            continue  # hashing names why
        times[path_text(os.path.realpath(scan.path))] = (stat.st_size, stat.st_mtime_ns)
    return times


def content_keys(
    store: Store,
    pool: ReadingPool,
    scans: Sequence[ScanFile],
    times: Mapping[str, FileTime],
    rehash: bool = False,
) -> tuple[list[ContentKey], int]:
    """Each scan's content key, in order, and how many files were hashed for it.

    A file at the place, of the size and the time that the store last saw there has the
    content it had then (the quick check rsync makes): its key is the store's, and its bytes
    are not read. The others are hashed by the readers. Planning a night's million files,
    most of them known, is then a stat each, not a million files read through. With
    `rehash`, every file is hashed.
    """
    wheres = [path_text(os.path.realpath(scan.path)) for scan in scans]
    seen = {} if rehash else store.documents_at(where for where in wheres if where in times)
    keys: list[ContentKey | None] = []
    to_hash: list[int] = []
    for index, where in enumerate(wheres):
        known = seen.get(where)
        # An empty file is keyed by its place, not by its bytes: it is always hashed.
        unchanged = known is not None and (known.size, known.mtime_ns) == times.get(where)
        if known is not None and unchanged and known.size > 0:
            keys.append(ContentKey(where, known.sha256))
        else:
            keys.append(None)
            to_hash.append(index)
    hashed = pool.content_keys([scans[index].path for index in to_hash])
    for index, key in zip(to_hash, hashed, strict=True):
        keys[index] = key
    return [key for key in keys if key is not None], len(to_hash)  # all are, by now


def plan_run(
    store: Store,
    scans: Sequence[ScanFile],
    keys: Sequence[ContentKey],
    run_id: str,
    options: BatchOptions,
    versions: Mapping[str, str] | None,
    times: Mapping[str, FileTime] | None = None,
) -> Plan:
    """Decide, file by file, what to read; record new documents and new paths in the store.

    `keys` are the scans' places and content keys, in order (`content_keys`); `times` their
    sizes and times by place (`file_times`), kept with each document seen at its own place
    for the next run's quick check.
    """
    plan = Plan()
    times = times or {}
    stamps: dict[int, FileTime] = {}
    # The store knows a file by the text of its full path (`path_text`: a name that is not
    # UTF-8 is escaped, not refused).
    where = {scan: key.where for scan, key in zip(scans, keys, strict=True)}
    hashes: dict[str, str] = {}
    for scan, key in zip(scans, keys, strict=True):
        if key.sha256 is None:
            plan.hash_errors[scan.name] = f"{scan.name}: cannot be read ({key.error})"
        else:
            hashes[key.where] = key.sha256
    planned: set[int] = set()
    # Asked of the store in bulk, not file by file; a document this plan adds or changes is
    # asked again, fresh.
    stored = store.documents_by_hash(hashes.values())
    changed: set[str] = set()

    def document_by_hash(digest: str) -> Document | None:
        return store.document_by_hash(digest) if digest in changed else stored.get(digest)

    known_first = sorted(
        (scan for scan in scans if where[scan] in hashes),
        # Files the store knows go first: a rename must move its document off the old path
        # before a new file at that path is taken for a change of the old document.
        key=lambda scan: hashes[where[scan]] not in stored,
    )
    for scan in known_first:
        path = where[scan]
        digest = hashes[path]
        known = document_by_hash(digest)
        changed.add(digest)  # whatever follows may add or change its document
        if known is None:
            previous = store.current_document_at(path)
            size, mtime_ns = times.get(path, (scan.path.stat().st_size, None))
            document_id = store.add_document(
                digest,
                path,
                scan.name,
                size,
                run_id,
                replaces_id=previous.id if previous else None,
                mtime_ns=mtime_ns,
            )
            plan.decisions["changed" if previous else "new"] += 1
            plan.to_read.append((document_id, replace(scan, sha256=digest)))
            planned.add(document_id)
            continue
        if known.id in planned:
            plan.decisions["copy"] += 1  # two copies found in this run, both new
            continue
        moved = known.path != path
        if moved and hashes.get(known.path) == digest:
            # The original is still there: this is a copy, and the same document.
            plan.decisions["copy"] += 1
            log.info("%s is a copy of %s: not read again", scan.name, known.name)
            continue
        if moved or known.name != scan.name:  # renamed, or the run was given another folder
            store.update_document(known.id, path=path, name=scan.name)
        if path in times and times[path] != (known.size, known.mtime_ns):
            stamps[known.id] = times[path]
        reason = _why_read(known, options, versions)
        if moved and reason == "known":
            reason = "renamed"
            log.info("%s was %s: not read again", scan.name, known.name)
        plan.decisions[reason] += 1
        if reason.startswith("read"):
            if known.state == "superseded":
                previous = store.current_document_at(path)
                replaces = previous.id if previous and previous.id != known.id else None
                store.update_document(known.id, state="new", replaces_id=replaces)
            plan.to_read.append((known.id, replace(scan, sha256=digest)))
            planned.add(known.id)
    store.set_file_times(stamps)
    plan.to_read.sort(key=lambda task: task[1].name)  # read in the order files were found
    return plan


def _why_read(document: Document, options: BatchOptions, versions: Mapping[str, str] | None) -> str:
    """Why a known document is read again (`read: …`), or why not."""
    if document.state in ("new", "reading"):
        return "read: unfinished"
    if document.state == "superseded":
        return "read: content back at its path"
    if document.state == "failed":
        return "read: retry failed" if options.retry_failed else "quarantined"
    if versions is not None and options.reread_older:
        old = document.versions or {}
        if any(old.get(k) != versions.get(k) for k in READING_VERSIONS):
            return "read: older versions"
    return "known"


def run_batch(
    paths: Sequence[Path],
    out: Path,
    options: RunOptions | None = None,
    batch: BatchOptions | None = None,
    pool: ReadingPool | None = None,
) -> RunReport:
    """Read what is new under `paths` into the store; write `records.jsonl`, the report.

    `pool`, when given, is readers already started with `options` and `batch`'s reader
    settings (`pipeline.pool.start_pool`); it is closed with the run.

    Raises:
        StoreBusyError: Another run holds the store.
        StoreError: The store cannot be opened.
        WorkerStartError: The readers cannot load the models, or start at all.

    """
    started = time.perf_counter()
    options = store_options(options or RunOptions(), out)
    batch = batch or BatchOptions()
    out.mkdir(parents=True, exist_ok=True)
    # The readers load their models while the store opens (local workers: while the files
    # are hashed too; Ray actors hash once loaded); a run that finds nothing new has spent a
    # reader's start on nothing, and says so in the log.
    pool = pool or start_pool(options, batch.pool_settings())
    try:
        store = Store.open(store_url(out, batch.db))
        try:
            with store.lock():
                return _run_locked(store, pool, paths, out, options, batch, started)
        finally:
            store.close()
    finally:
        pool.close()


def run(
    paths: Sequence[Path], out: Path, options: RunOptions | None = None, workers: int = 1
) -> dict[str, object]:
    """Read what is new under `paths` into the store in `out`; return `out/summary.json`.

    `run_batch` with its defaults: files already in the store are not read again, and
    `out/records.jsonl` holds every form of the store.
    """
    return run_batch(paths, out, options, BatchOptions(workers=workers)).summary()


def _run_locked(
    store: Store,
    pool: ReadingPool,
    paths: Sequence[Path],
    out: Path,
    options: RunOptions,
    batch: BatchOptions,
    started: float,
) -> RunReport:
    run_id = store.start_run(
        [str(p.resolve()) for p in paths],
        {"read": options.model_dump(mode="json"), "batch": batch.model_dump(mode="json")},
    )
    report = RunReport(run_id=run_id, store=store.url)
    log.info("run %s on %s", run_id, store.url)
    try:
        # Once, under the run lock: every document of the run is read against the same
        # known values, whatever reviewers answer meanwhile.
        lexicon = Lexicon.from_entries(store.lexicon_entries())
        pool.use_lexicon(lexicon)
        log.info("lexicon: %s", lexicon.version)
        _read_new(store, pool, paths, batch, run_id, report)
        seconds = time.perf_counter()
        report.forms_in_store = write_jsonl(store, out / "records.jsonl")
        report.seconds["export"] = round(time.perf_counter() - seconds, 2)
        report.review_open = len(store.review_queue())
        report.state = "done"
    except KeyboardInterrupt:
        report.state = "interrupted"
        raise
    except BaseException:
        report.state = "failed"
        raise
    finally:
        report.seconds["total"] = round(time.perf_counter() - started, 2)
        report.finish()
        store.finish_run(run_id, report.state, report.counts(), report.versions or None)
        write_report(out / "runs", report)
        write_summary(out / "summary.json", report.summary())
    return report


def biggest_first(tasks: Sequence[tuple[int, ScanFile]]) -> list[tuple[int, ScanFile]]:
    """The files to read, biggest first, so that a run ends on small files.

    Handed out in name order, a long file that comes last keeps one worker reading while
    the others wait.
    """

    def size(task: tuple[int, ScanFile]) -> int:
        try:
            return task[1].path.stat().st_size
        except OSError:
            return 0  # gone since it was planned: its worker will say so

    return sorted(tasks, key=size, reverse=True)


def _read_new(
    store: Store,
    pool: ReadingPool,
    paths: Sequence[Path],
    batch: BatchOptions,
    run_id: str,
    report: RunReport,
) -> None:
    clock = time.perf_counter()
    scans = find_scans(paths)
    times = file_times(scans)
    keys, report.hashed = content_keys(store, pool, scans, times, batch.rehash)
    if batch.reread_older:
        report.versions = pool.versions()
    plan = plan_run(store, scans, keys, run_id, batch, report.versions or None, times)
    report.files = len(scans)
    report.decisions = dict(plan.decisions)
    report.errors.update(plan.hash_errors)
    report.seconds["hash"] = round(time.perf_counter() - clock, 2)
    if not plan.to_read:
        log.info(
            "nothing new: %d files, all known; the reading workers were not needed", len(scans)
        )
        return
    clock = time.perf_counter()
    report.versions = pool.versions()
    report.seconds["load"] = round(pool.load_seconds, 2)  # in the workers, beside hashing
    report.seconds["load_wait"] = round(time.perf_counter() - clock, 2)  # what was left to wait
    _read_and_store(store, pool, plan, run_id, report)
    report.workers_started = pool.started


def _read_and_store(
    store: Store, pool: ReadingPool, plan: Plan, run_id: str, report: RunReport
) -> None:
    progress = Progress(len(plan.to_read))
    names = {key: scan.name for key, scan in plan.to_read}
    hashes = {key: scan.sha256 for key, scan in plan.to_read}
    stages: Counter[str] = Counter()
    storing = 0.0
    shown = time.monotonic()

    def reading(key: int) -> None:
        store.update_document(key, state="reading")

    report.start_reading()
    for outcomes in pool.read(biggest_first(plan.to_read), on_start=reading):
        clock = time.perf_counter()
        done = [o for o in outcomes if isinstance(o, Done)]
        # What came in together is stored together: one transaction, however many readers,
        # and a document this run stored already is left as it is.
        store.save_documents(
            run_id,
            report.versions,
            [FinishedDocument(str(hashes[read.key]), read.result) for read in done],
        )
        storing += time.perf_counter() - clock
        for outcome in outcomes:
            if isinstance(outcome, Retried):
                log.warning("%s: %s; read again", outcome.scan.name, outcome.reason)
                report.retried.setdefault(outcome.scan.name, []).append(outcome.reason)
            elif isinstance(outcome, Died):
                store.update_document(outcome.key, state="failed", reason=outcome.reason)
                report.errors[outcome.scan.name] = f"{outcome.scan.name}: {outcome.reason}"
                progress.file_done(outcome.scan.name, 0, failed=True)
        for read in done:
            _count(report, read, stages)
            progress.file_done(
                names[read.key], read.result.pages, failed=read.result.error is not None
            )
        if time.monotonic() - shown > PROGRESS_SECONDS:
            # `formscan status` shows how far the run is, node by node, while it goes.
            store.record_progress(run_id, report.counts())
            shown = time.monotonic()
    report.seconds.update({k: round(v, 2) for k, v in stages.items()})
    report.seconds["store"] = round(storing, 2)


def _count(report: RunReport, outcome: Done, stages: Counter[str]) -> None:
    result = outcome.result
    stages.update(result.seconds)
    report.add_file(result, node=outcome.worker.node)
    report.slowest.extend(
        SlowPage(file=result.name, page=n, seconds=round(s, 2))
        for n, s in enumerate(result.page_seconds, start=1)
    )
    report.slowest = sorted(report.slowest, key=lambda p: -p.seconds)[:10]
    stats = outcome.worker
    memory = report.workers.setdefault(
        stats.name, WorkerMemory(first_rss_mb=round(stats.rss_mb, 1))
    )
    memory.documents = stats.documents
    memory.last_rss_mb = round(stats.rss_mb, 1)
    memory.peak_rss_mb = round(stats.peak_rss_mb, 1)
