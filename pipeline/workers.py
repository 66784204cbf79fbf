"""The local executor: worker processes that read files, each loading the models once.

A worker is replaced after a set number of documents, and a worker that dies is blamed on
the one file it was reading: the file goes to another worker while it has tries left, else
it is quarantined.

Workers only read; they send each `FileResult` back to the parent, which alone writes the
store. A worker whose parent is gone (kill -9) ends itself instead of lingering.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import resource
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.hashing import ContentKey, key_files
from pipeline.ingest import ScanFile
from pipeline.lexicon import Lexicon
from pipeline.pool import (
    Died,
    Done,
    Outcome,
    PoolSettings,
    Retried,
    WorkerStartError,
    WorkerStats,
    died_reason,
)

if TYPE_CHECKING:
    from pipeline.run import RunOptions

__all__ = ["Died", "Done", "ReaderPool", "WorkerStartError", "WorkerStats", "start_pool"]

PARENT_CHECK_SECONDS = 1.0
# One try: on one machine a worker that dies is the file's doing (or the machine's memory
# running out) far more often than anything a second try would escape.
LOCAL_TRIES = 1


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Lost:
    """A worker that ended while reading a file: how, before the tries left are counted."""

    key: int
    scan: ScanFile
    how: str


@dataclass
class _Slot:
    process: BaseProcess
    connection: Connection
    ready: bool = False
    task: tuple[int, ScanFile] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    load_seconds: float = 0.0


def rss_mb() -> tuple[float, float]:
    """Resident memory now and at peak, in MB, from /proc (Linux) and getrusage."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, peak
    except OSError:
        return peak, peak


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(3)


def heap_trimmer() -> Callable[[], None]:
    """A call that gives the worker's freed heap back to the system (glibc), else does nothing.

    A page's arrays are freed when the file is done, but glibc keeps the heap they were in;
    trimmed after each file, the worker's resident memory stays at one file's worth. The
    arrays stay on the heap, not each mapped on its own: mapping (and zeroing) fresh memory
    for every page-sized array and model activation made reading a page 28% slower.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None

    def trim_heap() -> None:
        trim(0)

    return trim_heap


def _worker_main(
    connection: Connection,
    options: Any,
    recycle_after: int,
    parent: int,
    lexicon: Lexicon | None,
) -> None:
    """A worker's life: load the models, read files until told to stop or retired.

    Besides files, the parent may send the run's lexicon (`pipeline.lexicon.Lexicon`), before
    any file; `lexicon` is the one a worker started in the middle of a run reads with.
    """
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    trim_heap = heap_trimmer()
    import cv2

    from pipeline.run import Reader

    # One worker per core: OpenCV's own thread pool would only fight the other workers.
    cv2.setNumThreads(1)
    reader = Reader(options)
    if lexicon is not None:
        reader.lexicon = lexicon
    connection.send(("ready", reader.versions))
    done = 0
    while True:
        task = connection.recv()
        if task is None:
            return
        if isinstance(task, Lexicon):
            reader.lexicon = task
            continue
        key, scan = task
        result = reader.read_file(scan)
        trim_heap()
        done += 1
        rss, peak = rss_mb()
        retire = recycle_after > 0 and done >= recycle_after
        stats = WorkerStats(os.getpid(), done, rss, peak, socket.gethostname())
        connection.send(("done", key, result, stats, retire))
        if retire:
            return


def start_pool(options: RunOptions, settings: PoolSettings) -> ReaderPool:
    """The local executor's readers for a run (`pipeline.pool.start_pool`)."""
    workers = settings.workers or usable_cores()
    return ReaderPool(options, workers, settings.recycle_after, settings.tries or LOCAL_TRIES)


