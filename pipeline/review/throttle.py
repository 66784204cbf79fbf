"""How fast sign-ins may fail: a growing wait per client address and a lock per account name.

The first `FREE_TRIES` failures in a row cost nothing (a person mistyping); each one after
doubles the wait, up to a cap. An account's failures and lock live in the store, where an
admin can lift them (`formscan users unlock`, or the admin page). A client address's, and an
unknown name's, live here, in the server's memory: an unknown name is locked like a real one,
so a lock never tells which names exist.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

FREE_TRIES = 5  # failures in a row before any wait
ACCOUNT_FIRST_LOCK = timedelta(minutes=1)  # then 2, 4, 8 ... minutes
ACCOUNT_LONGEST_LOCK = timedelta(hours=1)
ADDRESS_FIRST_WAIT = timedelta(seconds=1)  # then 2, 4, 8 ... seconds
ADDRESS_LONGEST_WAIT = timedelta(minutes=5)
FORGET_AFTER = timedelta(hours=24)  # an address or unknown name quiet this long starts afresh
MAX_REMEMBERED = 100_000  # addresses and unknown names kept at most (a few MB)


def backoff(failures: int, first: timedelta, longest: timedelta) -> timedelta | None:
    """The wait after `failures` failures in a row: none before `FREE_TRIES`, then doubling."""
    if failures < FREE_TRIES:
        return None
    wait: timedelta = first * 2 ** min(failures - FREE_TRIES, 32)
    return min(wait, longest)


def account_lock(failures: int) -> timedelta | None:
    """How long an account is locked after `failures` failed sign-ins in a row."""
    return backoff(failures, ACCOUNT_FIRST_LOCK, ACCOUNT_LONGEST_LOCK)


def address_wait(failures: int) -> timedelta | None:
    """How long a client address waits after `failures` failed sign-ins in a row."""
    return backoff(failures, ADDRESS_FIRST_WAIT, ADDRESS_LONGEST_WAIT)


@dataclass
class _Failures:
    count: int = 0
    until: float = 0.0  # monotonic seconds: no try before then
    last: float = 0.0


@dataclass
class FailureMemory:
    """Failed sign-ins in a row by key (a client address, an unknown name), in memory."""

    first: timedelta
    longest: timedelta
    _seen: dict[str, _Failures] = field(default_factory=dict)

    def wait(self, key: str) -> float:
        """Seconds before `key` may try again; 0 when it may now."""
        found = self._seen.get(key)
        return max(0.0, found.until - time.monotonic()) if found else 0.0

    def failed(self, key: str) -> int:
        """Count a failure of `key`; returns its failures in a row."""
        now = time.monotonic()
        found = self._seen.get(key)
        if found is None or now - found.last > FORGET_AFTER.total_seconds():
            self._forget_oldest()
            found = self._seen[key] = _Failures()
        found.count += 1
        found.last = now
        wait = backoff(found.count, self.first, self.longest)
        found.until = now + wait.total_seconds() if wait else 0.0
        return found.count

    def forget(self, key: str) -> None:
        """`key` starts afresh (a good sign-in of that name)."""
        self._seen.pop(key, None)

    def _forget_oldest(self) -> None:
        if len(self._seen) >= MAX_REMEMBERED:
            by_age = sorted(self._seen, key=lambda k: self._seen[k].last)
            for key in by_age[: MAX_REMEMBERED // 2]:
                del self._seen[key]


@dataclass
class OneAtATime:
    """A lock per key: one sign-in per address and per name is checked at a time.

    Without it, a hundred guesses sent at once would all pass the throttle before the first
    failure is counted.
    """

    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """Wait for `key`'s turn, and hold it for the `with` block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class Throttles:
    """What one review server remembers of failed sign-ins, and whose turn it is."""

    addresses: FailureMemory = field(
        default_factory=lambda: FailureMemory(ADDRESS_FIRST_WAIT, ADDRESS_LONGEST_WAIT)
    )
    unknown_names: FailureMemory = field(
        default_factory=lambda: FailureMemory(ACCOUNT_FIRST_LOCK, ACCOUNT_LONGEST_LOCK)
    )
    turns: OneAtATime = field(default_factory=OneAtATime)
