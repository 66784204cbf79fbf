"""The store's ceiling: concurrent writers offer simulated page results at rising rates.

    .venv/bin/python scripts/store_load.py                      # its own PostgreSQL server
    .venv/bin/python scripts/store_load.py --no-images          # rows only, no page images
    .venv/bin/python scripts/store_load.py --db URL --rates 50 --seconds 2 --batches 1,16

Each step offers documents shaped like a real run's (`simulated_results.py`) at a rate in
pages per second, open loop: a document is ready when its last page would have been read,
whether or not the store kept up. `--writers` processes share the stream, each storing
with `Store.save_documents` in batches of up to `--batches` documents, flushing a smaller
batch once its oldest document has waited `FLUSH_S`. A share of the documents (`--resend`)
is sent again in a later batch, as a retried task would be; the store must keep one copy.

Per step it prints the pages per second offered and achieved (pages over the span of the
commits), the write time per batch and the latency of each document from ready to
committed (percentiles). A step that achieves under `SATURATED` of what it was offered is
saturated, and the rates above it are not offered. Each batch size ends with a flood:
`--flood-pages` pages all ready at once, written as fast as the writers can, whose pages
per second are that batch size's ceiling. Then the planning rate (`add_document`, one
transaction a document, as a run's plan writes), the store's size per page by table
(`pg_total_relation_size`, indexes and TOAST included) with a projection per million
pages, and a check that every document is stored exactly once. `--json FILE` keeps the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulated_results import PAGES_PER_FILE, PageShape, pages_of_file, simulated_file
from sqlalchemy import Engine, func, insert, select, text
from throwaway_postgres import throwaway_server

from pipeline.store import Store
from pipeline.store import schema as t
from pipeline.store.rows import FinishedDocument

FLUSH_S = 1.0  # a writer never holds a ready document longer than this to fill a batch
SATURATED = 0.9  # achieving less of the offered rate than this is falling behind
PLANNED_DOCUMENTS = 300  # documents timed through add_document for the planning rate
MEAN_PAGES = sum(PAGES_PER_FILE) / len(PAGES_PER_FILE)
VERSIONS = {"formscan": "load", "ocr": "simulated", "template": "simulated", "calibration": "-"}


@dataclass(frozen=True)
class Load:
    """How every step loads the store, but for its rate and batch size."""

    writers: int
    seconds: float  # each step's length
    flood_pages: int  # pages of the last step, all ready at its start
    shape: PageShape
    resend: float  # the share of documents sent a second time


@dataclass(frozen=True)
class Offer:
    """A document of a step: its content key, pages, the seed of its reading, when ready."""

    sha256: str
    pages: int
    seed: int
    ready_s: float  # after the step's start


@dataclass
class WriterFigures:
    """What one writer did in a step."""

    written: int = 0  # documents `save_documents` said it wrote
    resent: int = 0
    batches: list[float] = field(default_factory=list)  # seconds each save_documents took
    latencies: list[float] = field(default_factory=list)  # ready to committed, first sends
    commits_s: list[float] = field(default_factory=list)  # after the step's start
    cpu_s: float = 0.0  # this process's, while it wrote


@dataclass
class StepFigures:
    """One step: a batch size at an offered rate, or flooded (`offered_pages_s` None)."""

    batch: int
    offered_pages_s: float | None
    documents: int
    pages: int
    achieved_pages_s: float
    written: int
    resent: int
    batch_ms: dict[str, float]
    latency_ms: dict[str, float]
    saturated: bool
    writer_cpu_ms_per_page: float
    server_cpu_ms_per_page: float | None  # None: the server's processes are not to be seen
    wal_bytes_per_page: int


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


def _offers(run_id: str, pages: float, rate: float | None) -> list[Offer]:
    """Documents of `pages` in all, each ready after its last page at `rate`, or at once."""
    offers: list[Offer] = []
    read = 0
    while read < pages:
        n = len(offers)
        read += pages_of_file(n)
        key = hashlib.sha256(f"{run_id}/{n}".encode()).hexdigest()  # new on a reused store
        offers.append(Offer(key, pages_of_file(n), seed=n, ready_s=read / rate if rate else 0))
    return offers


def _plan(engine: Engine, run_id: str, offers: Sequence[Offer]) -> None:
    """Record a step's documents in one statement: setting up, not the load being measured."""
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(
            insert(t.documents),
            [
                {
                    "sha256": o.sha256,
                    "path": f"/load/{o.sha256}",
                    "name": o.sha256,
                    "size": o.pages,
                    "state": "new",
                    "first_run_id": run_id,
                    "updated_at": now,
                }
                for o in offers
            ],
        )


