"""The Ray executor on a real one-machine Ray cluster and the tests' PostgreSQL server.

One cluster for the module (2 CPUs, a small object store), started by `ray.init` in this
process: the runs made here through the library are jobs of this process, with the faults
of `tests/ray_faults.py` set up in their actors; a `formscan run --executor ray` started as a
process joins the cluster by its address as a job of its own, with no faults. Nothing of
Ray or of the database is mocked. Reading all 9 samples (25 pages) on 2 actors is the
largest run here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from ray_faults import FAULTS_ENV, KILLS_ITS_READER

from pipeline.batch import BatchOptions, run_batch

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
FORMSCAN = Path(sys.executable).parent / "formscan"
POLL_SECONDS = 0.05
pytestmark = pytest.mark.slow


def formscan(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FORMSCAN), *map(str, args)], capture_output=True, text=True, timeout=600
    )


def wait_until(test: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_SECONDS)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Read the store as another process would, while a run may be writing it."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]
    except sqlalchemy.exc.ProgrammingError:  # the run has not made its tables yet
        return []
    finally:
        engine.dispose()


def run_report(out: Path) -> dict[str, object]:
    [report] = sorted((out / "runs").glob("*.json"))[-1:]
    result: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
    return result


@dataclass(frozen=True)
class Cluster:
    address: str
    faults: Path  # where the actors of this process's job announce what they read


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    """A Ray cluster of this machine for the module, its actors set up with the faults."""
    ray = pytest.importorskip("ray", reason="the Ray executor's tests need .[cluster]")
    temp = Path(tempfile.mkdtemp(prefix="fs-ray-"))  # short: Ray's sockets live under it
    faults = temp / "faults"
    faults.mkdir()
    path = os.pathsep.join(p for p in (str(REPO / "tests"), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        logging_level=logging.WARNING,
        _temp_dir=str(temp),
        runtime_env={
            "worker_process_setup_hook": "ray_faults.install",
            "env_vars": {"PYTHONPATH": path, FAULTS_ENV: str(faults)},
        },
    )
    try:
        yield Cluster(ray.get_runtime_context().gcs_address, faults)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples read by the local executor into SQLite: the export to match."""
    out = tmp_path_factory.mktemp("local")
    done = formscan("run", SAMPLES, "--out", out, "--workers", 2)
    assert done.returncode == 0, done.stderr
    assert "9 files read of 9 (9 new), 25 pages" in done.stdout
    return out


