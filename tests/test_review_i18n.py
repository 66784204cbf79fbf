"""The review pages speak the reviewers' language: Chinese by default, English on request.

Every message of the templates and the route modules comes from a gettext catalogue
(`pipeline/review/locale`): a test extracts them with Babel, as `make messages` does, and
finds each in both catalogues, translated in zh_CN, and compiled into the .mo files the
server reads; so a string added without its translation fails here.
"""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from configparser import RawConfigParser
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from test_review_web import PASSWORD, VERSIONS, _csrf, _field

from pipeline.pages import FileResult
from pipeline.readings import FormReading
from pipeline.review import create_app
from pipeline.review.auth import hash_password
from pipeline.review.i18n import LANGUAGE_COOKIE, LANGUAGES
from pipeline.review.labels import field_label, kind_label
from pipeline.store import Store

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "pipeline" / "review" / "locale"
FORMSCAN = Path(sys.executable).parent / "formscan"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'formscan.db'}")
    run = store.start_run(["/scans"], {})
    for n, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        form = FormReading(
            file=name,
            pages=[1],
            form_type="budget_performance_approval",
            fields={
                "year": _field("2024", 0.99, False),
                "project_name": _field("项目甲", 0.99, False),
                "department": _field("教育局(101)", 0.4, True),
                "overall_goal": _field("目标", 0.3, True),
            },
            indicators=[
                {"level1": _field("产出指标", 0.6, True), "value": _field("≥90%", 0.5, True)},
            ],
        )
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(name, pages=1, forms=[form], page_seconds=[1.0])
        store.save_reading(document, run, result, VERSIONS, {(0, "fields.overall_goal"): b"png"})
    store.set_user("lin", "reviewer", hash_password(PASSWORD))
    store.set_user("boss", "admin", hash_password(PASSWORD))
    return store


def _signed_in(store: Store, name: str, language: str = "zh_CN") -> TestClient:
    client = TestClient(create_app(store, language=language), follow_redirects=False)
    data = {"name": name, "password": PASSWORD, "csrf": _csrf(client.get("/signin").text)}
    assert client.post("/signin", data=data).status_code == 303
    return client


def _pages(store: Store) -> dict[str, str]:
    """Every kind of page, as a reviewer and an admin see them, in the client's language."""
    return {
        "queue": "/queue",
        "groups": "/groups",
        "group": "/group?key=value&value=%E2%89%A590%25",
        "form": f"/form/{store.review_queue()[0].form_id}",
        "admin": "/admin",
    }