def _writer(
    url: str,
    run_id: str,
    offers: list[Offer],
    shape: PageShape,
    batch: int,
    resend: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Store `offers` as they become ready, in batches; put a `WriterFigures` on `results`."""
    store = Store.open(url)
    documents = {
        o.sha256: FinishedDocument(o.sha256, simulated_file(o.sha256, o.pages, shape, o.seed))
        for o in offers
    }
    rng = random.Random(f"{run_id}/{offers[0].sha256 if offers else ''}")
    figures = WriterFigures()
    ready.put(True)
    start = go.get()
    cpu = time.process_time()
    waiting: list[tuple[Offer, bool]] = []  # (offer, a resend) ready and not yet stored
    upcoming = list(offers)
    while upcoming or waiting:
        now = time.time() - start
        while upcoming and upcoming[0].ready_s <= now:
            waiting.append((upcoming.pop(0), False))
        oldest = min((o.ready_s for o, _ in waiting), default=now)
        if len(waiting) < batch and upcoming and now - oldest < FLUSH_S:
            time.sleep(max(0.0, min(upcoming[0].ready_s, oldest + FLUSH_S) - now))
            continue
        taken, waiting = waiting[:batch], waiting[batch:]
        began = time.time()
        figures.written += store.save_documents(
            run_id, VERSIONS, [documents[o.sha256] for o, _ in taken]
        )
        committed = time.time() - start
        figures.batches.append(time.time() - began)
        figures.commits_s.append(committed)
        for offer, again in taken:
            if not again:
                figures.latencies.append(committed - offer.ready_s)
                if rng.random() < resend:  # sent again later, as a retried task would be
                    figures.resent += 1
                    waiting.append((replace(offer, ready_s=committed), True))
    figures.cpu_s = time.process_time() - cpu
    store.close()
    results.put(figures)


def run_step(url: str, load: Load, rate: float | None, batch: int) -> StepFigures:
    """Offer `rate` pages/s (None: a flood) to `load.writers` processes storing in `batch`es."""
    store = Store.open(url)
    run_id = store.start_run(["/load"], {"rate": rate, "batch": batch, "writers": load.writers})
    # A flood gives each writer at least four full batches, so its tail is not the figure.
    flood = max(load.flood_pages, 4 * load.writers * batch * MEAN_PAGES)
    offers = _offers(run_id, rate * load.seconds if rate else flood, rate)
    _plan(store.engine, run_id, offers)
    wal, server_cpu = _wal_position(store.engine), _server_cpu_s(store.engine)
    store.engine.dispose()  # no pooled connection shared with the forked writers
    context = multiprocessing.get_context("fork")
    ready, go, results = context.Queue(), context.Queue(), context.Queue()
    processes = [
        context.Process(
            target=_writer,
            args=(url, run_id, offers[w :: load.writers], load.shape, batch, load.resend),
            kwargs={"ready": ready, "go": go, "results": results},
        )
        for w in range(load.writers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=600)  # each has built its documents' readings
    start = time.time() + 0.2
    for _ in processes:
        go.put(start)
    done: list[WriterFigures] = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    pages = sum(o.pages for o in offers)
    wal = _wal_position(store.engine) - wal
    server_after = _server_cpu_s(store.engine)
    store.close()
    commits = [c for f in done for c in f.commits_s]
    # Over the span of the commits, at least that of the offers: batching shifts the first
    # and the last commit alike, and a backlog stretches the span.
    span = max(max(commits) - min(commits), offers[-1].ready_s - offers[0].ready_s)
    if rate is None:  # flooded: from the start to the last commit
        span = max(commits)
    achieved = pages / span if span > 0 else float("inf")
    return StepFigures(
        batch=batch,
        offered_pages_s=rate,
        documents=len(offers),
        pages=pages,
        achieved_pages_s=round(achieved, 1),
        written=sum(f.written for f in done),
        resent=sum(f.resent for f in done),
        batch_ms=_percentiles([s for f in done for s in f.batches]),
        latency_ms=_percentiles([s for f in done for s in f.latencies]),
        saturated=rate is None or achieved < SATURATED * rate,
        writer_cpu_ms_per_page=round(1000 * sum(f.cpu_s for f in done) / pages, 2),
        server_cpu_ms_per_page=(
            round(1000 * (server_after - server_cpu) / pages, 2)
            if server_after is not None and server_cpu is not None
            else None
        ),
        wal_bytes_per_page=round(wal / pages),
    )


def _wal_position(engine: Engine) -> int:
    """Bytes of write-ahead log the server has written since it was made."""
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one())


def _server_cpu_s(engine: Engine) -> float | None:
    """CPU seconds the server has used, where it runs on this machine; None where not.

    The postmaster's own time with that of the backends it has reaped (a writer's backend
    ends with its connection), and the time of its processes still running.
    """
    try:
        with engine.connect() as c:
            data = c.execute(text("SHOW data_directory")).scalar_one()
        postmaster = int((Path(data) / "postmaster.pid").read_text().split()[0])
        total = sum(_cpu_ticks(postmaster)[:4])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent(entry) == postmaster:
                total += sum(_cpu_ticks(int(entry.name))[:2])
    except (OSError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int | Path) -> list[str]:
    path = pid / "stat" if isinstance(pid, Path) else Path(f"/proc/{pid}/stat")
    return path.read_text().rsplit(")", 1)[1].split()  # the fields after the command's name


def _parent(entry: Path) -> int | None:
    try:
        return int(_stat(entry)[1])
    except OSError:  # ended meanwhile
        return None


def _cpu_ticks(pid: int) -> list[int]:
    """utime, stime, cutime, cstime (`proc(5)`), in clock ticks; zeros for a process gone."""
    try:
        return [int(x) for x in _stat(pid)[11:15]]
    except OSError:
        return [0, 0, 0, 0]


def planning_rate(url: str) -> float:
    """Documents a second that one process records with `add_document`, as a run's plan does."""
    store = Store.open(url)
    run_id = store.start_run(["/plan"], {})
    began = time.perf_counter()
    for n in range(PLANNED_DOCUMENTS):
        store.add_document(f"plan{n:060x}", f"/plan/{n}", f"{n}", 1, run_id)
    rate = PLANNED_DOCUMENTS / (time.perf_counter() - began)
    with store.engine.begin() as c:  # they were never read: not part of the size per page
        c.execute(t.documents.delete().where(t.documents.c.first_run_id == run_id))
    store.close()
    return round(rate, 1)


