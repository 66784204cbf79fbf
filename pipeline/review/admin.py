"""The admin page: how far the queue is, who did what today, and reopening a task."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from pipeline.review.auth import Forbidden, posted, signed_in
from pipeline.review.queue import today
from pipeline.review.render import render, store_of

router = APIRouter()

_ID = re.compile(r"[0-9]{1,12}")


def _admin(request: Request) -> str:
    name, role = signed_in(request)
    if role != "admin":
        raise Forbidden("admins only")
    return name


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    """Progress (left, held, done today, by reviewer) and the latest closed tasks."""
    _admin(request)
    store = store_of(request)
    return render(
        request,
        "admin.html",
        {"progress": store.progress(today()), "closed": store.closed_tasks()},
    )


@router.post("/admin/reopen/{task_id}")
async def reopen(request: Request, task_id: str) -> Response:
    """Put a closed task back in the queue."""
    _admin(request)
    await posted(request)
    if not (_ID.fullmatch(task_id) and store_of(request).reopen(int(task_id))):
        return Response("no such task", status_code=404)
    return RedirectResponse("/admin", status_code=303)
