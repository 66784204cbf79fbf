"""Progress lines and the run report page, without reading anything."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from pipeline.pages import FileResult
from pipeline.progress import Progress
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading, LexiconChange
from pipeline.report import (
    CONFIDENCE_BINS,
    MAX_SPANS,
    FileDone,
    RunReport,
    SlowPage,
    rate_spans,
    write_report,
)


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


def test_the_report_and_summary_count_the_fields_the_lexicon_changed(tmp_path: Path) -> None:
    def field(value: str, review: bool, read: str | None = None) -> FieldReading:
        evidence = Evidence()
        if read is not None:
            evidence.lexicon = LexiconChange(
                read=read, offered=value, edits=1, sources=["review"], seen=2, lexicon="3 values x"
            )
        return FieldReading(value=value, raw=read or value, review=review, evidence=evidence)

    unit, name = "原州区南关街道办事处", "社区工作者工资发放及时率"
    form = FormReading(
        file="a.jpg",
        form_type="budget_performance_approval",
        fields={
            "implementing_unit": field(unit, True, read="原州区南关街遭办事处"),
            "department": field("固原市原州区", False),
        },
        indicators=[{"name": field(name, False, read="社区工作者工资发放及时卒")}],
    )
    report = RunReport(run_id="r1", store="sqlite:///x.db", state="done")
    report.add_file(FileResult("a.jpg", pages=1, forms=[form]))
    # Two offers, one of them let through as offered.
    assert (report.fields, report.lexicon_changed, report.lexicon_review) == (3, 2, 1)
    for counted in (report.summary(), report.counts()):
        assert (counted["lexicon_changed"], counted["lexicon_review"]) == (2, 1)
    as_json, as_html = write_report(tmp_path, report)
    assert json.loads(as_json.read_text(encoding="utf-8"))["lexicon_changed"] == 2
    assert (
        "<tr><td>changed by the lexicon (a known value offered)</td>"
        "<td>2 (1 sent to review)</td></tr>"
    ) in as_html.read_text(encoding="utf-8")


def test_the_report_keeps_and_draws_pages_per_minute_confidence_and_review_load(
    tmp_path: Path,
) -> None:
    def field(confidence: float, review: bool) -> FieldReading:
        return FieldReading(value="v", raw="v", confidence=confidence, review=review)

    def form(file: str, low: float) -> FormReading:
        return FormReading(
            file=file,
            form_type="budget_performance_approval",
            fields={
                "year": field(0.99, False),
                "project_name": field(low, True),
                "funds_total": field(0.97, False),
                "funds_other": field(1.0, False),
            },
            indicators=[{"value": field(low, True)}, {"value": field(0.995, False)}],
        )

    report = RunReport(run_id="r1", store="sqlite:///x.db", state="done")
    # Three files stored at 10 s, 50 s and 70 s of a run of 80 s: 16 stretches of 5 s.
    for name, pages, at, low in [
        ("a.jpg", 2, 10.0, 0.4),
        ("b.jpg", 1, 50.0, 0.6),
        ("c.jpg", 3, 70.0, 0.8),
    ]:
        report.add_file(FileResult(name, pages=pages, forms=[form(name, low)]), at_seconds=at)
    report.pages_per_minute = rate_spans(report.files_done, 80.0)
    as_json, as_html = write_report(tmp_path, report)
    stored = json.loads(as_json.read_text(encoding="utf-8"))

    assert [(f["file"], f["pages"], f["at_seconds"]) for f in stored["files_done"]] == [
        ("a.jpg", 2, 10.0),
        ("b.jpg", 1, 50.0),
        ("c.jpg", 3, 70.0),
    ]
    spans = stored["pages_per_minute"]
    assert len(spans) == 16 and spans[0]["start_seconds"] == 0 and spans[-1]["end_seconds"] == 80
    assert sum(s["pages"] for s in spans) == 6
    assert spans[2] == {"start_seconds": 10, "end_seconds": 15, "pages": 2, "pages_per_minute": 24}
    rates = {i: s["pages_per_minute"] for i, s in enumerate(spans) if s["pages"]}
    assert rates == {2: 24, 10: 12, 14: 36}
    kinds = stored["confidence_by_kind"]
    assert set(kinds) == {"year", "text", "amount", "indicators.value"}
    assert all(len(c) == CONFIDENCE_BINS for c in kinds.values())
    assert kinds["text"][40] == kinds["text"][60] == kinds["text"][80] == 1
    assert kinds["amount"][97] == 3 and kinds["amount"][99] == 3  # 1.0 in the last bin
    assert sum(kinds["indicators.value"]) == 6
    assert stored["review_by_field"]["project_name"] == {"fields": 3, "review": 3}
    assert stored["review_by_field"]["indicators.value"] == {"fields": 6, "review": 3}
    assert stored["review_by_field"]["year"] == {"fields": 3, "review": 0}

    page = as_html.read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    charts = dict(re.findall(r'<svg class="chart" id="([a-z-]+)"(.*?)</svg>', page, re.S))
    assert list(charts) == ["pages-per-minute", "confidence-by-kind", "review-by-field"]
    assert charts["pages-per-minute"].count('class="bar"') == 16
    assert charts["confidence-by-kind"].count('class="box"') == 4
    assert charts["review-by-field"].count('class="bar"') == 5  # one a field key
    for chart in charts.values():  # title, axis labels, numbers
        assert chart.count("<text") > 8
    assert "Pages per minute over the run" in page and "seconds since the run started" in page
    assert "Confidence by field kind" in page and "median" in page
    assert "Review load by field" in page and "3 of 6 (50%)" in page


def test_rate_spans_grow_with_the_run_and_finish_fills_them() -> None:
    done = [FileDone(file="a", pages=1, at_seconds=3600.0 * n) for n in range(1, 9)]
    spans = rate_spans(done, 8 * 3600.0)
    assert len(spans) == 24 <= MAX_SPANS and spans[0].end_seconds - spans[0].start_seconds == 1200
    assert sum(s.pages for s in spans) == 8
    assert rate_spans([], 10.0) == []
    report = RunReport(run_id="r2", store="sqlite:///x.db")
    report.add_file(FileResult("a.jpg", pages=2))
    report.finish()
    assert (
        report.files_done[0].at_seconds >= 0 and sum(s.pages for s in report.pages_per_minute) == 2
    )
