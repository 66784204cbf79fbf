"""The reviewers' language: gettext message catalogues, and which one a request reads.

Chinese is the default; `formscan review --lang en` makes English the server's default, and
a reviewer's own choice (the switch in every page's header) is kept in a cookie. The
catalogues are `locale/LANG/LC_MESSAGES/messages.po`, extracted from the templates and the
route modules by Babel (`make messages`) and compiled to the `.mo` files kept beside them,
so the server reads them with the standard library's gettext alone.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

# Catalogue name → the page's `<html lang>`.
LANGUAGES = {"zh_CN": "zh-Hans", "en": "en"}
# Each language's name in itself: the switch is read by someone who may not read the other.
AUTONYMS = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGE_COOKIE = "formscan_lang"
_YEAR = 365 * 24 * 3600
# Where the switch may send the browser back to: a path on this server, never `//host`.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")

router = APIRouter()


def N_(message: str) -> str:
    """Mark `message` for the catalogues where it is made; it is translated where shown."""
    return message


@cache
def catalogue(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of `language` (a key of `LANGUAGES`)."""
    mo = resources.files("pipeline.review") / "locale" / language / "LC_MESSAGES" / "messages.mo"
    return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))


def language_of(request: Request) -> str:
    """The reviewer's chosen language, else the server's."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    server: str = request.app.state.language
    return server


def translator(request: Request) -> Callable[[str], str]:
    """`gettext` in the request's language, for messages made in the route modules."""
    return catalogue(language_of(request)).gettext


@router.get("/lang/{language}")
async def choose_language(request: Request, language: str, back: str = "/") -> Response:
    """Keep the reviewer's language in a cookie and go back to the page they were on."""
    if language not in LANGUAGES:
        return Response("no such language", status_code=404, media_type="text/plain")
    response = RedirectResponse(back if _LOCAL_PATH.fullmatch(back) else "/", status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=_YEAR,
        httponly=True,
        samesite="strict",
        secure=request.app.state.https,
    )
    return response
