"""The Ray executor: actors on a Ray cluster, each loading the models once, hash and read files.

The run's own process is the Ray driver. It lists the files, plans against the store and
alone writes it, under the store's run lock, as with local workers; the actors only hash and
read, and send each `FileResult` back. They reach a file by the path the run was given, made
absolute: the scans must be on storage that every node mounts at that path.

A plain actor pool, one file in flight per actor, so a death is blamed on exactly one file:
the actor is replaced, and the file goes to the next free actor, up to `tries` times, then is
quarantined with the local executor's words. If the driver dies, Ray ends its actors.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayError, RayTaskError

from pipeline.hashing import ContentKey, key_files
from pipeline.ingest import ScanFile
from pipeline.lexicon import Lexicon
from pipeline.pages import FileResult
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
from pipeline.workers import heap_trimmer, rss_mb

if TYPE_CHECKING:
    from pipeline.run import RunOptions

log = logging.getLogger(__name__)

# An actor also dies with its node (preempted, rebooted, out of memory because of another
# job); a file gets more tries here than on one machine before it is taken for the cause.
RAY_TRIES = 3
# Files a hashing call takes: enough that a call's overhead (milliseconds) is nothing beside
# hashing them, few enough that a large run's calls spread over every actor.
HASH_CALL_FILES = 256


@ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)
class ReaderActor:
    """One reader on a node of the cluster: the models loaded once, then files one by one."""

    def __init__(self, options: Any, lexicon: Lexicon | None, recycle_after: int) -> None:
        import cv2

        from pipeline.run import Reader

        # One actor per CPU it was given: OpenCV's own thread pool would only fight the others.
        cv2.setNumThreads(1)
        self._reader = Reader(options)
        if lexicon is not None:
            self._reader.lexicon = lexicon
        self._recycle_after = recycle_after
        self._done = 0
        self._trim_heap = heap_trimmer()
        node_id = ray.get_runtime_context().get_node_id()
        self._node = f"{socket.gethostname()} ({node_id[:8]})"

    def ready(self) -> tuple[dict[str, str], str]:
        """The versions the models stamp on records, and the node this actor runs on."""
        return self._reader.versions, self._node

    def use_lexicon(self, lexicon: Lexicon) -> None:
        """Read with `lexicon` from now on."""
        self._reader.lexicon = lexicon

    def key_files(self, paths: Sequence[Path]) -> list[ContentKey]:
        """`pipeline.hashing.key_files`, on this node."""
        return key_files(paths)

    def read(self, key: int, scan: ScanFile) -> tuple[int, FileResult, WorkerStats, bool]:
        """Read one file; also say whether this actor has read its share and retires."""
        result = self._reader.read_file(scan)
        self._trim_heap()
        self._done += 1
        rss, peak = rss_mb()
        stats = WorkerStats(os.getpid(), self._done, rss, peak, self._node)
        retire = self._recycle_after > 0 and self._done >= self._recycle_after
        return key, result, stats, retire


@dataclass
class _Actor:
    handle: Any  # ray.actor.ActorHandle
    loading: Any  # the ObjectRef of its `ready` call, until it is taken
    started: float = field(default_factory=time.perf_counter)
    ready: bool = False
    node: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    load_seconds: float = 0.0
    task: tuple[int, ScanFile] | None = None
    reading: Any = None  # the ObjectRef of its `read` call in flight


def start_pool(options: RunOptions, settings: PoolSettings) -> RayReaderPool:
    """The Ray executor's readers for a run (`pipeline.pool.start_pool`)."""
    tries = settings.tries or RAY_TRIES
    return RayReaderPool(
        options, settings.workers, settings.recycle_after, tries, settings.ray_address
    )


