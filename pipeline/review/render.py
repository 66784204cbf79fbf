"""Pages from `templates/` in the reviewer's language, and the app's store, for the routes."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader

from pipeline.review.auth import csrf_token
from pipeline.review.i18n import AUTONYMS, LANGUAGES, catalogue, language_of, translator
from pipeline.review.labels import field_label, form_title, kind_label
from pipeline.store import Store
from pipeline.store.review import MAX_VALUE_CHARS, value_problem


def page_templates() -> dict[str, Jinja2Templates]:
    """The templates once per language, each with that language's catalogue installed."""
    found = {}
    for language in LANGUAGES:
        env = Environment(
            loader=PackageLoader("pipeline.review", "templates"),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
        )
        # New-style gettext: `_()` and `{% trans %}` escape their values and fill them in;
        # trimmed: a message's line breaks and indents are the template's, not the message's.
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_translations(catalogue(language), newstyle=True)  # type: ignore[attr-defined]
        found[language] = Jinja2Templates(env=env)
    return found


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page from `templates/`, with the session's user and CSRF token at hand."""
    user = getattr(request.state, "user", None)  # set by `signed_in`, from the store
    language = language_of(request)
    gettext = catalogue(language).gettext
    templates: Jinja2Templates = request.app.state.templates[language]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # a refused POST's page has no GET of its own to go back to
        here = "/"
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user.name if user else None,
            "role": user.role if user else None,
            "csrf": csrf_token(request),
            "max_value": MAX_VALUE_CHARS,
            "html_lang": LANGUAGES[language],
            "language": language,
            "switch": [
                (AUTONYMS[other], LANGUAGES[other], f"/lang/{other}?{urlencode({'back': here})}")
                for other in LANGUAGES
                if other != language
            ],
            "label": partial(field_label, gettext=gettext),
            "kind_label": partial(kind_label, gettext=gettext),
            "form_title": form_title,
            **context,
        },
        status_code=status_code,
    )


def refusal(request: Request, value: str) -> str | None:
    """Why a reviewer's `value` cannot be saved, in their language; None when it can."""
    if value_problem(value) is None:  # the store's rule, in the store's words
        return None
    _ = translator(request)
    return _(
        "A value can be at most %(most)s characters; this one has %(has)s. Nothing was saved."
    ) % {"most": f"{MAX_VALUE_CHARS:,}", "has": f"{len(value):,}"}


def store_of(request: Request) -> Store:
    """The store the app serves."""
    store: Store = request.app.state.store
    return store