def test_the_samples_read_on_ray_into_postgresql_export_as_read_locally_into_sqlite(
    ray_cluster: Cluster, local_reference: Path, postgres_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = formscan(
        "run", SAMPLES, "--out", out, "--db", postgres_store,
        "--executor", "ray", "--ray-address", ray_cluster.address, "--workers", 2,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (out / "formscan.db").exists()
    ray_export = (out / "records.jsonl").read_bytes()
    assert ray_export == (local_reference / "records.jsonl").read_bytes()

    # Progress by node: the report, what the run printed, and `formscan status`.
    report = run_report(out)
    nodes = report["nodes"]
    assert isinstance(nodes, dict) and len(nodes) == 1  # the one node of this cluster
    [(node, progress)] = nodes.items()
    assert (progress["files"], progress["pages"]) == (9, 25) and progress["pages_per_minute"] > 0
    assert f"node {node}: 9 files, 25 pages" in done.stdout
    assert len(report["workers"]) == 2 and all(node in w for w in report["workers"])
    status = formscan("status", "--db", postgres_store, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["runs"]["last_by_node"][node]["files"] == 9
    assert f"node {node}: 9 files, 25 pages" in formscan("status", "--db", postgres_store).stdout
    # The local executor's node is its host, with no Ray node id.
    assert list(run_report(local_reference)["nodes"]) == [node.split(" (")[0]]


def test_a_second_driver_is_refused_and_a_driver_killed_then_run_again_exports_the_same(
    ray_cluster: Cluster, local_reference: Path, postgres_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = ["run", SAMPLES, "--out", out, "--db", postgres_store]
    run += ["--executor", "ray", "--ray-address", ray_cluster.address]
    first = subprocess.Popen(
        [str(FORMSCAN), *map(str, run), "--workers", "1"],  # one actor: killed midway
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(
        lambda: query(postgres_store, "SELECT state FROM runs") == [("running",)],
        "the first driver to take the store",
    )
    second = formscan(*run, "--workers", 1)
    assert second.returncode == 3, second.stderr
    assert "another formscan run is using the store" in second.stderr
    assert query(postgres_store, "SELECT count(*) FROM runs") == [(1,)]

    wait_until(
        lambda: (
            query(postgres_store, "SELECT count(*) FROM documents WHERE state = 'done'") >= [(1,)]
        ),
        "a document stored",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stderr.close()  # type: ignore[union-attr]
    [(done,)] = query(postgres_store, "SELECT count(*) FROM documents WHERE state = 'done'")
    assert isinstance(done, int) and 1 <= done < 9

    again = formscan(*run, "--workers", 2)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["read"] == 9 - done
    assert (out / "records.jsonl").read_bytes() == (local_reference / "records.jsonl").read_bytes()
    # Nothing read twice: one current reading per form of each document.
    assert (
        query(
            postgres_store,
            "SELECT document_id, seq FROM forms WHERE current GROUP BY document_id, seq "
            "HAVING count(*) > 1",
        )
        == []
    )
    assert query(postgres_store, "SELECT state FROM runs ORDER BY started_at") == [
        ("interrupted",),
        ("done",),
    ]


def test_an_actor_killed_mid_file_is_replaced_and_a_file_that_kills_every_reader_is_quarantined(
    ray_cluster: Cluster, local_reference: Path, postgres_store: str, tmp_path: Path
) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    for name in ("clean/clean-0002.pdf", "light/light-0000.jpg"):
        (scans / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / name, scans / name)
    poison = scans / f"{KILLS_ITS_READER}.jpg"
    poison.write_bytes((SAMPLES / "light" / "light-0000.jpg").read_bytes() + b"other bytes")

    def reading(name: str) -> list[int]:
        """The actors that began to read `name` and read nothing after it."""
        found = ray_cluster.faults.glob("*.reading")
        return [int(p.stem) for p in found if p.read_text(encoding="utf-8") == name]

    killed: list[int] = []

    def kill_the_reader_of_the_pdf() -> bool:
        # From outside, as an operator or the kernel would: the actor reading the 2-page PDF.
        if not killed and (pids := reading("clean/clean-0002.pdf")):
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        return bool(killed)

    killer = threading.Thread(
        target=wait_until, args=(kill_the_reader_of_the_pdf, "the PDF handed to an actor")
    )
    killer.start()
    report = run_batch(
        [scans], out, batch=BatchOptions(executor="ray", workers=2, db=postgres_store)
    )
    killer.join()
    assert killed

    # The killed actor's file was read again by another and stored once; the poison was
    # tried three times, each on a fresh actor, then quarantined with the local wording.
    assert sorted(report.retried) == ["clean/clean-0002.pdf", f"{KILLS_ITS_READER}.jpg"]
    assert len(report.retried["clean/clean-0002.pdf"]) == 1
    assert len(report.retried[f"{KILLS_ITS_READER}.jpg"]) == 2
    assert [p for p in reading("clean/clean-0002.pdf") if p != killed[0]]  # another actor
    states = query(postgres_store, "SELECT name, state, reason FROM documents ORDER BY name")
    [(_, _, reason)] = [row for row in states if row[1] == "failed"]
    assert states[0][:2] == ("clean/clean-0002.pdf", "done")
    assert states[2][:2] == ("light/light-0000.jpg", "done")
    assert str(reason).startswith("the reading worker died (")
    assert str(reason).endswith(") while reading this file, on each of 3 tries")
    assert report.errors == {f"{KILLS_ITS_READER}.jpg": f"{KILLS_ITS_READER}.jpg: {reason}"}
    assert report.workers_started == 2 + 1 + 3
    reference = (local_reference / "records.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in reference if '"clean/clean-0002.pdf"' in line]
    kept += [line for line in reference if '"light/light-0000.jpg"' in line]
    assert (out / "records.jsonl").read_text(encoding="utf-8").splitlines() == kept


def test_without_ray_the_package_imports_runs_locally_and_says_what_to_install(
    tmp_path: Path,
) -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # as where Ray is not installed\n"
        "from pipeline.cli import main\n"
        "assert main(['run', sys.argv[1], '--out', sys.argv[2], '--workers', '1']) == 0\n"
        "assert main(['run', sys.argv[1], '--out', sys.argv[2], '--executor', 'ray']) == 1\n"
    )
    scan = SAMPLES / "clean" / "clean-0019.jpg"
    done = subprocess.run(
        [sys.executable, "-c", code, str(scan), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 files read of 1" in done.stdout
    assert (
        "the ray executor needs an optional part of formscan: pip install 'formscan[cluster]'"
        in (done.stderr)
    )
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pipeline.batch, pipeline.cli; print('ray' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip() == "False"  # a local run never loads Ray
