"""Store URLs for the store tests: SQLite always, PostgreSQL where a server can be started.

The PostgreSQL server is a throwaway cluster (`scripts/throwaway_postgres.py`): `initdb`
into a temporary folder, listening only on a Unix socket there, stopped and removed after the
session. It is skipped, with the
reason, where the `postgresql` package or the `psycopg` driver is missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from throwaway_postgres import running_server

PG_PORT = 54329  # on a socket in its own folder: no clash with a server already running


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session; yields its URL without a database name."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (.[postgres])")
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL tests need the postgresql package (scripts/setup.sh)")
    with running_server(PG_PORT, fsync=False) as server:
        yield server


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
