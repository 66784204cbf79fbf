"""The review server over HTTP, without the models: sessions, CSRF, escaping, images, claims.

The store is filled with hand-made forms (as in test_store.py); the browser tests in
test_review_browser.py use forms read by the real pipeline.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline.readings import Evidence, FieldReading, FormReading
from pipeline.review import create_app
from pipeline.review.auth import hash_password
from pipeline.run import FileResult
from pipeline.store import Store
from pipeline.store import schema as t

VERSIONS = {"formscan": "0.1.0", "ocr": "o", "template": "t@1", "calibration": "c1"}
SCRIPT = "<script>alert('ocr')</script>"
EVIL_FILE = "<img src=x onerror=alert(1)>.jpg"
PASSWORD = "correct horse battery"
FORMSCAN = Path(sys.executable).parent / "formscan"


def _field(value: str, confidence: float, review: bool) -> FieldReading:
    return FieldReading(
        value=value,
        raw=value,
        page=1,
        bbox=[10.0, 20.0, 110.0, 60.0],
        evidence=Evidence(rec_score=confidence),
        confidence=confidence,
        review=review,
    )


def _form(file: str, goal: str) -> FormReading:
    return FormReading(
        file=file,
        pages=[1],
        form_type="budget_performance_approval",
        fields={
            "project_name": _field("项目甲", 0.99, False),
            "overall_goal": _field(goal, 0.3, True),
        },
        indicators=[
            {"level1": _field("产出指标", 0.6, True), "value": _field("≥90%", 0.5, True)},
        ],
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'formscan.db'}")
    run = store.start_run(["/scans"], {})
    for n, (name, goal) in enumerate([(EVIL_FILE, SCRIPT), ("b.jpg", "目标"), ("c.jpg", "目标")]):
        document = store.add_document(f"{n:064d}", f"/scans/{name}", name, 10, run)
        result = FileResult(name, pages=1, forms=[_form(name, goal)], page_seconds=[1.0])
        crops = {(0, "fields.overall_goal"): b"\x89PNG crop"}
        store.save_reading(document, run, result, VERSIONS, crops)
    store.set_user("lin", "reviewer", hash_password(PASSWORD))
    store.set_user("wang", "reviewer", hash_password(PASSWORD))
    store.set_user("boss", "admin", hash_password(PASSWORD))
    return store


def _client(store: Store, https: bool = False) -> TestClient:
    base = "https://testserver" if https else "http://testserver"
    return TestClient(create_app(store, https=https), base_url=base, follow_redirects=False)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _signed_in(store: Store, name: str = "lin", https: bool = False) -> tuple[TestClient, str]:
    client = _client(store, https)
    token = _csrf(client.get("/signin").text)
    response = client.post("/signin", data={"name": name, "password": PASSWORD, "csrf": token})
    assert response.status_code == 303, response.text
    return client, _csrf(client.get("/groups").text)  # a new session has a new token


def test_a_request_without_a_session_is_refused(store: Store) -> None:
    client = _client(store)
    page = client.get("/queue", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/signin"
    for path in ["/queue", "/task/1", "/form/1", "/crop/1", "/page/1", "/groups", "/admin"]:
        assert client.get(path).status_code == 401, path
    token = _csrf(client.get("/signin").text)  # even with a valid token, no session: refused
    for path in ["/task/1", "/field/1", "/group", "/admin/reopen/1", "/signout"]:
        assert client.post(path, data={"csrf": token, "value": "x"}).status_code == 401, path
    assert store.counts()["corrections"] == 0


def test_a_wrong_password_gets_no_session(store: Store) -> None:
    client = _client(store)
    token = _csrf(client.get("/signin").text)
    response = client.post("/signin", data={"name": "lin", "password": "nope", "csrf": token})
    assert response.status_code == 401 and "wrong name or password" in response.text
    assert client.get("/queue").status_code == 401


def test_a_post_without_the_csrf_token_is_refused(store: Store) -> None:
    client, token = _signed_in(store)
    task = store.review_queue()[0]
    for data in [{"value": "x"}, {"value": "x", "csrf": "forged"}]:
        for path in [f"/task/{task.id}", f"/field/{task.field_id}", "/group", "/signout"]:
            assert client.post(path, data=data).status_code == 403, (path, data)
    fresh = _client(store)  # signing in needs the sign-in page's token too
    assert fresh.post("/signin", data={"name": "lin", "password": PASSWORD}).status_code == 403
    assert store.counts()["corrections"] == 0
    assert client.post(f"/task/{task.id}", data={"value": "x", "csrf": token}).status_code == 303
    assert store.counts()["corrections"] == 1


def test_the_session_cookie_is_httponly_strict_expiring_and_secure_over_https(
    store: Store,
) -> None:
    for https in (False, True):
        client = _client(store, https)
        token = _csrf(client.get("/signin").text)
        response = client.post("/signin", data={"name": "lin", "password": PASSWORD, "csrf": token})
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=28800" in cookie
        assert ("secure" in cookie.split("; ")) is https


def test_ocr_text_and_file_names_show_as_text_never_as_markup(store: Store) -> None:
    client, _ = _signed_in(store)
    queue = client.get("/queue")
    assert queue.status_code == 200
    assert "<script>alert" not in queue.text and "<img src=x" not in queue.text
    assert "&lt;script&gt;alert(&#39;ocr&#39;)&lt;/script&gt;" in queue.text
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in queue.text
    assert "script-src 'self'" in queue.headers["content-security-policy"]
    form = client.get(f"/form/{store.review_queue()[0].form_id}")
    assert "<script>alert" not in form.text and "&lt;script&gt;" in form.text


@pytest.mark.parametrize(
    "path",
    [
        "/crop/999999",
        "/crop/abc",
        "/crop/..%2F..%2Fetc%2Fpasswd",
        "/crop/%2Fetc%2Fpasswd",
        "/crop/1.png",
        "/page/999999",
        "/page/..%2Fformscan.db",
        "/page/-1",
        "/static/..%2F..%2Fstore%2Fschema.py",
        "/static/auth.py",
    ],
)
def test_an_image_request_naming_a_path_or_an_unknown_id_gets_404(store: Store, path: str) -> None:
    client, _ = _signed_in(store)
    assert client.get(path).status_code == 404


def test_images_come_from_the_store_by_id(store: Store) -> None:
    client, _ = _signed_in(store)
    task = next(t for t in store.review_queue() if t.has_crop)
    crop = client.get(f"/crop/{task.id}")
    assert crop.status_code == 200 and crop.content == b"\x89PNG crop"
    assert crop.headers["content-type"] == "image/png"


def test_two_reviewers_never_get_the_same_task(store: Store) -> None:
    lin, _ = _signed_in(store, "lin")
    wang, _ = _signed_in(store, "wang")

    def current(client: TestClient) -> tuple[str, str]:
        page = client.get("/queue").text
        found = re.search(r'data-task="(\d+)"', page)
        assert found
        return found.group(1), _csrf(page)

    answered = []
    for _ in range(3):
        (mine, token), (theirs, _) = current(lin), current(wang)
        assert mine != theirs and current(lin)[0] == mine  # a reload keeps one's own task
        lin.post(f"/task/{mine}", data={"csrf": token, "value": "x"})
        answered.append(mine)
    assert len(set(answered)) == 3
    held = store.review_queue()[0]
    assert store.claim(held.id, "lin")
    assert "is working on this task" in wang.get(f"/task/{held.id}").text
    answer = wang.post(f"/task/{held.id}", data={"csrf": _csrf(wang.get("/queue").text)})
    assert answer.status_code == 409


def test_a_claim_expires(store: Store) -> None:
    task = store.review_queue()[0]
    assert store.claim(task.id, "lin", ttl=timedelta(seconds=-1))
    assert store.claim(task.id, "wang")
    assert not store.claim(task.id, "lin")
    nxt = store.claim_next("lin")
    assert nxt is not None and nxt.id != task.id


def test_a_correction_records_who_when_old_and_new_and_an_admin_reopens_it(store: Store) -> None:
    client, _ = _signed_in(store)
    page = client.get("/queue").text
    task_id = int(re.search(r'data-task="(\d+)"', page).group(1))  # type: ignore[union-attr]
    task = store.task(task_id)
    assert task is not None
    client.post(f"/task/{task_id}", data={"csrf": _csrf(page), "value": "改正的值"})
    with store.engine.connect() as c:
        [row] = c.execute(select(t.corrections).where(t.corrections.c.field_id == task.field_id))
    assert (row.reviewer, row.old_value, row.new_value) == ("lin", task.value, "改正的值")
    assert row.at is not None
    done = store.task(task_id)
    assert done is not None and done.state == "done" and done.current == "改正的值"

    assert client.get("/admin").status_code == 403  # a reviewer is no admin
    admin, token = _signed_in(store, "boss")
    progress = admin.get("/admin").text
    assert re.search(r'id="done-today">1<', progress) and "lin" in progress
    assert admin.post(f"/admin/reopen/{task_id}", data={"csrf": token}).status_code == 303
    reopened = store.task(task_id)
    assert reopened is not None and reopened.state == "open"
    assert task_id in [q.id for q in store.review_queue()]


def test_unreadable_closes_the_task_and_keeps_the_field_in_review(store: Store) -> None:
    client, _ = _signed_in(store)
    page = client.get("/queue").text
    task_id = int(re.search(r'data-task="(\d+)"', page).group(1))  # type: ignore[union-attr]
    client.post(f"/task/{task_id}", data={"csrf": _csrf(page), "action": "unreadable"})
    task = store.task(task_id)
    assert task is not None and task.state == "unreadable" and task.corrected is None
    assert store.counts()["corrections"] == 0


def test_group_review_accepts_a_grid_at_once_and_fixes_the_odd_one_in_place(store: Store) -> None:
    client, token = _signed_in(store)
    assert ("value", "≥90%", 3) in store.groups("lin")
    page = client.get("/group", params={"key": "value", "value": "≥90%"}).text
    ids = re.findall(r'name="task" value="(\d+)"', page)
    assert len(ids) == 3 and "wang" not in page
    assert not store.claim(int(ids[0]), "wang")  # the grid is held for its reviewer
    data = {"csrf": token, "task": ids, **{f"value-{i}": "≥90%" for i in ids}}
    data[f"value-{ids[1]}"] = "≥95%"
    assert client.post("/group", data=data).status_code == 303
    values = [store.task(int(i)) for i in ids]
    assert [(v.state, v.current) for v in values if v] == [
        ("done", "≥90%"),
        ("done", "≥95%"),
        ("done", "≥90%"),
    ]
    assert ("value", "≥90%", 3) not in store.groups("lin")


def test_the_form_page_lets_a_reviewer_fix_any_field(store: Store) -> None:
    client, token = _signed_in(store)
    form_id = store.review_queue()[0].form_id
    view = store.form_view(form_id)
    assert view is not None
    name = next(f for f in view.fields if f.key == "project_name")
    assert name.review_state == "none"
    page = client.get(f"/form/{form_id}").text
    assert f'id="f{name.id}"' in page
    response = client.post(f"/field/{name.id}", data={"csrf": token, "value": "项目乙"})
    assert response.status_code == 303 and response.headers["location"].endswith(f"#f{name.id}")
    client.post(f"/field/{name.id}", data={"csrf": token, "value": "项目乙"})  # unchanged: nothing
    fixed = store.form_view(form_id)
    assert fixed is not None
    assert [(f.current, f.reviewed_by) for f in fixed.fields if f.id == name.id] == [
        ("项目乙", "lin")
    ]
    assert store.counts()["corrections"] == 1


def test_users_add_reads_the_password_from_stdin_and_keeps_only_a_hash(tmp_path: Path) -> None:
    Store.open(f"sqlite:///{tmp_path / 'formscan.db'}").close()
    added = subprocess.run(
        [str(FORMSCAN), "users", "add", "--out", tmp_path, "zhao", "--role", "admin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    store = Store.open(f"sqlite:///{tmp_path / 'formscan.db'}")
    user = store.user("zhao")
    assert user is not None and user.role == "admin"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    client, _ = _signed_in(store, "zhao")
    assert client.get("/admin").status_code == 200
    short = subprocess.run(
        [str(FORMSCAN), "users", "add", "--out", tmp_path, "qian"],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert short.returncode == 2 and store.user("qian") is None
    store.close()
