"""`Store`: the one interface to what batch runs keep, over SQLite or PostgreSQL.

Opening a store brings its schema to the newest migration. Only the batch run's parent
process writes documents and readings, under the run lock: one transaction per document
(`save_reading`), or per batch of documents (`save_documents`, idempotent).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, bindparam, create_engine, event, func, select, update
from sqlalchemy.engine import make_url

from pipeline.pages import UNRECOGNISED
from pipeline.readings import field_path
from pipeline.store import schema as t
from pipeline.store.audits import AuditMethods
from pipeline.store.errors import StoreError
from pipeline.store.forms import stored_forms
from pipeline.store.lexicon import LexiconMethods
from pipeline.store.lock import lock_schema, run_lock, schema_file_lock
from pipeline.store.review import ReviewMethods
from pipeline.store.rows import Document, FinishedDocument, StoredForm
from pipeline.store.sessions import SessionMethods
from pipeline.store.users import UserMethods
from pipeline.store.writes import ToWrite, write_readings

if TYPE_CHECKING:
    from pipeline.pages import FileResult

DB_NAME = "formscan.db"
SQLITE_BUSY_MS = 30_000  # a reader waits this long for a writer's commit
FORMS_PER_QUERY = 500  # forms whose fields an export fetches at once: a few MB
HASHES_PER_QUERY = 1000  # content hashes a plan looks up at once: 64 kB of query text


def store_url(out: Path | None, db: str | None) -> str:
    """The store a command uses: `--db URL` if given, else `sqlite:///OUT/formscan.db`."""
    if db:
        return db
    if out is None:
        raise StoreError("name the store with --out DIR or --db URL")
    return f"sqlite:///{(out / DB_NAME).resolve()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _set_sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # The wait first: switching a new file to WAL needs a moment's lock another opener may hold.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    # WAL: readers (status, export, the review server) never block the run's commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema to `revision` with the migrations shipped in the package.

    One process at a time: another one opening the same new store waits, then finds it made.
    """
    config = Config()
    config.set_main_option("script_location", str(resources.files("pipeline.store") / "migrations"))
    with schema_file_lock(engine), engine.begin() as connection:
        lock_schema(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite's pragmas set on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


@dataclass
class Store(ReviewMethods, AuditMethods, LexiconMethods, UserMethods, SessionMethods):
    """Documents, their forms and fields, the review queue, corrections, runs and reviewers.

    The review queue's methods are in `review.py`, its audit tasks in `audits.py`, the
    lexicon of known values in `lexicon.py`, the reviewers' accounts in `users.py`, their
    sessions in `sessions.py`.
    """

    engine: Engine
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.engine.url.render_as_string()

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (or create) the store at `url` and migrate it to the newest schema.

        Raises:
            StoreError: The database cannot be reached or migrated.

        """
        try:
            engine = open_engine(url)
        except Exception as error:  # a bad URL, or its driver not installed
            raise StoreError(f"cannot open the store {url}: {error}") from error
        try:
            upgrade(engine)
        except Exception as error:
            engine.dispose()
            raise StoreError(f"cannot open the store {url}: {error}") from error
        return cls(engine)

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def lock(self) -> AbstractContextManager[None]:
        """The run lock: one batch run per store. Raises `StoreBusyError` when held."""
        return run_lock(self.engine)

    # Runs

    def start_run(self, roots: Sequence[str], options: Mapping[str, object]) -> str:
        """Record a run starting; runs left `running` by a killed process become `interrupted`.

        Call under the run lock, so no other run can still be going.
        """
        run_id = f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self.engine.begin() as c:
            c.execute(update(t.runs).where(t.runs.c.state == "running").values(state="interrupted"))
            c.execute(
                t.runs.insert().values(
                    id=run_id,
                    started_at=_now(),
                    state="running",
                    roots=list(roots),
                    options=dict(options),
                    pid=os.getpid(),
                    host=socket.gethostname(),
                )
            )
        return run_id

    def finish_run(
        self,
        run_id: str,
        state: str,
        counts: Mapping[str, object],
        versions: Mapping[str, str] | None,
    ) -> None:
        """Record how a run ended."""
        with self.engine.begin() as c:
            c.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(
                    state=state,
                    finished_at=_now(),
                    counts=dict(counts),
                    versions=dict(versions) if versions else None,
                )
            )

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(select(t.runs).order_by(t.runs.c.started_at)).mappings()
            return [dict(r) for r in rows]

    # Documents

    def document_by_hash(self, sha256: str) -> Document | None:
        """The document with this content, if the store has seen it."""
        with self.engine.connect() as c:
            row = c.execute(select(t.documents).where(t.documents.c.sha256 == sha256)).first()
        return Document.model_validate(row._mapping) if row else None

    def documents_by_hash(self, hashes: Iterable[str]) -> dict[str, Document]:
        """The documents of these contents that the store has seen, by hash.

        `HASHES_PER_QUERY` to a query: planning a night of a million files asks the store
        a thousand times, not a million.
        """
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, Document] = {}
        with self.engine.connect() as c:
            for start in range(0, len(wanted), HASHES_PER_QUERY):
                chunk = wanted[start : start + HASHES_PER_QUERY]
                rows = c.execute(select(t.documents).where(t.documents.c.sha256.in_(chunk)))
                for row in rows:
                    document = Document.model_validate(row._mapping)
                    found[document.sha256] = document
        return found

    def current_document_at(self, path: str) -> Document | None:
        """The document last seen at `path` and not yet replaced by newer content."""
        with self.engine.connect() as c:
            row = c.execute(
                select(t.documents)
                .where(t.documents.c.path == path, t.documents.c.state != "superseded")
                .order_by(t.documents.c.id.desc())
            ).first()
        return Document.model_validate(row._mapping) if row else None

    def documents_at(self, paths: Iterable[str]) -> dict[str, Document]:
        """The documents last seen at these places and not replaced since, by place.

        In bulk, `HASHES_PER_QUERY` places to a query, as `documents_by_hash`: the quick
        check of a night's files asks the store a thousand times for a million.
        """
        wanted = list(dict.fromkeys(paths))
        found: dict[str, Document] = {}
        with self.engine.connect() as c:
            for start in range(0, len(wanted), HASHES_PER_QUERY):
                chunk = wanted[start : start + HASHES_PER_QUERY]
                rows = c.execute(
                    select(t.documents)
                    .where(t.documents.c.path.in_(chunk), t.documents.c.state != "superseded")
                    .order_by(t.documents.c.id)
                )
                for row in rows:  # the newest last, as `current_document_at` picks it
                    document = Document.model_validate(row._mapping)
                    found[document.path] = document
        return found

    def set_file_times(self, times: Mapping[int, tuple[int, int]]) -> None:
        """Keep each document's file size and modification time (ns), in one transaction."""
        if not times:
            return
        with self.engine.begin() as c:
            c.execute(
                update(t.documents)
                .where(t.documents.c.id == bindparam("document_id"))
                .values(size=bindparam("new_size"), mtime_ns=bindparam("new_mtime_ns")),
                [
                    {"document_id": key, "new_size": size, "new_mtime_ns": mtime_ns}
                    for key, (size, mtime_ns) in times.items()
                ],
            )

    def documents(self, states: Sequence[str] | None = None) -> list[Document]:
        """Documents, by name, optionally only those in `states`."""
        query = select(t.documents).order_by(t.documents.c.name, t.documents.c.id)
        if states is not None:
            query = query.where(t.documents.c.state.in_(states))
        with self.engine.connect() as c:
            return [Document.model_validate(r._mapping) for r in c.execute(query)]

    def add_document(
        self,
        sha256: str,
        path: str,
        name: str,
        size: int,
        run_id: str,
        replaces_id: int | None = None,
        mtime_ns: int | None = None,
    ) -> int:
        """Record a document not seen before, to be read; returns its id."""
        with self.engine.begin() as c:
            result = c.execute(
                t.documents.insert().values(
                    sha256=sha256,
                    path=path,
                    name=name,
                    size=size,
                    mtime_ns=mtime_ns,
                    state="new",
                    replaces_id=replaces_id,
                    first_run_id=run_id,
                    updated_at=_now(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def update_document(self, document_id: int, **values: object) -> None:
        """Change a document's path, name or state."""
        with self.engine.begin() as c:
            c.execute(
                update(t.documents)
                .where(t.documents.c.id == document_id)
                .values(**values, updated_at=_now())
            )

    def record_progress(self, run_id: str, counts: Mapping[str, object]) -> None:
        """Bring a running run's counts up to date, for `formscan status` to show."""
        with self.engine.begin() as c:
            c.execute(update(t.runs).where(t.runs.c.id == run_id).values(counts=dict(counts)))

    def save_reading(
        self,
        document_id: int,
        run_id: str,
        result: FileResult,
        versions: Mapping[str, str],
        crops: Mapping[tuple[int, str], bytes],
    ) -> None:
        """Store what reading a document gave, in one transaction.

        The document's earlier forms stay, no longer current; a correction made on them is
        carried to the same field of the new reading, since a person's answer outranks any
        reading. A document with a file error is quarantined (`failed`) with its reason;
        the forms of any pages read before the error are kept all the same. A second
        reading of one document by one run is refused (the forms' key, `uq_forms_reading`);
        `save_documents` leaves it instead.
        """
        with self.engine.begin() as c:
            write_readings(c, run_id, versions, [ToWrite(document_id, result, crops)])

    def save_documents(
        self, run_id: str, versions: Mapping[str, str], documents: Sequence[FinishedDocument]
    ) -> int:
        """Store many documents' readings in one transaction; returns how many it wrote.

        Idempotent: a reading is known by its document's content key (SHA-256) and the run
        that read it. A document this run has stored already (in an earlier batch, in this
        batch retried after a crash or a lost connection, or twice in this one) is left as
        it is, so storing a batch again writes nothing, and a document never gets two sets
        of forms, fields or review tasks from one run. Otherwise each reading is stored as
        `save_reading` stores one, with its result's crops. Concurrent PostgreSQL writers
        may share documents: the second writer of one waits for the first's commit, then
        leaves it (a SQLite store has one writer, the run that holds its lock).

        Args:
            run_id: The run that read them (`start_run`).
            versions: What read them (the record's versions).
            documents: Each document's content key and reading; the store must know every
                key (the run's plan records them with `add_document`).

        Raises:
            StoreError: A content key the store does not know; nothing of the batch is stored.

        """
        keys = sorted({d.sha256 for d in documents})
        if not keys:
            return 0
        with self.engine.begin() as c:
            # Row locks taken in one order, so writers of overlapping batches never deadlock.
            known = {
                sha256: (document_id, read_by)
                for document_id, sha256, read_by in c.execute(
                    select(t.documents.c.id, t.documents.c.sha256, t.documents.c.read_run_id)
                    .where(t.documents.c.sha256.in_(keys))
                    .order_by(t.documents.c.sha256)
                    .with_for_update()
                )
            }
            unknown = [k for k in keys if k not in known]
            if unknown:
                raise StoreError(
                    f"{len(unknown)} documents to store are not in the store (first "
                    f"{unknown[0]}): record each with add_document before reading it"
                )
            to_write: dict[str, ToWrite] = {}
            for d in documents:
                document_id, read_by = known[d.sha256]
                if read_by != run_id and d.sha256 not in to_write:
                    to_write[d.sha256] = ToWrite(document_id, d.result, d.result.crops)
            write_readings(c, run_id, versions, list(to_write.values()))
        return len(to_write)

    # Forms

    def current_forms(self) -> Iterator[StoredForm]:
        """The current forms of every document that is not superseded, by file and order.

        Fields are fetched `FORMS_PER_QUERY` forms at a time, so exporting a large store
        never holds all its fields at once.
        """
        with self.engine.connect() as c:
            documents = {
                d.id: d
                for d in (
                    Document.model_validate(r._mapping)
                    for r in c.execute(
                        select(t.documents).where(t.documents.c.state != "superseded")
                    )
                )
            }
            forms = [
                dict(r)
                for r in c.execute(select(t.forms).where(t.forms.c.current.is_(True))).mappings()
                if r["document_id"] in documents
            ]
            forms.sort(key=lambda f: (documents[f["document_id"]].name, f["document_id"], f["seq"]))
            for start in range(0, len(forms), FORMS_PER_QUERY):
                chunk = forms[start : start + FORMS_PER_QUERY]
                yield from stored_forms(c, chunk, documents)

    def field_id(self, file: str, form_seq: int, path: str) -> int:
        """The id of a current form's field, by file name, form order and field path.

        Raises:
            StoreError: No such field.

        """
        for stored in self.current_forms():
            if stored.document.name == file and stored.seq == form_seq:
                with self.engine.connect() as c:
                    for r in c.execute(
                        select(t.fields).where(t.fields.c.form_id == stored.form_id)
                    ).mappings():
                        if field_path(r["key"], r["row"]) == path:
                            return int(r["id"])
        raise StoreError(f"no field {path} in form {form_seq} of {file}")

    # Counts

    def unrecognised_pages(self) -> list[tuple[str, int, str]]:
        """Pages of current documents read as no form, being of no known type: name, page, why."""
        query = (
            select(t.documents.c.name, t.pages.c.number, t.pages.c.error)
            .join(t.pages, t.pages.c.document_id == t.documents.c.id)
            .where(
                t.documents.c.state != "superseded",
                t.pages.c.error.like(f"{UNRECOGNISED}%"),
            )
            .order_by(t.documents.c.name, t.pages.c.number)
        )
        with self.engine.connect() as c:
            return [(str(n), int(p), str(e)) for n, p, e in c.execute(query)]

    def counts(self) -> dict[str, Any]:
        """What the store holds: documents by state, forms, fields, review tasks, runs."""
        with self.engine.connect() as c:
            by_state: dict[str, int] = dict(
                c.execute(
                    select(t.documents.c.state, func.count()).group_by(t.documents.c.state)
                ).all()
            )
            tasks: dict[str, int] = dict(
                c.execute(
                    select(t.review_tasks.c.state, func.count()).group_by(t.review_tasks.c.state)
                ).all()
            )
            forms = c.execute(
                select(func.count()).select_from(t.forms).where(t.forms.c.current.is_(True))
            ).scalar()
            corrections = c.execute(select(func.count()).select_from(t.corrections)).scalar()
            runs = c.execute(select(func.count()).select_from(t.runs)).scalar()
        return {
            "documents": {str(k): int(v) for k, v in by_state.items()},
            "forms": int(forms or 0),
            "review_tasks": {str(k): int(v) for k, v in tasks.items()},
            "corrections": int(corrections or 0),
            "runs": int(runs or 0),
        }
