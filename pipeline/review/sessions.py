"""The signed-in user of a request: a session the store keeps, named by the cookie.

The cookie is Starlette's signed one (itsdangerous, timestamped, so it expires); it holds a
random session token, the CSRF token and the reviewer's place in the queue, never a password
or a role. Every request looks the token up in the store, so a session ended there (sign-out,
a changed account) is over at once, whatever the cookie says.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request

from pipeline.review.auth import NotSignedIn, csrf_token
from pipeline.store import Store
from pipeline.store.rows import User

SESSION_HOURS = 8  # one working day; then sign in again
_TOKEN = "session"


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for the user: a new CSRF token, no place in the queue yet."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
    _store(request).start_session(user.id, token, expires)
    request.session.clear()
    request.session[_TOKEN] = token
    csrf_token(request)


def signed_in(request: Request) -> tuple[str, str]:
    """The session's user name and role, as the store has them now.

    Raises:
        NotSignedIn: No session, or it ended or expired.

    """
    token = request.session.get(_TOKEN)
    user = _store(request).session_user(token) if isinstance(token, str) else None
    if user is None:
        if token is not None:
            request.session.clear()
        raise NotSignedIn()
    request.state.user = user  # for the page's header
    return user.name, user.role


def sign_out(request: Request) -> None:
    """End the request's session, in the store and in the cookie."""
    token = request.session.get(_TOKEN)
    if isinstance(token, str):
        _store(request).end_session(token)
    request.session.clear()
