"""The run report: what a batch run did, as `runs/RUN_ID.json` and a short HTML page."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from pipeline.run import FileResult


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SlowPage(BaseModel):
    """One page and the seconds its worker spent on it."""

    file: str
    page: int
    seconds: float


class WorkerMemory(BaseModel):
    """A worker process's resident memory after its first and its last document."""

    documents: int = 0
    first_rss_mb: float
    last_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0


class RunReport(BaseModel):
    """Everything a run decided and measured."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    store: str
    state: str = "running"
    started_at: str = Field(default_factory=_now)
    finished_at: str | None = None
    files: int = Field(default=0, description="Files found under the paths given.")
    decisions: dict[str, int] = Field(
        default_factory=dict, description="What was decided per file: new, known, renamed…"
    )
    read: int = 0
    pages: int = 0
    forms: int = 0
    fields: int = 0
    review: int = Field(default=0, description="Fields of this run's forms sent to review.")
    audit: int = Field(
        default=0,
        description="Straight-through fields of this run's forms drawn for audit: review "
        "tasks like any other, which measure the silent error rate.",
    )
    review_open: int = Field(default=0, description="Open review tasks in the whole store.")
    forms_in_store: int = 0
    errors: dict[str, str] = Field(default_factory=dict, description="Files not read, why.")
    page_errors: list[str] = Field(default_factory=list)
    slowest: list[SlowPage] = Field(default_factory=list)
    workers: dict[str, WorkerMemory] = Field(default_factory=dict, description="By pid.")
    workers_started: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)

    def add_file(self, result: FileResult) -> None:
        """Count one file read."""
        self.read += 1
        self.pages += result.pages
        self.forms += len(result.forms)
        fields = [f for form in result.forms for _, f in form.all_fields()]
        self.fields += len(fields)
        self.review += sum(f.review for f in fields)
        self.audit += len(result.audits)
        if result.error:
            self.errors[result.name] = result.error
        self.page_errors.extend(result.page_errors)

    def finish(self) -> None:
        """Stamp the end time."""
        self.finished_at = _now()

    def counts(self) -> dict[str, object]:
        """The counts kept on the run's row in the store."""
        return {
            "files": self.files,
            **self.decisions,
            "read": self.read,
            "pages": self.pages,
            "forms": self.forms,
            "review": self.review,
            "audit": self.audit,
            "failed": len(self.errors),
        }

    def summary(self) -> dict[str, object]:
        """`summary.json`: this run's counts, in the keys the reading pipeline always wrote."""
        return {
            "run_id": self.run_id,
            "files": self.files,
            "read": self.read,
            "decisions": self.decisions,
            "pages": self.pages,
            "forms": self.forms,
            "fields": self.fields,
            "review": self.review,
            "audit": self.audit,
            "review_open": self.review_open,
            "forms_in_store": self.forms_in_store,
            "errors": self.errors,
            "page_errors": self.page_errors,
            "seconds": self.seconds,
            "versions": self.versions,
        }


def write_report(folder: Path, report: RunReport) -> tuple[Path, Path]:
    """Write `RUN_ID.json` and `RUN_ID.html` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    as_json = folder / f"{report.run_id}.json"
    as_json.write_text(
        json.dumps(report.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    as_html = folder / f"{report.run_id}.html"
    as_html.write_text(report_html(report), encoding="utf-8")
    return as_json, as_html


def _table(head: list[str], rows: list[list[object]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def report_html(report: RunReport) -> str:
    """A short page for a person: counts, review load, errors by file, slowest pages."""
    e = html.escape
    load = report.review / report.fields if report.fields else 0.0
    audited = report.audit / report.fields if report.fields else 0.0
    counts = [["files found", report.files], *[[k, v] for k, v in report.decisions.items()]]
    counts += [
        ["files read", report.read],
        ["pages read", report.pages],
        ["forms read", report.forms],
        ["fields read", report.fields],
        ["sent to review", f"{report.review} ({load:.1%})"],
        ["audit tasks (straight-through fields drawn)", f"{report.audit} ({audited:.1%})"],
        ["open review tasks in the store", report.review_open],
        ["forms in the store", report.forms_in_store],
    ]
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>formscan run {e(report.run_id)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
        "text-align:left;border-bottom:1px solid #ddd}</style>",
        f"<h1>formscan run {e(report.run_id)}: {e(report.state)}</h1>",
        f"<p>{e(report.started_at)} to {e(report.finished_at or '')}, store {e(report.store)}</p>",
        "<h2>Counts</h2>",
        _table(["what", "how many"], counts),
        f"<h2>Files not read ({len(report.errors)})</h2>",
        _table(["file", "reason"], [[k, v] for k, v in sorted(report.errors.items())]),
        f"<h2>Page errors ({len(report.page_errors)})</h2>",
        _table(["error"], [[p] for p in report.page_errors]),
        "<h2>Slowest pages</h2>",
        _table(["file", "page", "seconds"], [[p.file, p.page, p.seconds] for p in report.slowest]),
        "<h2>Time by stage (seconds)</h2>",
        _table(["stage", "seconds"], [[k, v] for k, v in report.seconds.items()]),
        "<h2>Workers</h2>",
        _table(
            ["pid", "documents", "first MB", "last MB", "peak MB"],
            [
                [pid, w.documents, w.first_rss_mb, w.last_rss_mb, w.peak_rss_mb]
                for pid, w in report.workers.items()
            ],
        ),
        "<h2>Versions</h2>",
        _table(["what", "version"], [[k, v] for k, v in report.versions.items()]),
    ]
    return "\n".join(parts) + "\n"
