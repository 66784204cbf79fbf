"""The run report: what a batch run did, as `runs/RUN_ID.json` and a short HTML page.

Beside the counts it keeps three series that the page draws as charts (`svg_charts`):
pages per minute over the run, the confidence of each field kind, and review load by field.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from pipeline.form_spec import field_group
from pipeline.svg_charts import Bar, Box, bars, boxes, columns

if TYPE_CHECKING:
    from pipeline.pages import FileResult


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SlowPage(BaseModel):
    """One page and the seconds its worker spent on it."""

    file: str
    page: int
    seconds: float


class FileDone(BaseModel):
    """A file as it was stored: its pages, and when, in seconds from the run's start."""

    file: str
    pages: int
    at_seconds: float


class RateSpan(BaseModel):
    """The pages stored in one stretch of the run, and what that is a minute."""

    start_seconds: float
    end_seconds: float
    pages: int
    pages_per_minute: float


class FieldLoad(BaseModel):
    """How many fields of one key were read, and how many of them were sent to review."""

    fields: int = 0
    review: int = 0


# Confidence is kept as counts in hundredths: [0, 0.01), …, [0.99, 1]. Small in the JSON
# whatever the run's size, and fine enough to tell 0.97 from 0.99, where thresholds lie.
CONFIDENCE_BINS = 100
# A stretch of the pages-per-minute series is the shortest of these that gives at most
# MAX_SPANS of them: 20 minutes for a night's run of 8 hours, seconds for a test's. Enough
# stretches to show the run's shape, each long enough to hold several files in a long run.
_SPAN_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)
MAX_SPANS = 30


class NodeProgress(BaseModel):
    """What the readers of one node (a host; on a Ray cluster, a Ray node) stored in a run."""

    files: int = 0
    pages: int = 0
    last_at_seconds: float = Field(default=0.0, description="Its last file stored, from the start.")
    pages_per_minute: float = Field(
        default=0.0, description="Its pages over the time from reading's start to its last file."
    )


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
    hashed: int = Field(
        default=0,
        description="Files whose bytes were hashed; the others were at the place, of the size "
        "and the time the store last saw them, and taken for the same content.",
    )
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
    lexicon_changed: int = Field(
        default=0,
        description="Fields of this run's forms whose value the lexicon changed: a known value "
        "offered in place of a near reading (`pipeline.lexicon`).",
    )
    lexicon_review: int = Field(
        default=0,
        description="Of those, the ones sent to review: the others went through as offered.",
    )
    review_open: int = Field(default=0, description="Open review tasks in the whole store.")
    forms_in_store: int = 0
    errors: dict[str, str] = Field(default_factory=dict, description="Files not read, why.")
    page_errors: list[str] = Field(default_factory=list)
    unrecognised: list[str] = Field(
        default_factory=list,
        description="Pages of no known form type, read as no form: `FILE, page N: why`.",
    )
    slowest: list[SlowPage] = Field(default_factory=list)
    workers: dict[str, WorkerMemory] = Field(
        default_factory=dict, description="By pid, and node where it has one (`WorkerStats.name`)."
    )
    nodes: dict[str, NodeProgress] = Field(
        default_factory=dict, description="By node: host, and Ray node id on a cluster."
    )
    retried: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Files whose reader died while reading them, why, each time; read again.",
    )
    reading_started_seconds: float | None = Field(
        default=None, description="When the first file was handed out, from the start."
    )
    workers_started: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    files_done: list[FileDone] = Field(
        default_factory=list, description="Each file read, in the order it was stored."
    )
    pages_per_minute: list[RateSpan] = Field(
        default_factory=list, description="Pages stored a minute, stretch by stretch of the run."
    )
    confidence_by_kind: dict[str, list[int]] = Field(
        default_factory=dict,
        description=f"Fields by confidence, in {CONFIDENCE_BINS} bins of equal width, by field "
        "kind (`Template.group_of`: year, text, amount, indicators.KIND).",
    )
    review_by_field: dict[str, FieldLoad] = Field(
        default_factory=dict, description="By field key (`indicators.KEY` for a table's)."
    )
    _clock: float = PrivateAttr(default_factory=time.monotonic)

    def start_reading(self) -> None:
        """Mark the moment files begin to be handed out: each node's rate counts from it."""
        self.reading_started_seconds = round(time.monotonic() - self._clock, 2)

    def add_file(self, result: FileResult, at_seconds: float | None = None, node: str = "") -> None:
        """Count one file read by `node`, stored `at_seconds` after the run began (default now)."""
        self.read += 1
        self.pages += result.pages
        self.forms += len(result.forms)
        keyed = [(form.form_type, key, f) for form in result.forms for key, f in form.all_fields()]
        fields = [f for _, _, f in keyed]
        self.fields += len(fields)
        self.review += sum(f.review for f in fields)
        self.audit += len(result.audits)
        # Counted apart: an offer is a value no OCR read, and one let through unreviewed is
        # what a wrong lexicon entry would cost.
        offered = [f for f in fields if f.evidence.lexicon is not None]
        self.lexicon_changed += len(offered)
        self.lexicon_review += sum(f.review for f in offered)
        for form_type, key, f in keyed:
            load = self.review_by_field.setdefault(key, FieldLoad())
            load.fields += 1
            load.review += f.review
            kind = field_group(form_type, key)
            counts = self.confidence_by_kind.setdefault(kind, [0] * CONFIDENCE_BINS)
            counts[min(max(int(f.confidence * CONFIDENCE_BINS), 0), CONFIDENCE_BINS - 1)] += 1
        at = time.monotonic() - self._clock if at_seconds is None else at_seconds
        self.files_done.append(
            FileDone(file=result.name, pages=result.pages, at_seconds=round(at, 2))
        )
        if node:
            self._count_node(node, result.pages, at)
        if result.error:
            self.errors[result.name] = result.error
        self.page_errors.extend(result.page_errors)
        self.unrecognised.extend(
            f"{result.name}, page {number}: {why}" for number, why in result.unrecognised.items()
        )

    def _count_node(self, node: str, pages: int, at: float) -> None:
        progress = self.nodes.setdefault(node, NodeProgress())
        progress.files += 1
        progress.pages += pages
        progress.last_at_seconds = round(at, 2)
        reading = at - (self.reading_started_seconds or 0.0)
        progress.pages_per_minute = round(progress.pages * 60 / reading, 2) if reading > 0 else 0.0

    def finish(self) -> None:
        """Stamp the end time; work out the pages-per-minute series."""
        self.finished_at = _now()
        self.pages_per_minute = rate_spans(self.files_done, time.monotonic() - self._clock)

    def counts(self) -> dict[str, object]:
        """The counts kept on the run's row in the store."""
        return {
            "files": self.files,
            "hashed": self.hashed,
            **self.decisions,
            "read": self.read,
            "pages": self.pages,
            "forms": self.forms,
            "review": self.review,
            "audit": self.audit,
            "lexicon_changed": self.lexicon_changed,
            "lexicon_review": self.lexicon_review,
            "failed": len(self.errors),
            "retried": sum(map(len, self.retried.values())),
            "nodes": {name: node.model_dump() for name, node in self.nodes.items()},
        }

    def summary(self) -> dict[str, object]:
        """`summary.json`: this run's counts, in the keys the reading pipeline always wrote."""
        return {
            "run_id": self.run_id,
            "files": self.files,
            "hashed": self.hashed,
            "read": self.read,
            "decisions": self.decisions,
            "pages": self.pages,
            "forms": self.forms,
            "fields": self.fields,
            "review": self.review,
            "audit": self.audit,
            "lexicon_changed": self.lexicon_changed,
            "lexicon_review": self.lexicon_review,
            "review_open": self.review_open,
            "forms_in_store": self.forms_in_store,
            "errors": self.errors,
            "page_errors": self.page_errors,
            "unrecognised_pages": self.unrecognised,
            "seconds": self.seconds,
            "versions": self.versions,
        }


