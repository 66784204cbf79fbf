"""The lexicon without the models: learnt from answers, imported, applied, routed, shown.

The store tests run on SQLite and on PostgreSQL (a throwaway server, see conftest.py); the
review page is fetched over HTTP, as in test_review_web.py. The end-to-end run that reads a
second batch with a learnt lexicon is in test_simulate_learning.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_review_web import PASSWORD, VERSIONS, _csrf

from pipeline.check import check_form
from pipeline.confidence import BASE_FEATURES, FEATURES, GroupModel, load_calibration, score_form
from pipeline.form_spec import load_template
from pipeline.lexicon import Lexicon, apply_lexicon, edit_bound, nearest
from pipeline.pages import FileResult
from pipeline.readings import AuditDraw, Evidence, FieldReading, FormReading, LexiconChange
from pipeline.review import create_app
from pipeline.review.auth import hash_password
from pipeline.review.i18n import LANGUAGE_COOKIE
from pipeline.store import Store

FORMSCAN = Path(sys.executable).parent / "formscan"
APPROVAL = "budget_performance_approval"
TEMPLATE = load_template(APPROVAL)
UNIT = "原州区南关街道办事处"  # 10 characters: one edit may be offered


def _field(value: str, review: bool, confidence: float = 0.99) -> FieldReading:
    return FieldReading(
        value=value,
        raw=value,
        page=1,
        bbox=[10.0, 20.0, 110.0, 60.0],
        evidence=Evidence(rec_score=confidence, char_min=confidence),
        confidence=confidence,
        review=review,
    )


def _form(file: str, unit: str, name: str) -> FormReading:
    return FormReading(
        file=file,
        pages=[1],
        form_type=APPROVAL,
        fields={
            "project_name": _field("社区工作者工资", False),
            "implementing_unit": _field(unit, True, 0.6),
            "overall_goal": _field("保障工作开展", True, 0.5),
        },
        indicators=[
            {
                "level1": _field("满意度指标", False),
                "level2": _field("服务对象满意度指标", False),
                "seq": _field("1", False),
                "name": _field(name, True, 0.6),
                "value": _field("≥90%", True, 0.5),
            }
        ],
    )


def _store(url: str, forms: list[FormReading], audit: bool = False) -> Store:
    store = Store.open(url)
    run = store.start_run(["/scans"], {})
    for n, form in enumerate(forms):
        document = store.add_document(f"{n:064d}", f"/scans/{form.file}", form.file, 10, run)
        drawn = AuditDraw(stratum=f"{APPROVAL}:text", rate=0.25)
        audits = {(0, "fields.project_name"): drawn} if audit else {}
        result = FileResult(form.file, pages=1, forms=[form], page_seconds=[1.0], audits=audits)
        store.save_reading(document, run, result, VERSIONS, {})
    return store


def _answer(store: Store, file: str, path: str, value: str) -> None:
    task = next(t for t in store.review_queue() if t.file == file and t.path == path)
    store.correct(task.field_id, value, "lin")


def _known(store: Store) -> dict[tuple[str, str, str], int]:
    return {(e.key, e.value, e.source): e.seen for e in store.lexicon_entries(APPROVAL)}


def test_reviewers_answers_of_the_repeating_fields_make_the_lexicon(store_at: str) -> None:
    forms = [
        _form("a.jpg", "原州区南关街遭办事处", "群众满意度"),
        _form("b.jpg", UNIT, "群众满意度"),
    ]
    store = _store(store_at, forms, audit=True)
    _answer(store, "a.jpg", "fields.implementing_unit", UNIT)  # corrected
    _answer(store, "b.jpg", "fields.implementing_unit", UNIT)  # confirmed
    _answer(store, "a.jpg", "indicators.0.name", "群众满意度")
    _answer(store, "a.jpg", "fields.project_name", "社区工作者工资")  # an audit counts too
    _answer(store, "a.jpg", "fields.overall_goal", "保障工作开展。")  # no lexicon: goals differ
    _answer(store, "a.jpg", "indicators.0.value", "≥95%")  # nor of 指标值
    assert _known(store) == {
        ("implementing_unit", UNIT, "review"): 2,
        ("indicators.name", "群众满意度", "review"): 1,
        ("project_name", "社区工作者工资", "review"): 1,
    }
    [entry] = store.lexicon_entries(APPROVAL, "implementing_unit")
    assert entry.first_seen <= entry.last_seen
    # A reviewer who changes an answer takes its count from the old value.
    field = store.field_id("b.jpg", 0, "fields.implementing_unit")
    store.correct(field, "原州区南关街道办", "lin")
    assert _known(store)[("implementing_unit", UNIT, "review")] == 1
    assert _known(store)[("implementing_unit", "原州区南关街道办", "review")] == 1
    store.correct(field, UNIT, "lin")
    assert ("implementing_unit", "原州区南关街道办", "review") not in _known(store)
    store.close()


def _formscan(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FORMSCAN, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def test_an_admin_imports_an_official_list_and_lists_the_lexicon(tmp_path: Path) -> None:
    Store.open(f"sqlite:///{tmp_path / 'formscan.db'}").close()
    units = tmp_path / "units.csv"
    # A header (the printed label), a BOM, a blank row, a value twice, a second column.
    units.write_text("\ufeff实施单位,code\n固原市教育局,1\n\n原州区民政局,2\n固原市教育局,1\n")
    done = _formscan("lexicon", "import", "--out", tmp_path, "--field", "implementing_unit", units)
    assert done.returncode == 0, done.stderr
    # Both form types keep a lexicon of the unit, and take the list.
    assert f"{APPROVAL} implementing_unit: 2 new values, 0 known already" in done.stdout
    assert "performance_self_evaluation implementing_unit: 2 new values" in done.stdout
    again = _formscan(
        "lexicon", "import", "--out", tmp_path, "--field", "implementing_unit",
        "--form-type", APPROVAL, units,
    )  # fmt: skip
    assert f"{APPROVAL} implementing_unit: 0 new values, 2 known already" in again.stdout
    listed = _formscan("lexicon", "list", "--out", tmp_path, "--field", "implementing_unit")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines() if "\t" in line]
    assert [r[:5] for r in rows if r[0] == APPROVAL] == [
        [APPROVAL, "implementing_unit", "原州区民政局", "import", "2"],
        [APPROVAL, "implementing_unit", "固原市教育局", "import", "2"],
    ]
    assert "4 known values" in listed.stdout
    refused = _formscan("lexicon", "import", "--out", tmp_path, "--field", "overall_goal", units)
    assert refused.returncode == 2 and "no lexicon of 'overall_goal'" in refused.stderr
    assert "implementing_unit" in refused.stderr  # it says which fields keep one


def _lexicon(tmp_path: Path, values: dict[str, list[str]]) -> Lexicon:
    store = Store.open(f"sqlite:///{tmp_path / 'lexicon.db'}")
    for key, found in values.items():
        store.import_lexicon(APPROVAL, key, found)
    lexicon = Lexicon.from_entries(store.lexicon_entries())
    store.close()
    return lexicon


def _read(unit: str, name: str, project: str = "2024年社区工作者工资") -> FormReading:
    form = _form("a.jpg", unit, name)
    form.fields["project_name"] = _field(project, False)
    for _, reading in form.all_fields():
        reading.evidence.rec_score = reading.evidence.char_min = 0.999
    check_form(TEMPLATE, form)
    return form


def test_a_near_reading_is_offered_as_the_known_value_and_what_was_read_is_kept(
    tmp_path: Path,
) -> None:
    lexicon = _lexicon(
        tmp_path,
        {
            "implementing_unit": [UNIT, "固原市教育局"],
            "indicators.name": ["社区工作者工资发放及时率"],
            "project_name": ["2023年社区工作者工资"],
        },
    )
    assert edit_bound(len(UNIT)) == 1 and edit_bound(9) == 0 and edit_bound(20) == 2
    form = _read("原州区南关街遭办事处", "社区工作者工资发放及时卒")  # one misread in each
    assert apply_lexicon(form, TEMPLATE, lexicon) == 2
    unit, name = form.fields["implementing_unit"], form.indicators[0]["name"]
    assert unit.value == UNIT and name.value == "社区工作者工资发放及时率"
    assert unit.raw == "原州区南关街遭办事处"  # the OCR text stays as it was read
    change = unit.evidence.lexicon
    assert change is not None
    assert (change.read, change.offered, change.edits) == ("原州区南关街遭办事处", UNIT, 1)
    assert change.sources == ["import"] and change.seen == 1 and change.lexicon == lexicon.version
    assert change.distance == pytest.approx(0.1)
    # A year is not a misread character: 2024年 is another project than 2023年, left as read.
    assert form.fields["project_name"].value == "2024年社区工作者工资"
    assert form.fields["project_name"].evidence.lexicon is None


def test_a_far_or_doubtful_reading_is_left_exactly_as_read(tmp_path: Path) -> None:
    lexicon = _lexicon(
        tmp_path,
        {"implementing_unit": [UNIT, "原州区南关街道办事所"], "indicators.name": ["群众满意度"]},
    )
    far = _read("海原县民政局社会福利院", "群众满意率")  # far; and too short for any edit
    before = far.model_copy(deep=True)
    assert apply_lexicon(far, TEMPLATE, lexicon) == 0
    assert far == before
    # One edit from two known values: nothing says which it is.
    between = _read("原州区南关街道办事x", "群众满意度")
    assert apply_lexicon(between, TEMPLATE, lexicon) == 0
    assert between.fields["implementing_unit"].value == "原州区南关街道办事x"
    assert between.indicators[0]["name"].evidence.lexicon_exact  # a known value, as read
    known = lexicon.known(APPROVAL, "implementing_unit")
    assert nearest("原州区南关街道办事x", known) is None
    assert nearest("原州区南关街道办事处", known) is None  # known: no edit to offer


def test_a_value_the_lexicon_changed_goes_to_review_until_a_calibration_weighs_it(
    tmp_path: Path,
) -> None:
    lexicon = _lexicon(tmp_path, {"implementing_unit": [UNIT]})
    changed = _read("原州区南关街遭办事处", "群众满意度")
    same = _read(UNIT, "群众满意度")
    for form in (changed, same):
        apply_lexicon(form, TEMPLATE, lexicon)
        form.fields["implementing_unit"].evidence.rule_failures.clear()
    shipped = load_calibration(APPROVAL)
    assert "lexicon_distance" not in shipped.features  # fitted before the lexicon
    # A calibration that trusts every field of these forms, to show what routing alone does.
    trusting = shipped.model_copy(update={"threshold": 0.0, "thresholds": {}})
    score_form(changed, TEMPLATE, trusting)
    score_form(same, TEMPLATE, trusting)
    assert changed.fields["implementing_unit"].review
    assert not same.fields["implementing_unit"].review  # the same value, read so: no doubt
    score_form(changed, TEMPLATE, shipped)
    assert changed.fields["implementing_unit"].review  # the shipped models too
    # Models that have weighed such changes decide for themselves.
    weighed = trusting.model_copy(
        update={
            "features": list(FEATURES),
            "groups": {"default": GroupModel(weights=[3.0] + [0.0] * (len(FEATURES) - 1))},
        }
    )
    assert len(BASE_FEATURES) < len(FEATURES)
    score_form(changed, TEMPLATE, weighed)
    assert not changed.fields["implementing_unit"].review


def test_the_review_page_shows_the_reading_beside_the_offered_value(tmp_path: Path) -> None:
    form = _form("a.jpg", UNIT, "群众满意度")
    form.fields["implementing_unit"].evidence.lexicon = LexiconChange(
        read="原州区南关街遭办事处",
        offered=UNIT,
        edits=1,
        sources=["review"],
        seen=3,
        lexicon="1 values abc",
    )
    store = _store(f"sqlite:///{tmp_path / 'formscan.db'}", [form])
    store.set_user("lin", "reviewer", hash_password(PASSWORD))
    task = next(t for t in store.review_queue() if t.key == "implementing_unit")
    other = next(t for t in store.review_queue() if t.key == "overall_goal")
    client = TestClient(create_app(store), base_url="http://testserver", follow_redirects=False)
    token = _csrf(client.get("/signin").text)
    signed = client.post("/signin", data={"name": "lin", "password": PASSWORD, "csrf": token})
    assert signed.status_code == 303
    page = client.get(f"/task/{task.id}").text
    assert '<code class="read">原州区南关街遭办事处</code>' in page
    assert f'<code class="offered">{UNIT}</code>' in page
    assert "按已知值建议为" in page  # in Chinese by default
    assert f'value="{UNIT}"' in page  # the offer is what Enter accepts
    assert 'class="suggestion"' not in client.get(f"/task/{other.id}").text
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.get(f"/task/{task.id}").text
    assert "offered as the known value" in english and "原州区南关街遭办事处" in english
    store.close()