def store_size(engine: Engine) -> dict[str, Any]:
    """Bytes each table takes (indexes and TOAST included), per page stored and per million."""
    with engine.connect() as c:
        pages = int(c.execute(select(func.count()).select_from(t.pages)).scalar() or 0)
        tables = {
            table.name: int(
                c.execute(text("SELECT pg_total_relation_size(:n)"), {"n": table.name}).scalar()
                or 0
            )
            for table in (t.documents, t.pages, t.forms, t.fields, t.review_tasks, t.corrections)
        }
    per_page = {name: round(size / max(1, pages)) for name, size in tables.items()}
    total = sum(per_page.values())
    return {
        "pages": pages,
        "bytes_per_page": per_page,
        "total_bytes_per_page": total,
        "gb_per_million_pages": round(total * 1e6 / 1e9, 1),
    }


def exactly_once(engine: Engine, steps: Sequence[StepFigures]) -> list[str]:
    """What is wrong with the documents stored: not stored, or stored more than once."""
    problems = []
    with engine.connect() as c:
        unread = c.execute(
            select(func.count())
            .select_from(t.documents)
            .where(t.documents.c.state != "done", t.documents.c.path.like("/load/%"))
        ).scalar()
        if unread:
            problems.append(f"{unread} documents were offered and never stored")
        twice = c.execute(
            select(t.forms.c.document_id)
            .group_by(t.forms.c.document_id, t.forms.c.seq)
            .having(func.count() > 1)
        ).all()
        if twice:
            problems.append(f"{len(twice)} forms were stored more than once")
    for step in steps:
        if step.written != step.documents:
            problems.append(
                f"batch {step.batch} at {step.offered_pages_s:g} pages/s: "
                f"{step.written} documents written of {step.documents}"
            )
    return problems


