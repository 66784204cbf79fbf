"""Who is asking: password hashes, CSRF tokens, and the errors that refuse a request.

Checking a password is argon2id: about 0.2 s of a core and 64 MiB. It runs in worker
threads, never on the event loop, so pages stay quick while people sign in; at most
`HASHING_THREADS` at once, which leaves a core for the pages and bounds the memory a flood
of sign-ins can take. A sign-in for a name nobody has is checked against a dummy hash, so
it takes as long as a wrong password and does not tell which names exist.
"""

from __future__ import annotations

import os
import secrets
import threading
from functools import partial
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.datastructures import FormData
from starlette.requests import Request

from pipeline.review.i18n import N_

_hasher = PasswordHasher()  # argon2id with the library's current parameters

HASHING_THREADS = max(1, (os.cpu_count() or 2) - 1)
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


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # matches no password anyone sends
# A thread's semaphore, not anyio's limiter: that one belongs to one event loop, and the
# test client runs each request on a loop of its own.
_hashing = threading.BoundedSemaphore(HASHING_THREADS)


def _matches_in_turn(stored_hash: str, password: str) -> bool:
    with _hashing:
        return password_matches(stored_hash, password)


async def check_password(stored_hash: str | None, password: str) -> bool:
    """`password_matches` in a worker thread; a missing account's hash is the dummy one."""
    check = partial(_matches_in_turn, stored_hash or _DUMMY_HASH, password)
    matches = await anyio.to_thread.run_sync(check)
    return matches and stored_hash is not None


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
        raise Forbidden(N_("the form's CSRF token is missing or stale: reload the page"))
    return form
