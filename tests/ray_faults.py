"""Faults for the Ray executor's tests, set up in each actor of the tests' own Ray job only.

Like OCRmyPDF's `tests/plugins/tesseract_crash.py`: a reader dying on a file is the fault the
tests are about, so it is made on purpose, here, and never in formscan itself. Ray runs
`install` in every worker process of the job that asked for it (`worker_process_setup_hook`
in `tests/test_ray.py`); a `formscan run` the tests start as a process of its own is another
job, and reads as in production.

- A file whose name holds `kills-its-reader` kills the process reading it, every time.
- Every file read is announced as `PID.reading` in the folder `FORMSCAN_TEST_FAULTS` names,
  holding the file's name, so a test can kill the process reading a given file.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

FAULTS_ENV = "FORMSCAN_TEST_FAULTS"
KILLS_ITS_READER = "kills-its-reader"


def install() -> None:
    from pipeline.run import Reader

    read_file = Reader.read_file

    def faulty_read_file(self: Reader, scan: Any) -> Any:
        folder = os.environ.get(FAULTS_ENV)
        if folder:
            (Path(folder) / f"{os.getpid()}.reading").write_text(scan.name, encoding="utf-8")
        if KILLS_ITS_READER in scan.name:
            os.kill(os.getpid(), signal.SIGKILL)
        return read_file(self, scan)

    Reader.read_file = faulty_read_file  # type: ignore[method-assign]
