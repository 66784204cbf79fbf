"""The queue page (one task at a time, by keyboard) and group review (a grid of one kind).

The reviewer's place is in the session: tasks skipped (left for later, handed back to the
queue) and tasks answered (for the previous and next keys).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from pipeline.review.auth import posted
from pipeline.review.i18n import translator
from pipeline.review.render import refusal, render, store_of
from pipeline.review.sessions import signed_in
from pipeline.store.rows import ReviewTask

router = APIRouter()

_ID = re.compile(r"[0-9]{1,12}")
HISTORY = 100  # answered tasks the previous key can go back through
NEIGHBOURS = 3  # fields shown on either side of the task's field, in the form's order


def today() -> datetime:
    """Midnight UTC: where "done today" starts."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _ids(request: Request, key: str) -> list[int]:
    found = request.session.get(key, [])
    return [i for i in found if isinstance(i, int)] if isinstance(found, list) else []


def _task_id(text: str) -> int | None:
    return int(text) if _ID.fullmatch(text) else None


def _task_page(
    request: Request,
    task: ReviewTask,
    held_by: str | None,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    store = store_of(request)
    view = store.form_view(task.form_id)
    neighbours: list[Any] = []
    if view is not None:
        at = next((n for n, f in enumerate(view.fields) if f.id == task.field_id), 0)
        neighbours = view.fields[max(0, at - NEIGHBOURS) : at + NEIGHBOURS + 1]
    name, _ = signed_in(request)
    progress = store.progress(today())
    return render(
        request,
        "task.html",
        {
            "task": task,
            # The lexicon's offer, shown beside what was read.
            "suggestion": store.suggestion(task.field_id),
            "neighbours": neighbours,
            "held_by": held_by,
            "notice": notice,
            "error": error,
            "left": progress.open,
            "mine_today": progress.by_reviewer.get(name, 0),
        },
        status_code,
    )


@router.get("/queue")
async def queue_page(request: Request) -> Response:
    """The reviewer's next task, claimed for them; or the queue is clear."""
    name, _ = signed_in(request)
    store = store_of(request)
    skipped = _ids(request, "skip")
    task = store.claim_next(name, skip=skipped)
    notice = ""
    if task is None and skipped:
        request.session["skip"] = []
        task = store.claim_next(name)
        _ = translator(request)
        notice = _("Only tasks you skipped are left: here they are again.")
    if task is None:
        return render(request, "clear.html", {"groups": store.groups(name)[:10]})
    return _task_page(request, task, None, notice)


@router.get("/task/{task_id}")
async def task_page(request: Request, task_id: str) -> Response:
    """One task by id: an answered one to change, or an open one if nobody else holds it."""
    name, _ = signed_in(request)
    store = store_of(request)
    _ = translator(request)
    number = _task_id(task_id)
    task = store.task(number) if number is not None else None
    if task is None:
        return Response(_("no such task"), status_code=404)
    held_by = None
    if task.state == "open" and not store.claim(task.id, name):
        held_by = task.claimed_by or _("another reviewer")
    return _task_page(request, task, held_by)


@router.post("/task/{task_id}")
async def answer(request: Request, task_id: str) -> Response:
    """Save (accept or correct), skip, or mark unreadable; then on to the next task."""
    name, _ = signed_in(request)  # a request without a session is refused before all else
    form = await posted(request)
    store = store_of(request)
    number = _task_id(task_id)
    task = store.task(number) if number is not None else None
    _ = translator(request)
    if task is None:
        return Response(_("no such task"), status_code=404)
    if task.state == "open" and not store.claim(task.id, name):
        return Response(
            _("another reviewer holds this task"), status_code=409, media_type="text/plain"
        )
    action = form.get("action", "save")
    value = str(form.get("value", ""))
    problem = refusal(request, value) if action == "save" else None
    if problem:
        return _task_page(request, task, None, error=problem, status_code=400)
    if action == "skip":
        request.session["skip"] = [*_ids(request, "skip"), task.id][-HISTORY:]
    elif action == "unreadable":
        store.mark_unreadable(task.field_id, name)
    else:
        store.correct(task.field_id, value, name)
    if action != "skip":
        history = [i for i in _ids(request, "history") if i != task.id]
        request.session["history"] = [*history, task.id][-HISTORY:]
    return RedirectResponse("/queue", status_code=303)


@router.get("/previous")
async def previous(request: Request, before: str = "") -> Response:
    """The task answered before `before` (or the last one answered)."""
    signed_in(request)
    history = _ids(request, "history")
    at = _task_id(before)
    index = history.index(at) if at in history else len(history)
    if index == 0:
        return RedirectResponse(f"/task/{history[0]}" if history else "/queue", status_code=303)
    return RedirectResponse(f"/task/{history[index - 1]}", status_code=303)


@router.get("/next")
async def next_task(request: Request, after: str = "") -> Response:
    """The task answered after `after`, or back to the queue."""
    signed_in(request)
    history = _ids(request, "history")
    at = _task_id(after)
    if at in history and history.index(at) + 1 < len(history):
        return RedirectResponse(f"/task/{history[history.index(at) + 1]}", status_code=303)
    return RedirectResponse("/queue", status_code=303)


@router.get("/groups")
async def groups_page(request: Request) -> Response:
    """Field kinds with one read value across many tasks, biggest group first."""
    name, _ = signed_in(request)
    return render(request, "groups.html", {"groups": store_of(request).groups(name)})


@router.get("/group")
async def group_page(request: Request, key: str = "", value: str = "") -> Response:
    """One group's crops as a grid, claimed for the reviewer."""
    name, _ = signed_in(request)
    tasks = store_of(request).claim_group(key, value, name)
    if not tasks:
        return RedirectResponse("/groups", status_code=303)
    return render(request, "group.html", {"key": key, "value": value, "tasks": tasks})


@router.post("/group")
async def group_answer(request: Request) -> Response:
    """Every tile's value saved at once: the unchanged ones accepted, the odd ones corrected."""
    name, _ = signed_in(request)  # a request without a session is refused before all else
    form = await posted(request)
    store = store_of(request)
    answers: list[tuple[ReviewTask, str]] = []
    for text in form.getlist("task"):
        number = _task_id(str(text))
        task = store.task(number) if number is not None else None
        if task is not None and store.holds(task.id, name):
            answers.append((task, str(form.get(f"value-{task.id}", task.value))))
    problem = next((p for _, v in answers if (p := refusal(request, v))), None)
    if problem:  # none saved: the grid again, still held, with the reason
        tasks = [task for task, _ in answers]
        context = {"key": tasks[0].key, "value": tasks[0].value, "tasks": tasks, "error": problem}
        return render(request, "group.html", context, 400)
    for task, value in answers:
        store.correct(task.field_id, value, name)
    store.release(name)
    return RedirectResponse("/groups", status_code=303)