class _Text(HTMLParser):
    """What a person reads on a page: its text and its images' and figures' names.

    Titles are left out: they hold the field keys (`fields.project_name`), kept as they are
    for whoever needs the record's names.
    """

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.extend(v for k, v in attrs if k in ("alt", "aria-label", "placeholder") and v)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _read(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def _catalogue(language: str) -> dict[str, str]:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    assert not any(m.fuzzy for m in catalogue if m.id), f"{language}: fuzzy entries"
    return {str(m.id): str(m.string) for m in catalogue if m.id}


def _english_ui_strings() -> list[str]:
    """Each English message as a page shows it: without its markup, `%%` as `%`."""
    shown = []
    for msgid in _catalogue("en"):
        if "%(" in msgid:  # filled in: the words around the value are checked below
            shown.extend(p for p in re.split(r"%\([a-z]+\)[sd]", msgid) if len(p.strip()) > 3)
        else:
            shown.append(msgid)
    plain = [" ".join(re.sub(r"<[^>]+>", "", s).replace("%%", "%").split()) for s in shown]
    return [s for s in plain if len(s) > 1]


def test_the_pages_are_chinese_by_default_with_no_english_left(store: Store) -> None:
    reviewer, admin = _signed_in(store, "lin"), _signed_in(store, "boss")
    signin = TestClient(create_app(store)).get("/signin").text
    pages = {"signin": signin}
    for name, path in _pages(store).items():
        response = (admin if name == "admin" else reviewer).get(path)
        assert response.status_code == 200, name
        pages[name] = response.text
    for name, page in pages.items():
        assert '<html lang="zh-Hans">' in page, name
        assert "formscan 人工复核" in page and 'lang="en">English</a>' in page, name
    assert "登录" in pages["signin"] and "密码" in pages["signin"]
    queue = _read(pages["queue"])
    for words in ["确认 / 保存", "跳过", "无法辨认", "值", "上一项", "整张表", "相邻字段"]:
        assert words in queue, words
    assert re.search(r"剩余 <span id=\"left\">\d+</span> 项任务", pages["queue"])
    # Fields by the labels printed on the form; their keys only in a title.
    assert "项目名称" in queue and "主管部门及代码" in queue and "project_name" not in queue
    assert 'title="fields.project_name"' in pages["queue"]
    assert "分组：" in pages["group"] and "指标值" in _read(pages["group"])
    assert "一级指标（第 1 行）" in _read(pages["form"]) and "年度" in _read(pages["form"])
    assert (
        "进度" in pages["admin"] and "静默错误率" in pages["admin"] and "复核员" in pages["admin"]
    )
    english = _english_ui_strings()
    for name, page in pages.items():
        text = _read(page)
        left = [s for s in english if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]
        assert not left, (name, left)


def test_a_reviewer_switches_to_english_and_back(store: Store) -> None:
    client = _signed_in(store, "lin")
    queue = client.get("/queue").text
    switch = re.search(r'<a href="([^"]+)" id="language"', queue)
    assert switch and switch.group(1).replace("&amp;", "&") == "/lang/en?back=%2Fqueue"
    moved = client.get("/lang/en", params={"back": "/queue"})
    assert moved.status_code == 303 and moved.headers["location"] == "/queue"
    cookie = moved.headers["set-cookie"].lower()
    assert (
        f"{LANGUAGE_COOKIE}=en" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    )
    english = client.get("/queue").text
    assert '<html lang="en">' in english
    for words in ["Accept / save", "Skip", "Unreadable", "Value", "Neighbouring fields"]:
        assert words in english, words
    # The printed label stays, the record's key beside it in small print.
    assert "主管部门及代码" in english and '<small class="path">fields.' in english
    assert "确认" not in english
    assert "row 1" in client.get(_pages(store)["form"]).text
    assert client.get("/lang/zh_CN", params={"back": "/groups"}).headers["location"] == "/groups"
    assert '<html lang="zh-Hans">' in client.get("/groups").text


def test_the_switch_goes_back_only_to_this_server(store: Store) -> None:
    client = TestClient(create_app(store), follow_redirects=False)
    for back in ["//evil.example/", "https://evil.example/", "/\\evil.example", "queue"]:
        assert client.get("/lang/en", params={"back": back}).headers["location"] == "/", back
    assert client.get("/lang/fr").status_code == 404


def test_the_server_s_default_language_and_route_messages(store: Store) -> None:
    english = TestClient(create_app(store, language="en"), follow_redirects=False)
    signin = english.get("/signin").text
    assert '<html lang="en">' in signin and "Password" in signin and 'lang="zh-Hans">中文' in signin
    assert english.get("/queue").text == "sign in first"
    chinese = TestClient(create_app(store), follow_redirects=False)
    assert chinese.get("/queue").text == "请先登录"
    reviewer = _signed_in(store, "lin")
    assert reviewer.get("/admin").text == "仅限管理员"  # raised marked, translated when shown
    assert reviewer.get("/task/999999").text == "没有这项任务"
    with pytest.raises(ValueError, match="no catalogue"):
        create_app(store, language="fr")
    refused = subprocess.run(
        [str(FORMSCAN), "review", "--out", "/nonexistent", "--lang", "fr"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "zh_CN, en" in refused.stderr


def test_field_labels_are_the_form_s_printed_ones() -> None:
    chinese = gettext.GNUTranslations(
        (resources.files("pipeline.review") / "locale/zh_CN/LC_MESSAGES/messages.mo").open("rb")
    ).gettext
    form_type = "budget_performance_approval"
    assert field_label(form_type, "fields.department", chinese) == "主管部门及代码"
    assert field_label(form_type, "fields.funds_fiscal", chinese) == "其中：财政拨款"
    assert field_label(form_type, "indicators.2.value", chinese) == "指标值（第 3 行）"
    assert field_label(form_type, "indicators.0.value", str) == "指标值, row 1"
    assert field_label(form_type, "fields.year", chinese) == "年度"
    assert field_label(form_type, "indicators.0.seq", chinese) == "序号（第 1 行）"
    assert field_label("", "name", chinese) == "三级指标"  # a group's key, across form types
    assert field_label("no_such_form", "fields.x", chinese) == "x"
    assert kind_label("amount", chinese) == "金额"
    assert kind_label("indicators.level2", chinese) == "二级指标"


def _method_map() -> list[tuple[str, str]]:
    config = RawConfigParser()
    config.read(REPO / "babel.cfg", encoding="utf-8")
    return [(s.split(":", 1)[1].strip(), s.split(":", 1)[0]) for s in config.sections()]


def _options_map() -> dict[str, dict[str, str]]:
    config = RawConfigParser()
    config.read(REPO / "babel.cfg", encoding="utf-8")
    return {s.split(":", 1)[1].strip(): dict(config.items(s)) for s in config.sections()}


def test_every_message_is_in_both_catalogues_translated_and_compiled() -> None:
    extracted = {
        str(message)
        for _, _, message, _, _ in extract_from_dir(
            REPO / "pipeline" / "review", _method_map(), _options_map()
        )
    }
    assert len(extracted) > 80 and "Accept / save" in extracted and "admins only" in extracted
    for language in LANGUAGES:
        catalogue = _catalogue(language)
        assert set(catalogue) == extracted, (
            f"{language}: run `make messages` and translate: missing "
            f"{sorted(extracted - set(catalogue))}, stale {sorted(set(catalogue) - extracted)}"
        )
        compiled = gettext.GNUTranslations(
            (LOCALE / language / "LC_MESSAGES" / "messages.mo").open("rb")
        )
        for msgid, msgstr in catalogue.items():
            assert compiled.gettext(msgid) == (msgstr or msgid), (language, msgid)
    untranslated = [m for m, s in _catalogue("zh_CN").items() if not s or s == m]
    assert not untranslated, untranslated
    # A message's placeholders are the same in its translation.
    for msgid, msgstr in _catalogue("zh_CN").items():
        fields = sorted(re.findall(r"%\(\w+\)[sd]|%%", msgid))
        assert sorted(re.findall(r"%\(\w+\)[sd]|%%", msgstr)) == fields, msgid
