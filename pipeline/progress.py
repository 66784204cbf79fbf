"""How far a batch run has got: one updating line on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Counts files and pages as they are stored and shows the rate and the time left."""

    def __init__(self, total_files: int, stream: TextIO | None = None) -> None:
        """Start the clock for `total_files` files."""
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total = total_files
        self.files = 0
        self.pages = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last_line = 0.0

    def file_done(self, name: str, pages: int, failed: bool) -> None:
        """Count one finished file and show where the run is."""
        self.files += 1
        self.pages += pages
        self.failed += failed
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.pages / elapsed
        # Pages per file vary (1 to dozens), so the time left goes by files, not pages.
        left = (self.total - self.files) * elapsed / self.files
        line = (
            f"{self.files}/{self.total} files, {self.pages} pages, {rate * 60:.1f} pages/min, "
            f"about {_duration(left)} left" + (f", {self.failed} not read" if self.failed else "")
        )
        if self.tty:
            self.stream.write(f"\r\x1b[K{line}")
            if self.files == self.total:
                self.stream.write("\n")
        else:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.stream.write(f"{stamp} formscan: {line} ({name})\n")
        self.stream.flush()