def _print_step(s: StepFigures) -> None:
    offered = f"{s.offered_pages_s:>6g}" if s.offered_pages_s else " flood"
    print(
        f"batch {s.batch:>3}  offered {offered} pages/s  achieved "
        f"{s.achieved_pages_s:>6.1f}  write ms p50 {s.batch_ms.get('p50', 0):>7.1f} "
        f"p99 {s.batch_ms.get('p99', 0):>7.1f}  ready→committed ms p50 "
        f"{s.latency_ms.get('p50', 0):>7.1f} p95 {s.latency_ms.get('p95', 0):>7.1f} "
        f"p99 {s.latency_ms.get('p99', 0):>7.1f}  cpu ms/page writers "
        f"{s.writer_cpu_ms_per_page:.1f} server {s.server_cpu_ms_per_page or float('nan'):.1f}"
        f"  WAL {s.wal_bytes_per_page / 1000:,.0f} kB/page"
        f"{'  SATURATED' if s.saturated and s.offered_pages_s else ''}",
        flush=True,
    )


def run_load(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every step, the planning rate, the size and the check; the figures as one object."""
    shape = PageShape(with_images=not args.no_images)
    load = Load(args.writers, args.seconds, args.flood_pages, shape, args.resend)
    Store.open(url).close()  # the schema, made once before the writers race to open it
    steps: list[StepFigures] = []
    saturates: dict[int, float | None] = {}
    for batch in args.batches:
        saturates[batch] = None
        for rate in args.rates:
            steps.append(run_step(url, load, rate, batch))
            _print_step(steps[-1])
            if steps[-1].saturated:
                saturates[batch] = rate
                break  # higher rates only pile up a longer queue
        steps.append(run_step(url, load, None, batch))
        _print_step(steps[-1])
    engine = Store.open(url).engine
    figures = {
        "writers": args.writers,
        "images": not args.no_images,
        "shape": asdict(shape),
        "steps": [asdict(s) for s in steps],
        "saturates_at_pages_s": saturates,
        "ceiling_pages_s": {s.batch: s.achieved_pages_s for s in steps if not s.offered_pages_s},
        "planning_documents_s": planning_rate(url),
        "size": store_size(engine) if engine.dialect.name == "postgresql" else None,
        "problems": exactly_once(engine, steps),
    }
    engine.dispose()
    return figures


def _numbers(kind: type) -> Any:
    return lambda s: [kind(x) for x in s.split(",") if x.strip()]  # '' for none


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load; print the figures; exit 1 when a document was not stored exactly once."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="a PostgreSQL URL; default: a throwaway server of its own")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batches", type=_numbers(int), default=[1, 16, 64])
    parser.add_argument(
        "--rates",
        type=_numbers(float),
        default=[10, 20, 50, 100, 200, 400, 800],
        help="pages/s offered, rising; '' for the floods alone",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="each step's length")
    parser.add_argument("--flood-pages", type=int, default=1000, help="the last step's pages")
    parser.add_argument("--resend", type=float, default=0.02, help="share of documents sent twice")
    parser.add_argument("--no-images", action="store_true", help="no page images, no crops")
    parser.add_argument("--fsync-off", action="store_true", help="its own server without fsync")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    if args.db:
        figures = run_load(args.db, args)
    else:
        with throwaway_server(fsync=not args.fsync_off) as url:
            figures = run_load(url, args)
    print(f"saturates at (offered pages/s by batch size): {figures['saturates_at_pages_s']}")
    print(f"ceiling (flooded, pages/s by batch size): {figures['ceiling_pages_s']}")
    print(f"planning: {figures['planning_documents_s']} documents/s, one transaction each")
    if figures["size"]:
        size = figures["size"]
        print(
            f"size: {size['total_bytes_per_page']:,} bytes a page over {size['pages']:,} pages "
            f"({size['gb_per_million_pages']} GB a million pages); by table "
            f"{size['bytes_per_page']}"
        )
    print("stored exactly once" if not figures["problems"] else "; ".join(figures["problems"]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
