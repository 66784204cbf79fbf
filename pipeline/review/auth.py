"""Who is asking: password hashes, the signed session cookie's contents, CSRF tokens.

The session is Starlette's signed cookie (itsdangerous, timestamped, so it expires);
it holds the user's name and role, the CSRF token and the reviewer's place in the queue,
never a password. Every POST must carry the session's token in its `csrf` field.
"""

from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.datastructures import FormData
from starlette.requests import Request

_hasher = PasswordHasher()  # argon2id with the library's current parameters

SESSION_HOURS = 8  # one working day; then sign in again
CSRF_FIELD = "csrf"


class NotSignedIn(Exception):
    """The request has no live session: pages redirect to sign-in, anything else is 401."""


class Forbidden(Exception):
    """Signed in, but not allowed: a reviewer on an admin page, or a POST without its token."""


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, with its salt and parameters, for the store."""
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one too)."""
    session: dict[str, Any] = request.session
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


async def posted(request: Request) -> FormData:
    """The request's form, once its CSRF token matches the session's.

    Raises:
        Forbidden: The token is missing or wrong.

    """
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent, expected)
    ):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page")
    return form


def sign_in(request: Request, name: str, role: str) -> None:
    """Start a fresh session for the user: a new CSRF token, no place in the queue yet."""
    request.session.clear()
    request.session.update({"user": name, "role": role})
    csrf_token(request)


def signed_in(request: Request) -> tuple[str, str]:
    """The session's user name and role.

    Raises:
        NotSignedIn: No session, or it expired.

    """
    name, role = request.session.get("user"), request.session.get("role")
    if not isinstance(name, str) or not isinstance(role, str):
        raise NotSignedIn()
    return name, role
