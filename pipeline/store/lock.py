"""Locks that die with their holder: one batch run per store, one schema migration at a time.

SQLite: an exclusive `flock` on `DB.lock` beside the database file. PostgreSQL: a session
advisory lock on a connection held for the run. Both are released by the operating system or
the server when the process holding them ends, kill -9 included, so a crashed run never
leaves a store locked.

Opening a store migrates its schema, before any run lock is taken; two processes opening a
new store at once would both create its tables. The schema lock (`DB.schema-lock`, or a
transaction-scoped advisory lock) makes the second wait, then find the schema made.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from pipeline.store.errors import StoreError

# Any fixed 64-bit number: the advisory lock's name for "a formscan run holds this database".
_PG_LOCK_KEY = 0x666F726D7363616E
_PG_SCHEMA_LOCK_KEY = _PG_LOCK_KEY + 1  # "a process is migrating this database"
SCHEMA_LOCK_WAIT_S = 120  # a migration of the largest store takes seconds, not minutes


class StoreBusyError(RuntimeError):
    """Another run holds the store."""


@contextmanager
def run_lock(engine: Engine) -> Iterator[None]:
    """Hold the store's run lock for the `with` block.

    Raises:
        StoreBusyError: Another process holds it; the message says which, if known.

    """
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            yield  # a private in-memory store has no second user
            return
        with _file_lock(Path(database).with_name(Path(database).name + ".lock")):
            yield
    elif url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            if not got.scalar():
                raise StoreBusyError(
                    f"another formscan run is using the store {url.render_as_string()}; "
                    "wait for it to finish, then run again"
                )
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
    else:
        raise StoreBusyError(f"no run lock for {url.get_backend_name()} stores")


def lock_schema(connection: Connection) -> None:
    """Make other processes wait to migrate the schema until `connection`'s transaction ends.

    PostgreSQL's DDL is transactional, so the next one in sees the tables made. SQLite's is
    not (its driver commits DDL at once); its lock is `schema_file_lock`, taken around the
    whole migration.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK_KEY})


@contextmanager
def schema_file_lock(engine: Engine) -> Iterator[None]:
    """Hold a SQLite store's schema lock for the `with` block; nothing for other stores.

    Raises:
        StoreError: Another process held it for `SCHEMA_LOCK_WAIT_S`.

    """
    url = engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    path = Path(database).with_name(Path(database).name + ".schema-lock")
    with path.open("a+", encoding="utf-8") as handle:  # closing the file releases the lock
        deadline = time.monotonic() + SCHEMA_LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"another process has been migrating the store {database} for "
                        f"{SCHEMA_LOCK_WAIT_S} s; is it stuck?"
                    ) from None
                time.sleep(0.05)
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreBusyError(
                f"another formscan run is using the store {path.with_suffix('')} "
                f"({holder}); wait for it to finish, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock
