"""Pages from `templates/`, and the app's store, for the route modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from pipeline.review.auth import csrf_token
from pipeline.store import Store
from pipeline.store.review import MAX_VALUE_CHARS


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page from `templates/`, with the session's user and CSRF token at hand."""
    user = getattr(request.state, "user", None)  # set by `signed_in`, from the store
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user.name if user else None,
            "role": user.role if user else None,
            "csrf": csrf_token(request),
            "max_value": MAX_VALUE_CHARS,
            **context,
        },
        status_code=status_code,
    )


def store_of(request: Request) -> Store:
    """The store the app serves."""
    store: Store = request.app.state.store
    return store
