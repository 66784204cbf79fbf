"""The admin page: the queue's progress, the silent error estimate, reopening, accounts."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from pipeline.review.auth import Forbidden, posted
from pipeline.review.i18n import N_, translator
from pipeline.review.queue import today
from pipeline.review.render import render, store_of
from pipeline.review.sessions import signed_in
from pipeline.store_figures import store_figures

router = APIRouter()
log = logging.getLogger("formscan.review")

_ID = re.compile(r"[0-9]{1,12}")


def _admin(request: Request) -> str:
    name, role = signed_in(request)
    if role != "admin":
        raise Forbidden(N_("admins only"))
    return name


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    """Progress, the silent error estimate from audits, the latest closed tasks, accounts."""
    _admin(request)
    store = store_of(request)
    return render(
        request,
        "admin.html",
        {
            "progress": store.progress(today()),
            "figures": store_figures(store),
            "closed": store.closed_tasks(),
            "users": store.users(),
            "now": datetime.now(UTC),
        },
    )


@router.post("/admin/reopen/{task_id}")
async def reopen(request: Request, task_id: str) -> Response:
    """Put a closed task back in the queue."""
    _admin(request)
    await posted(request)
    if not (_ID.fullmatch(task_id) and store_of(request).reopen(int(task_id))):
        _ = translator(request)
        return Response(_("no such task"), status_code=404)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/unlock")
async def unlock(request: Request) -> Response:
    """Lift the lock failed sign-ins put on an account."""
    admin = _admin(request)
    form = await posted(request)
    name = str(form.get("name", ""))
    if not store_of(request).unlock(name):
        _ = translator(request)
        return Response(_("no such user"), status_code=404)
    log.warning("account %r unlocked by %r", name, admin)
    return RedirectResponse("/admin", status_code=303)
