"""The review server in a real browser: Debian's headless chromium driven by Playwright.

A store is filled by a real `formscan run` over sample scans (with a strict review
threshold, so that many fields go to review), accounts are made with `formscan users add`,
and `formscan review` serves it on a free port. Reviewers then work with the keyboard
alone. The pages are in Chinese unless a reviewer switches. Screenshots at 1366×768 are
saved in `out/screenshots/`: queue.png, group.png, form.png, admin.png (in Chinese),
queue-en.png (after the switch), and the run report's charts (report.png and one file each).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pipeline.records import read_export
from pipeline.store import Store, store_url

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh)"),
]

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "out" / "screenshots"
FORMSCAN = Path(sys.executable).parent / "formscan"
SCANS = [
    REPO / "samples" / "photo" / "photo-0005.jpg",
    REPO / "samples" / "clean" / "clean-0019.jpg",
]
PASSWORD = "correct horse battery"
CORRECTED = "人工改正的值"


def _formscan(*args: object, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(FORMSCAN), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scans = tmp_path_factory.mktemp("scans")
    for scan in SCANS:
        shutil.copy(scan, scans / scan.name)
    out = tmp_path_factory.mktemp("store")
    # The fitted threshold sends few fields of these two pages to review; a stricter one
    # gives the reviewers a queue to work through, groups of one value among it, and still
    # fields that went through for the form page. The records say which threshold was used.
    _formscan("run", scans, "--out", out, "--review-below", "0.995")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["versions"]["calibration"].endswith("+review<0.995")
    assert 40 <= summary["review"] <= summary["fields"] - 20, "pick another --review-below"
    for name, role in [("lin", "reviewer"), ("wang", "reviewer"), ("boss", "admin")]:
        _formscan("users", "add", "--out", out, name, "--role", role, stdin=PASSWORD + "\n")
    return out


@pytest.fixture(scope="module")
def server(store_dir: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(FORMSCAN), "review", "--out", str(store_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/signin", timeout=2)
            break
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the review server did not start"
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def _sign_in(browser: Browser, server: str, name: str) -> Page:
    """A fresh browser context signed in as `name`, by keyboard; returns its page."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server)
    page = context.new_page()
    page.goto("/queue")
    assert page.url.endswith("/signin")  # no session: sent to sign in
    _focus_on(page, "e.tagName === 'INPUT'")  # the name field has the focus
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page


def _task(page: Page) -> int | None:
    """The task the page shows; None on the queue-clear page."""
    page.wait_for_selector("[data-task], #clear", state="attached")
    found = page.locator("[data-task]")
    return int(found.get_attribute("data-task")) if found.count() else None


def _focus_on(page: Page, condition: str) -> None:
    """Wait until the focused element meets `condition` (JS over `e`): pages focus on load."""
    page.wait_for_function(f"(() => {{ const e = document.activeElement; return {condition}; }})()")


def _press(page: Page, key: str) -> None:
    if key == "Enter":  # the browser's own submit: the focus must be in the form
        _focus_on(page, "e && e.tagName !== 'BODY'")
    with page.expect_navigation():
        page.keyboard.press(key)


def test_two_reviewers_in_two_browsers_never_get_the_same_task(
    browser: Browser, server: str
) -> None:
    lin, wang = _sign_in(browser, server, "lin"), _sign_in(browser, server, "wang")
    for _ in range(3):
        mine, theirs = _task(lin), _task(wang)
        assert theirs is not None, wang.inner_text("body")[:400]
        assert mine is not None and mine != theirs
        wang.reload()
        assert _task(wang) == theirs  # a reload keeps one's task
        _press(wang, "Enter")  # wang accepts; the next is still never lin's
    wang.context.close()
    lin.context.close()