def _join(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS); start one of this machine if neither.

    Returns whether this call connected, so that closing the pool disconnects: a process
    already connected (a test, a notebook) stays so.
    """
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING)
    except Exception as error:  # Ray raises ConnectionError, ValueError, RuntimeError…
        where = f"at {address}" if address else "of this machine"
        raise WorkerStartError(f"cannot start on the Ray cluster {where}: {error}") from error
    return True


class RayReaderPool:
    """N reader actors on a Ray cluster; `read` hands them files and yields what each gave."""

    def __init__(
        self,
        options: Any,
        workers: int,
        recycle_after: int,
        tries: int = RAY_TRIES,
        address: str | None = None,
    ) -> None:
        """Join the cluster and start `workers` actors (0: one per CPU of the cluster).

        Raises:
            WorkerStartError: The cluster cannot be joined.

        """
        self._owns_connection = _join(address)
        self._options = options
        self._recycle_after = recycle_after
        self._tries = tries
        self._lexicon: Lexicon | None = None
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
        count = workers or max(1, int(cpus))
        self._actors = [self._start() for _ in range(count)]
        self.started = count

    def _start(self) -> _Actor:
        # Spread over the nodes: each node's share of the CPUs reads, not the first node's.
        handle = ReaderActor.options(scheduling_strategy="SPREAD").remote(  # type: ignore[attr-defined]
            self._options, self._lexicon, self._recycle_after
        )
        return _Actor(handle, handle.ready.remote())

    def use_lexicon(self, lexicon: Lexicon) -> None:
        """Have every actor read with `lexicon` from now on, and any started later.

        An actor runs its calls in the order they were made, so no file handed to it after
        this call is read without it.
        """
        self._lexicon = lexicon
        for actor in self._actors:
            actor.handle.use_lexicon.remote(lexicon)

    def versions(self) -> dict[str, str]:
        """The versions stamped on records, from the first actor to finish loading.

        Raises:
            WorkerStartError: An actor died while loading.

        """
        while True:
            for actor in self._actors:
                if actor.ready:
                    if self._lexicon is None:
                        return actor.versions
                    return {**actor.versions, "lexicon": self._lexicon.version}
            loading = [a.loading for a in self._actors if not a.ready]
            [done], _ = ray.wait(loading, num_returns=1)
            self._take_ready(next(a for a in self._actors if a.loading == done))

    @property
    def load_seconds(self) -> float:
        """How long the slowest actor that is ready took to start: a process, imports, models."""
        return max((a.load_seconds for a in self._actors if a.ready), default=0.0)

    def _take_ready(self, actor: _Actor) -> None:
        try:
            actor.versions, actor.node = ray.get(actor.loading)
        except RayError as error:
            raise WorkerStartError(
                f"a Ray reader actor died while loading the models: {_first_line(error)}"
            ) from error
        actor.ready = True
        actor.load_seconds = time.perf_counter() - actor.started

    def content_keys(self, paths: Sequence[Path]) -> list[ContentKey]:
        """Hashed by the actors, `HASH_CALL_FILES` files a call, spread over all of them.

        A call whose actor died is done here instead: hashing never blames a file.
        """
        absolute = [Path(os.path.abspath(p)) for p in paths]
        step = HASH_CALL_FILES
        calls = [absolute[i : i + step] for i in range(0, len(absolute), step)]
        pending = [
            self._actors[n % len(self._actors)].handle.key_files.remote(call)
            for n, call in enumerate(calls)
        ]
        keys: list[ContentKey] = []
        for call, ref in zip(calls, pending, strict=True):
            try:
                keys.extend(ray.get(ref))
            except RayError as error:
                log.warning("hashing on a Ray actor failed (%s): hashed here", _first_line(error))
                keys.extend(key_files(call))
        return keys

    def read(
        self,
        tasks: Iterable[tuple[int, ScanFile]],
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[list[Outcome]]:
        """Read every (key, file), yielding what finished together, in no fixed order.

        `on_start(key)` is called as a file is handed to an actor.
        """
        queue = deque((key, _absolute(scan)) for key, scan in tasks)
        tries: Counter[int] = Counter()
        while True:
            for actor in self._actors:
                if actor.ready and actor.task is None and queue:
                    actor.task = queue.popleft()
                    if on_start is not None:
                        on_start(actor.task[0])
                    actor.reading = actor.handle.read.remote(*actor.task)
            waiting = {a.reading: a for a in self._actors if a.task is not None}
            if not waiting and not queue:
                return
            if queue:  # an actor still loading matters only while there is work left for it
                waiting |= {a.loading: a for a in self._actors if not a.ready}
            ray.wait(list(waiting), num_returns=1)
            finished, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=0)
            outcomes: list[Outcome] = []
            for ref in finished:
                actor = waiting[ref]
                if not actor.ready:
                    self._take_ready(actor)
                else:
                    outcomes.extend(self._take_read(actor, queue, tries))
            if outcomes:
                yield outcomes

    def _take_read(
        self, actor: _Actor, queue: deque[tuple[int, ScanFile]], tries: Counter[int]
    ) -> list[Outcome]:
        assert actor.task is not None
        key, scan = task = actor.task
        try:
            _, result, stats, retire = ray.get(actor.reading)
        except RayTaskError as error:
            # The actor lives on: a fault in reading this file, which another try would meet.
            actor.task = None
            cause = _first_line(error.cause if error.cause is not None else error)
            return [Died(key, scan, f"the reading worker failed on this file ({cause})")]
        except RayError as error:  # the actor's process ended, or its node was lost
            log.warning("%s: %s", scan.name, _first_line(error))
            self._replace(actor)
            tries[key] += 1
            how = f"its Ray actor ended, on {actor.node}"
            if tries[key] < self._tries:
                queue.appendleft(task)  # the next free actor takes it
                return [Retried(key, scan, died_reason(how, 1))]
            return [Died(key, scan, died_reason(how, self._tries))]
        actor.task = None
        if retire:
            self._replace(actor)
        return [Done(key, result, stats)]

    def _replace(self, actor: _Actor) -> None:
        ray.kill(actor.handle, no_restart=True)
        self._actors[self._actors.index(actor)] = self._start()
        self.started += 1

    def close(self) -> None:
        """End the actors, and the connection to the cluster if the pool made it."""
        for actor in self._actors:
            try:
                ray.kill(actor.handle, no_restart=True)
            except RayError:
                pass  # already gone
        if self._owns_connection:
            ray.shutdown()

    def __enter__(self) -> RayReaderPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _absolute(scan: ScanFile) -> ScanFile:
    # An actor's working folder is not the driver's: a relative path would name another file.
    return replace(scan, path=Path(os.path.abspath(scan.path)))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