class ReaderPool:
    """N reading processes; `read` hands them files and yields what each gave."""

    def __init__(
        self, options: Any, workers: int, recycle_after: int, tries: int = LOCAL_TRIES
    ) -> None:
        """Start `workers` processes, each loading the models (spawned, never forked)."""
        self._context = multiprocessing.get_context("spawn")  # no forked model runtimes
        self._options = options
        self._recycle_after = recycle_after
        self._tries = tries
        self._lexicon: Lexicon | None = None
        self._slots = [self._start() for _ in range(workers)]
        self.started = len(self._slots)

    def _start(self) -> _Slot:
        mine, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, self._options, self._recycle_after, os.getpid(), self._lexicon),
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Slot(process, mine)

    def use_lexicon(self, lexicon: Lexicon) -> None:
        """Have every worker read with `lexicon` from now on.

        Sent ahead of any file, so a run reads all its documents with the one snapshot; a
        worker started later (recycled, or replacing one that died) gets it when it starts.
        """
        self._lexicon = lexicon
        for slot in self._slots:
            try:
                slot.connection.send(lexicon)
            except OSError:
                pass  # a worker that died loading its models is reported where it is waited on

    def versions(self) -> dict[str, str]:
        """The versions stamped on records, from the first worker to finish loading.

        With a lexicon, its version too: which known values the run read with.

        Raises:
            WorkerStartError: Every worker died while loading.

        """
        while True:
            for slot in self._slots:
                if slot.versions:
                    if self._lexicon is None:
                        return slot.versions
                    return {**slot.versions, "lexicon": self._lexicon.version}
            self._wait_ready()

    @property
    def load_seconds(self) -> float:
        """How long the slowest worker that is ready took to start: imports and models."""
        return max((s.load_seconds for s in self._slots if s.ready), default=0.0)

    def content_keys(self, paths: Sequence[Path]) -> list[ContentKey]:
        """Hashed here, in the run's process, while the workers load their models."""
        return key_files(paths)

    def _wait_ready(self) -> None:
        pending = [s for s in self._slots if not s.ready]
        if not pending:
            return
        ready = wait([s.connection for s in pending] + [s.process.sentinel for s in pending])
        for slot in pending:
            if slot.connection in ready or slot.process.sentinel in ready:
                try:
                    message = slot.connection.recv()
                except EOFError:
                    raise WorkerStartError(
                        f"a reading worker died while loading the models "
                        f"(exit code {slot.process.exitcode}); see the log above"
                    ) from None
                slot.ready, slot.versions = True, message[1]
                # From the spawn: the imports that unpickling its arguments takes count too.
                slot.load_seconds = time.perf_counter() - slot.started

    def read(
        self,
        tasks: Iterable[tuple[int, ScanFile]],
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[list[Outcome]]:
        """Read every (key, file), yielding what finished together, in no fixed order.

        `on_start(key)` is called as a file is handed to a worker. A file whose worker died
        goes to the next free worker while it has tries left.
        """
        queue = list(tasks)
        queue.reverse()
        tries: Counter[int] = Counter()
        while True:
            for slot in self._slots:
                if slot.ready and slot.task is None and queue:
                    slot.task = queue.pop()
                    if on_start is not None:
                        on_start(slot.task[0])
                    slot.connection.send(slot.task)
            # A worker still loading matters only while there is work left for it.
            busy = [s for s in self._slots if s.task is not None or (queue and not s.ready)]
            if not busy and not queue:
                return
            waitables: list[Any] = [s.connection for s in busy] + [s.process.sentinel for s in busy]
            signalled = wait(waitables)
            outcomes: list[Outcome] = []
            for index, slot in enumerate(self._slots):
                if slot.connection not in signalled and slot.process.sentinel not in signalled:
                    continue
                for outcome in self._handle(index, slot):
                    if isinstance(outcome, Done):
                        outcomes.append(outcome)
                        continue
                    key, scan, how = outcome.key, outcome.scan, outcome.how
                    tries[key] += 1
                    if tries[key] < self._tries:
                        outcomes.append(Retried(key, scan, died_reason(how, 1)))
                        queue.append((key, scan))  # the next to be handed out
                    else:
                        outcomes.append(Died(key, scan, died_reason(how, self._tries)))
            if outcomes:
                yield outcomes

    def _handle(self, index: int, slot: _Slot) -> Iterator[Done | _Lost]:
        try:
            message = slot.connection.recv()
        except EOFError:
            slot.process.join()
            if slot.task is None:
                raise WorkerStartError(
                    f"a reading worker died while loading the models "
                    f"(exit code {slot.process.exitcode}); see the log above"
                ) from None
            key, scan = slot.task
            code = slot.process.exitcode
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            yield _Lost(key, scan, how)
            self._replace(index)
            return
        if message[0] == "ready":
            slot.ready, slot.versions = True, message[1]
            return
        _, key, result, stats, retire = message
        slot.task = None
        yield Done(key, result, stats)
        if retire:
            slot.process.join()
            self._replace(index)

    def _replace(self, index: int) -> None:
        self._slots[index].connection.close()
        self._slots[index] = self._start()
        self.started += 1

    def close(self) -> None:
        """Stop the workers."""
        for slot in self._slots:
            try:
                slot.connection.send(None)
            except OSError:
                pass
        for slot in self._slots:
            if not slot.ready:
                slot.process.kill()  # still loading models it will never use
            slot.process.join(timeout=10)
            if slot.process.is_alive():
                slot.process.kill()
            slot.connection.close()

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