def test_group_review_accepts_a_grid_with_one_key(browser: Browser, server: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _sign_in(browser, server, "lin")
    page.goto("/groups")
    _focus_on(page, "e.tagName === 'A'")
    _press(page, "Enter")  # the biggest group has the focus
    tiles = page.locator(".tile").count()
    assert tiles >= 2 and page.locator(".tile img").count() == tiles
    page.screenshot(path=str(SCREENSHOTS / "group.png"))
    page.keyboard.press("Tab")  # the odd one out: fixed in place
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name").startswith("value-")
    page.keyboard.press("Control+A")
    page.keyboard.type("其他指标")
    page.locator(".accept-all").focus()
    _press(page, "Enter")  # the whole grid at once
    assert page.url.endswith("/groups")
    page.context.close()


def test_a_reviewer_clears_the_queue_with_the_keyboard_and_the_export_has_the_correction(
    browser: Browser, server: str, store_dir: Path, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _sign_in(browser, server, "lin")
    first = _task(page)
    _focus_on(page, "e.id === 'value'")
    assert "Alt+S" in page.inner_text("body")
    assert page.get_attribute("html", "lang") == "zh-Hans" and "确认 / 保存" in page.inner_text(
        "body"
    )
    crop = page.locator(".crop img")
    assert crop.evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=str(SCREENSHOTS / "queue.png"))
    with page.expect_navigation():
        page.click("#language")  # English for this reviewer, on the same task
    assert page.get_attribute("html", "lang") == "en" and _task(page) == first
    assert "Accept / save" in page.inner_text("body")
    page.screenshot(path=str(SCREENSHOTS / "queue-en.png"))
    with page.expect_navigation():
        page.click("#language")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    _focus_on(page, "e.id === 'value'")
    corrected_path = page.get_attribute("h1 .key", "data-path") or ""
    corrected_file = page.inner_text("h1 .file")

    page.keyboard.press("Control+A")
    page.keyboard.type(CORRECTED)
    _press(page, "Enter")
    second = _task(page)
    assert second not in (None, first)
    _press(page, "Alt+S")  # skip: back later
    third = _task(page)
    assert third not in (None, first, second)
    _press(page, "Alt+U")  # unreadable
    _press(page, "Alt+P")  # previous: the unreadable one, then the corrected one
    assert _task(page) == third
    _press(page, "Alt+P")
    assert _task(page) == first
    assert page.input_value("#value") == CORRECTED
    _press(page, "Alt+N")
    assert _task(page) == third
    _press(page, "Alt+N")  # past the last answered: the queue again
    assert _task(page) not in (None, first, third)

    answered = 0
    while _task(page) is not None:
        _press(page, "Enter")  # accept as read
        answered += 1
        assert answered < 200
    assert page.locator("#clear").is_visible()
    page.context.close()

    exported = tmp_path / "records.jsonl"
    _formscan("export", "--out", store_dir, "-o", exported)
    [record] = [r for r in read_export(exported) if r.source.file == corrected_file]
    parts = corrected_path.split(".")
    field = (
        record.fields[parts[1]]
        if parts[0] == "fields"
        else record.indicators[int(parts[1])][parts[2]]
    )
    assert (field.value, field.reviewed_by, field.confidence) == (CORRECTED, "lin", 1.0)


def test_the_form_page_shows_every_box_and_fixes_any_field(
    browser: Browser, server: str, store_dir: Path, tmp_path: Path
) -> None:
    store = Store.open(store_url(store_dir, None))
    [done] = store.closed_tasks(limit=1)
    store.close()
    page = _sign_in(browser, server, "lin")
    page.goto(f"/task/{done[0]}")
    _press(page, "Alt+F")  # the whole form, at this field
    assert "/form/" in page.url
    boxes = page.locator("svg a.box").count()
    assert boxes > 40
    image = page.locator("svg image")
    assert image.count() == 1
    page.screenshot(path=str(SCREENSHOTS / "form.png"))

    item = page.locator("li.none").first
    path = item.get_attribute("data-path")
    item.locator("input[name=value]").fill("表页改正")
    with page.expect_navigation():
        item.locator("input[name=value]").press("Enter")
    assert page.locator(f"li[data-path='{path}'] input[name=value]").input_value() == "表页改正"
    page.context.close()

    exported = tmp_path / "records.jsonl"
    _formscan("export", "--out", store_dir, "-o", exported)
    values = [
        (f.value, f.reviewed_by)
        for r in read_export(exported)
        for f in [*r.fields.values(), *(v for row in r.indicators for v in row.values())]
    ]
    assert ("表页改正", "lin") in values


def test_an_admin_sees_progress_and_reopens_a_task(browser: Browser, server: str) -> None:
    page = _sign_in(browser, server, "boss")
    page.goto("/admin")
    left = int(page.inner_text("#open"))
    assert left == int(page.inner_text("#held"))  # lin cleared all that wang does not hold
    assert int(page.inner_text("#done-today")) >= 20
    assert "lin" in page.inner_text(".by-reviewer")
    page.screenshot(path=str(SCREENSHOTS / "admin.png"))
    with page.expect_navigation():
        page.locator("table.closed button").first.click()
    assert int(page.inner_text("#open")) == left + 1
    page.context.close()


def test_the_run_report_s_charts_in_a_browser(browser: Browser, store_dir: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    [report] = sorted((store_dir / "runs").glob("*.html"))
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(report.as_uri())  # a file on its own: nothing to fetch
    charts = page.locator("svg.chart")
    assert charts.count() == 3
    names = ["report-pages-per-minute", "report-confidence", "report-review-load"]
    for name, chart in zip(names, charts.all(), strict=True):
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1366
        assert chart.locator("text").count() > 8  # title, axis labels, numbers
        chart.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    assert charts.nth(1).locator(".box").count() >= 3  # year, text, amount, indicators.*
    assert charts.nth(2).locator(".bar").count() >= 10  # a bar a field key
    page.evaluate("document.querySelector('svg.chart').scrollIntoView()")  # the charts at once
    page.screenshot(path=str(SCREENSHOTS / "report.png"))
    page.close()
