"""What the store knows a file by: its place as text and the SHA-256 of its bytes.

Plain functions of a path, so any reader can key files: the run's own process for local
workers, or the actors of a Ray cluster, each hashing a share of a large run's files on the
node that holds them in reach.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest import path_text

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ContentKey:
    """A file's place (`path_text` of its real path) and its content key, or why it has none."""

    where: str
    sha256: str | None
    error: str | None = None  # the operating system's words (`strerror`)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_key(path: Path, where: str) -> str:
    """The SHA-256 of a file's bytes; an empty file's is of its place instead.

    Every empty file has the same bytes; keyed by them, a second one would pass for a copy
    of the first and never be named. An empty file is keyed by its place instead, and is
    quarantined like any file that cannot be read.

    Raises:
        OSError: the path is a folder, a link to nothing or round in a loop, or unreadable.

    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "a link to nothing, or round in a loop")
    if path.stat().st_size == 0:
        return hashlib.sha256(f"empty file at {where}".encode()).hexdigest()
    return sha256_of(path)


def key_files(paths: Sequence[Path]) -> list[ContentKey]:
    """Each path's `ContentKey`, in order; a file that cannot be read gets its reason."""
    keys = []
    for path in paths:
        # realpath, not Path.resolve: a link round in a loop is a path to name, not a crash.
        where = path_text(os.path.realpath(path))
        try:
            keys.append(ContentKey(where, content_key(path, where)))
        except OSError as error:
            keys.append(ContentKey(where, None, error.strerror or str(error)))
    return keys