def node_lines(nodes: Mapping[str, NodeProgress | Mapping[str, object]]) -> list[str]:
    """One line a node, as `formscan run` and `formscan status` print them."""
    lines = []
    for name, given in sorted(nodes.items()):
        node = NodeProgress.model_validate(given)
        lines.append(
            f"node {name}: {node.files} files, {node.pages} pages, "
            f"{node.pages_per_minute:.1f} pages/min"
        )
    return lines


def rate_spans(done: Sequence[FileDone], run_seconds: float) -> list[RateSpan]:
    """Pages stored in each stretch of the run, from its start to its end, as pages a minute.

    A file's pages count in the stretch it was stored in; the last stretch ends with the run.
    """
    end = max([run_seconds, *(f.at_seconds for f in done)])
    if not done or end <= 0:
        return []
    width = next((s for s in _SPAN_SECONDS if end / s <= MAX_SPANS), _SPAN_SECONDS[-1])
    pages = [0] * math.ceil(end / width)
    for f in done:
        pages[min(int(f.at_seconds // width), len(pages) - 1)] += f.pages
    spans = []
    for i, n in enumerate(pages):
        start, stop = i * width, min((i + 1) * width, end)
        minutes = (stop - start) / 60
        spans.append(
            RateSpan(
                start_seconds=start,
                end_seconds=round(stop, 2),
                pages=n,
                pages_per_minute=round(n / minutes, 2) if minutes > 0 else 0.0,
            )
        )
    return spans


def quantile(counts: Sequence[int], q: float) -> float:
    """The `q` quantile of values counted in equal bins over [0, 1], linear within its bin."""
    total = sum(counts)
    wanted = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= wanted:
            return (i + (wanted - seen) / n) / len(counts)
        seen += n
    return 1.0


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


def _rate_chart(report: RunReport) -> str:
    spans = report.pages_per_minute
    if not spans:
        return "<p>No pages were read.</p>"
    end = spans[-1].end_seconds
    unit, seconds = (
        ("seconds", 1) if end < 180 else ("minutes", 60) if end < 18000 else ("hours", 3600)
    )
    return columns(
        "pages-per-minute",
        "Pages per minute over the run",
        f"{unit} since the run started",
        "pages per minute",
        [(s.start_seconds / seconds, s.end_seconds / seconds, s.pages_per_minute) for s in spans],
    )


def _confidence_chart(report: RunReport) -> str:
    found = [(kind, counts) for kind, counts in report.confidence_by_kind.items() if sum(counts)]
    if not found:
        return "<p>No fields were read.</p>"
    order = {"year": 0, "text": 1, "amount": 2}
    rows = [
        Box(
            kind,
            quantile(counts, 0.05),
            quantile(counts, 0.25),
            quantile(counts, 0.5),
            quantile(counts, 0.75),
            quantile(counts, 0.95),
            f"median {quantile(counts, 0.5):.3f}, {sum(counts)} fields",
        )
        for kind, counts in sorted(found, key=lambda k: (order.get(k[0], 3), k[0]))
    ]
    # From the tenth below the lowest whisker: the spread near 1 is what tells kinds apart.
    lowest = min(0.9, math.floor(min(r.low for r in rows) * 10) / 10)
    return boxes(
        "confidence-by-kind",
        "Confidence by field kind",
        "confidence (box: quartiles; whiskers: 5th to 95th percentile; red: median)",
        rows,
        lowest,
        1.0,
    )


def _review_chart(report: RunReport) -> str:
    if not report.review_by_field:
        return "<p>No fields were read.</p>"
    rows = [
        Bar(key, load.review, f"{load.review} of {load.fields} ({load.review / load.fields:.0%})")
        for key, load in sorted(report.review_by_field.items(), key=lambda k: (-k[1].review, k[0]))
    ]
    return bars("review-by-field", "Review load by field", "fields sent to review", rows)


def report_html(report: RunReport) -> str:
    """A short page for a person: counts, charts, errors by file, slowest pages."""
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
        [
            "changed by the lexicon (a known value offered)",
            f"{report.lexicon_changed} ({report.lexicon_review} sent to review)",
        ],
        ["open review tasks in the store", report.review_open],
        ["forms in the store", report.forms_in_store],
    ]
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>formscan run {e(report.run_id)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
        "text-align:left;border-bottom:1px solid #ddd}figure{margin:1em 0}</style>",
        f"<h1>formscan run {e(report.run_id)}: {e(report.state)}</h1>",
        f"<p>{e(report.started_at)} to {e(report.finished_at or '')}, store {e(report.store)}</p>",
        "<h2>Counts</h2>",
        _table(["what", "how many"], counts),
        "<h2>The run in pictures</h2>",
        *(
            f"<figure>{chart}</figure>"
            for chart in (_rate_chart(report), _confidence_chart(report), _review_chart(report))
        ),
        f"<h2>Files not read ({len(report.errors)})</h2>",
        _table(["file", "reason"], [[k, v] for k, v in sorted(report.errors.items())]),
        f"<h2>Page errors ({len(report.page_errors)})</h2>",
        _table(["error"], [[p] for p in report.page_errors]),
        f"<h2>Pages of no known form type, not read ({len(report.unrecognised)})</h2>",
        _table(["page"], [[p] for p in report.unrecognised]),
        "<h2>Slowest pages</h2>",
        _table(["file", "page", "seconds"], [[p.file, p.page, p.seconds] for p in report.slowest]),
        "<h2>Time by stage (seconds)</h2>",
        _table(["stage", "seconds"], [[k, v] for k, v in report.seconds.items()]),
        "<h2>Nodes</h2>",
        _table(
            ["node", "files", "pages", "pages per minute", "last file at (s)"],
            [
                [name, n.files, n.pages, n.pages_per_minute, n.last_at_seconds]
                for name, n in report.nodes.items()
            ],
        ),
        f"<h2>Files read again after their reader died ({len(report.retried)})</h2>",
        _table(["file", "why, each time"], [[k, "; ".join(v)] for k, v in report.retried.items()]),
        "<h2>Workers</h2>",
        _table(
            ["worker", "documents", "first MB", "last MB", "peak MB"],
            [
                [pid, w.documents, w.first_rss_mb, w.last_rss_mb, w.peak_rss_mb]
                for pid, w in report.workers.items()
            ],
        ),
        "<h2>Versions</h2>",
        _table(["what", "version"], [[k, v] for k, v in report.versions.items()]),
    ]
    return "\n".join(parts) + "\n"
