"""The form page: a page image with every field's box and value, each field open to a fix."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from pipeline.review.auth import posted
from pipeline.review.i18n import translator
from pipeline.review.render import refusal, render, store_of
from pipeline.review.sessions import signed_in

router = APIRouter()

_ID = re.compile(r"[0-9]{1,12}")


@router.get("/form/{form_id}")
async def form_page(request: Request, form_id: str) -> Response:
    """Every field of a form over its page image, reviewed or not."""
    signed_in(request)
    view = store_of(request).form_view(int(form_id)) if _ID.fullmatch(form_id) else None
    if view is None:
        _ = translator(request)
        return Response(_("no such form"), status_code=404)
    return render(request, "form.html", {"form": view})


@router.post("/field/{field_id}")
async def fix_field(request: Request, field_id: str) -> Response:
    """A reviewer's value for any field; an unchanged value records nothing."""
    name, _ = signed_in(request)  # a request without a session is refused before all else
    form = await posted(request)
    store = store_of(request)
    form_id = store.field_form(int(field_id)) if _ID.fullmatch(field_id) else None
    view = store.form_view(form_id) if form_id is not None else None
    field = next((f for f in view.fields if str(f.id) == field_id), None) if view else None
    if view is None or field is None:
        _ = translator(request)
        return Response(_("no such field"), status_code=404)
    value = str(form.get("value", ""))
    problem = refusal(request, value)
    if problem:
        return render(request, "form.html", {"form": view, "error": problem}, 400)
    if value != field.current:
        store.correct(field.id, value, name)
    return RedirectResponse(f"/form/{view.id}#f{field.id}", status_code=303)
