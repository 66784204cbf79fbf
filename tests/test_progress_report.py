"""Progress lines and the run report page, without reading anything."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pipeline.pages import FileResult
from pipeline.progress import Progress
from pipeline.readings import AuditDraw, FieldReading, FormReading
from pipeline.report import RunReport, SlowPage, write_report


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_updating_line() -> None:
    terminal = _Terminal()
    progress = Progress(2, terminal)
    progress.file_done("a.pdf", 3, failed=False)
    progress.file_done("b.pdf", 1, failed=True)
    text = terminal.getvalue()
    assert text.count("\r\x1b[K") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "2/2 files, 4 pages" in text and "pages/min" in text and "1 not read" in text


def test_a_log_gets_plain_lines_with_rate_and_time_left() -> None:
    log = io.StringIO()
    progress = Progress(3, log)
    progress.file_done("a.pdf", 2, failed=False)
    [line] = log.getvalue().splitlines()
    assert "\r" not in line and "formscan: 1/3 files, 2 pages" in line
    assert "left" in line and line.endswith("(a.pdf)")


def test_the_report_page_escapes_file_names(tmp_path: Path) -> None:
    report = RunReport(run_id="r1", store="sqlite:///x.db", state="done")
    report.errors["<script>alert(1)</script>.pdf"] = "empty file & <b>"
    report.slowest.append(SlowPage(file="a&b.jpg", page=1, seconds=4.5))
    as_json, as_html = write_report(tmp_path, report)
    page = as_html.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b.jpg" in page
    assert json.loads(as_json.read_text(encoding="utf-8"))["errors"] == report.errors


def test_the_report_and_summary_count_the_run_s_audit_tasks(tmp_path: Path) -> None:
    def field(review: bool) -> FieldReading:
        return FieldReading(value="v", raw="v", confidence=0.9, review=review)

    form = FormReading(
        file="a.jpg",
        form_type="budget_performance_approval",
        fields={"year": field(False), "project_name": field(False), "overall_goal": field(True)},
    )
    drawn = AuditDraw(stratum="budget_performance_approval:year", rate=0.5)
    report = RunReport(run_id="r1", store="sqlite:///x.db", state="done")
    report.add_file(FileResult("a.jpg", pages=1, forms=[form], audits={(0, "fields.year"): drawn}))
    assert (report.fields, report.review, report.audit) == (3, 1, 1)
    assert report.summary()["audit"] == 1 and report.counts()["audit"] == 1
    as_json, as_html = write_report(tmp_path, report)
    assert json.loads(as_json.read_text(encoding="utf-8"))["audit"] == 1
    assert "<tr><td>audit tasks (straight-through fields drawn)</td><td>1 (33.3%)</td></tr>" in (
        as_html.read_text(encoding="utf-8")
    )
