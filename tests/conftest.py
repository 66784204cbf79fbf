"""Store URLs for the store tests: SQLite always, PostgreSQL where a server can be started.

The PostgreSQL server is a throwaway cluster: `initdb` into a temporary folder, listening
only on a Unix socket there, stopped and removed after the session. It is skipped, with the
reason, where the `postgresql` package or the `psycopg` driver is missing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PG_PORT = 54329  # on a socket in its own folder: no clash with a server already running


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package makes a `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session; yields its URL without a database name."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (.[postgres])")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL tests need the postgresql package (scripts/setup.sh)")
    folder = Path(tempfile.mkdtemp(prefix="formscan-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "formscan"]),
        check=True,
        capture_output=True,
    )
    options = f"-k {folder} -c listen_addresses='' -p {PG_PORT} -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(folder / "log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://formscan@/{{}}?host={folder}&port={PG_PORT}"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


_databases = itertools.count()


def new_database(server: str) -> str:
    """Make an empty database on the test server; returns its URL."""
    import sqlalchemy

    name = f"store{next(_databases)}"
    engine = sqlalchemy.create_engine(server.format("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server.format(name)


@pytest.fixture
def postgres_store(postgres_server: str) -> str:
    """A URL for an empty store on the test PostgreSQL server."""
    return new_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store: a SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'formscan.db'}"
    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes URLs for new empty stores, each a SQLite file or a database on the test server."""
    if request.param == "sqlite":
        files = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'store{next(files)}' / 'formscan.db'}"
    server = request.getfixturevalue("postgres_server")
    return lambda: new_database(server)
