"""The review server's app factory: the cookie, templates, security headers, images, routes.

Pages are rendered on the server with Jinja2 (autoescape on, so OCR text and file names
are always text), with one small script for the keys. Images come from the store by a
numeric id only: nothing from a request becomes a file-system path.
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from pipeline.review import admin, forms, i18n, queue, signin
from pipeline.review.auth import Forbidden, NotSignedIn
from pipeline.review.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from pipeline.review.render import page_templates
from pipeline.review.sessions import SESSION_HOURS, signed_in
from pipeline.review.throttle import Throttles
from pipeline.store import Store

_ID = re.compile(r"[0-9]{1,12}")
# Pages load nothing but their own script and style, and images from this server.
_CSP = "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; form-action 'self'"


def create_app(
    store: Store, https: bool = False, secret: str | None = None, language: str = DEFAULT_LANGUAGE
) -> FastAPI:
    """The review server over `store`.

    Args:
        store: The store whose queue is reviewed.
        https: Served behind TLS: the session cookie is then marked `Secure`. On plain
            http (127.0.0.1) a `Secure` cookie would never come back, so it is not.
        secret: Signs the session cookie; a random one by default, so cookies from before a
            restart are void. Sessions themselves live in the store, which can end them.
        language: The pages' language (a key of `i18n.LANGUAGES`) for a reviewer who has
            not chosen one.

    Raises:
        ValueError: `language` has no catalogue.

    """
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}; known: {', '.join(LANGUAGES)}")
    app = FastAPI(title="formscan review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret or secrets.token_urlsafe(32),
        session_cookie="formscan_session",
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=https,
    )
    app.state.store = store
    app.state.https = https
    app.state.language = language
    app.state.templates = page_templates()
    app.state.throttles = Throttles()

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, error: NotSignedIn) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/signin", status_code=303)
        _ = translator(request)
        return Response(_("sign in first"), status_code=401, media_type="text/plain")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        # Its message was marked where it was raised; it is translated here, for the reader.
        message = translator(request)(str(error))
        return Response(message, status_code=403, media_type="text/plain")

    @app.get("/")
    async def home(request: Request) -> Response:
        signed_in(request)
        return RedirectResponse("/queue", status_code=303)

    @app.get("/crop/{task_id}")
    async def crop(request: Request, task_id: str) -> Response:
        signed_in(request)
        png = store.crop(int(task_id)) if _ID.fullmatch(task_id) else None
        return _image(request, png, "image/png")

    @app.get("/page/{page_id}")
    async def page(request: Request, page_id: str) -> Response:
        signed_in(request)
        jpeg = store.page_image(int(page_id)) if _ID.fullmatch(page_id) else None
        return _image(request, jpeg, "image/jpeg")

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        # A fixed list, read from the package by name: the request picks, never builds, a path.
        kinds = {"review.js": "text/javascript", "review.css": "text/css"}
        if name not in kinds:
            return Response("not found", status_code=404)
        body = (resources.files("pipeline.review") / "static" / name).read_bytes()
        return Response(body, media_type=kinds[name], headers={"Cache-Control": "max-age=300"})

    app.include_router(i18n.router)
    app.include_router(signin.router)
    app.include_router(queue.router)
    app.include_router(forms.router)
    app.include_router(admin.router)
    return app


def _image(request: Request, data: bytes | None, media_type: str) -> Response:
    if data is None:
        _ = translator(request)
        return Response(_("no such image"), status_code=404, media_type="text/plain")
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})
