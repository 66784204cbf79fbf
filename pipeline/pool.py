"""What a batch run asks of the processes that read its files, wherever they run.

Two executors give the same answers: local worker processes (`pipeline.workers`) and actors
on a Ray cluster (`pipeline.ray_pool`). A pool hashes files, reads them with the models each
of its readers loaded once, and hands every outcome back to the run's one process, which
alone writes the store. Ray is imported only when a run asks for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipeline.hashing import ContentKey
from pipeline.ingest import ScanFile
from pipeline.lexicon import Lexicon
from pipeline.pages import FileResult

if TYPE_CHECKING:
    from pipeline.run import RunOptions

# Each executor's module, and the extra to install where it is not there.
EXECUTORS = {"local": ("pipeline.workers", None), "ray": ("pipeline.ray_pool", "cluster")}


@dataclass(frozen=True)
class PoolSettings:
    """How a run's readers are started (`pipeline.batch.BatchOptions` says, for a batch)."""

    executor: str = "local"  # a key of EXECUTORS
    workers: int = 0  # 0: the executor's own count, of cores or of the cluster's CPUs
    recycle_after: int = 100
    tries: int | None = None  # None: the executor's own
    ray_address: str | None = None


class WorkerStartError(RuntimeError):
    """The readers cannot start: the models do not load, or the cluster cannot be reached."""


@dataclass(frozen=True)
class WorkerStats:
    """A reader's memory when it handed back a document, and where it runs, for the report."""

    pid: int
    documents: int
    rss_mb: float
    peak_rss_mb: float
    node: str = ""  # the host, and on a Ray cluster its node id

    @property
    def name(self) -> str:
        """The reader as the run report names it: pids repeat from host to host."""
        return f"{self.pid} on {self.node}" if self.node else str(self.pid)


@dataclass(frozen=True)
class Done:
    """A file read by a reader."""

    key: int
    result: FileResult
    worker: WorkerStats


@dataclass(frozen=True)
class Died:
    """A file whose reader ended while reading it, on every try: quarantined, the run goes on."""

    key: int
    scan: ScanFile
    reason: str


@dataclass(frozen=True)
class Retried:
    """A reader ended while reading this file; the file goes to another reader."""

    key: int
    scan: ScanFile
    reason: str


Outcome = Done | Died | Retried


def died_reason(how: str, tries: int) -> str:
    """Why a file is quarantined when its reader died: the same words for every executor."""
    reason = f"the reading worker died ({how}) while reading this file"
    return reason if tries == 1 else f"{reason}, on each of {tries} tries"


class ReadingPool(Protocol):
    """Readers that each load the models once, then hash and read files for one run."""

    started: int  # readers started, replacements included

    def use_lexicon(self, lexicon: Lexicon) -> None:
        """Read with `lexicon` from now on, in every reader and in any started later."""

    def versions(self) -> dict[str, str]:
        """The versions stamped on records, once a reader has loaded the models."""

    @property
    def load_seconds(self) -> float:
        """How long the slowest reader that is ready took to load."""

    def content_keys(self, paths: Sequence[Path]) -> list[ContentKey]:
        """Each file's place and content key (`pipeline.hashing.content_key`), in order."""

    def read(
        self,
        tasks: Iterable[tuple[int, ScanFile]],
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[list[Outcome]]:
        """Read every (key, file); yield the outcomes that came in together, until all are in.

        `on_start(key)` is called as a file is handed to a reader. Every key ends in exactly
        one `Done` or `Died`, never two, whatever readers die on the way.
        """

    def close(self) -> None:
        """Stop the readers."""


def start_pool(options: RunOptions, settings: PoolSettings) -> ReadingPool:
    """Start the readers of `settings.executor` (they load their models while the run plans).

    Raises:
        WorkerStartError: The executor's package is not installed, or it cannot start.

    """
    module_name, extra = EXECUTORS[settings.executor]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise WorkerStartError(
            f"the {settings.executor} executor needs an optional part of formscan: "
            f"pip install 'formscan[{extra}]' ({error})"
        ) from error
    start: Callable[[RunOptions, PoolSettings], ReadingPool] = module.start_pool
    return start(options, settings)
