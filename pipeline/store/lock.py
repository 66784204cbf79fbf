"""One batch run per store at a time, by a lock that dies with its holder.

SQLite: an exclusive `flock` on `DB.lock` beside the database file. PostgreSQL: a session
advisory lock on a connection held for the run. Both are released by the operating system or
the server when the process holding them ends, kill -9 included, so a crashed run never
leaves a store locked.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

# Any fixed 64-bit number: the advisory lock's name for "a formscan run holds this database".
_PG_LOCK_KEY = 0x666F726D7363616E


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
