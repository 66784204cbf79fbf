"""A throwaway PostgreSQL server, started as `tests/conftest.py` starts the tests' one.

`initdb` into a temporary folder, listening only on a Unix socket there, stopped and removed
afterwards. Unlike the tests' server it keeps `fsync` on by default: a load test that
measures commits must pay for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

PORT = 54339  # on a socket in its own folder; not the tests' 54329, so both can run
DATABASE = "formscan_load"


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise SystemExit("no PostgreSQL server here: install the postgresql package")
    return found[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package makes a `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_server(
    port: int = PORT, fsync: bool = True, settings: tuple[str, ...] = ()
) -> Iterator[str]:
    """Start a server in a temporary folder; yields its URL with `{}` for the database.

    `settings` are more `-c NAME=VALUE` options for the server. The tests' server is this
    one on its own port, with `fsync` off.
    """
    bin_dir = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="formscan-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "formscan"]),
        check=True,
        capture_output=True,
    )
    options = " ".join(
        [
            f"-k {folder} -c listen_addresses='' -p {port}",
            f"-c fsync={'on' if fsync else 'off'}",
            *(f"-c {s}" for s in settings),
        ]
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://formscan@/{{}}?host={folder}&port={port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def throwaway_server(fsync: bool = True, settings: tuple[str, ...] = ()) -> Iterator[str]:
    """Start a server with an empty database; yields its SQLAlchemy URL.

    `settings` are more `-c NAME=VALUE` options for the server.
    """
    with running_server(PORT, fsync, settings) as server:
        engine = sqlalchemy.create_engine(server.format("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
        engine.dispose()
        yield server.format(DATABASE)
