"""Signing in and out, with failed sign-ins throttled and recorded.

A sign-in is refused unchecked while its client address must wait or its account is locked
(`throttle.py`); otherwise its password is checked off the event loop, a name nobody has
against a dummy hash. Every failure, refusal and lock goes to the `formscan.review` log; an
account's failures in a row and its lock are in the store, for `formscan users list`.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from pipeline.review.auth import check_password, posted
from pipeline.review.i18n import translator
from pipeline.review.render import render, store_of
from pipeline.review.sessions import sign_in, sign_out, signed_in
from pipeline.review.throttle import Throttles, account_lock
from pipeline.store import Store
from pipeline.store.users import MAX_NAME

router = APIRouter()
log = logging.getLogger("formscan.review")


def _refused(request: Request, message: str, seconds: float) -> Response:
    response = render(request, "signin.html", {"error": message}, 429)
    response.headers["Retry-After"] = str(math.ceil(seconds))
    return response


def _minutes(request: Request, seconds: float) -> str:
    _ = translator(request)
    if seconds < 120:
        return _("%(n)d s") % {"n": math.ceil(seconds)}
    return _("%(n)d min") % {"n": math.ceil(seconds / 60)}


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> Response:
    """The sign-in form."""
    return render(request, "signin.html", {"error": None})


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    """Check a name and password; on success start a session and go to the queue."""
    form = await posted(request)
    # No account's name is longer: a longer one is kept short in the throttle's memory.
    name, password = str(form.get("name", ""))[: MAX_NAME + 1], str(form.get("password", ""))
    address = request.client.host if request.client else "unknown"
    throttles: Throttles = request.app.state.throttles
    store = store_of(request)
    _ = translator(request)
    async with throttles.turns.turn(f"address {address}"), throttles.turns.turn(f"name {name}"):
        wait = throttles.addresses.wait(address)
        if wait > 0:
            log.warning("sign-in refused unchecked: %s waits %.0f s more", address, wait)
            message = _("Too many failed sign-ins from here: try again in %(wait)s.")
            return _refused(request, message % {"wait": _minutes(request, wait)}, wait)
        user = store.user(name)
        if user is not None:
            locked_for = user.locked_for(datetime.now(UTC))
        else:  # locked alike, so that a lock tells nothing about which names exist
            locked_for = throttles.unknown_names.wait(name)
        if locked_for > 0:
            log.warning("sign-in refused unchecked: %r is locked (from %s)", name, address)
            message = _(
                "This account is locked after too many failed sign-ins: try again in "
                "%(wait)s, or ask an admin to unlock it."
            )
            return _refused(request, message % {"wait": _minutes(request, locked_for)}, locked_for)
        if not await check_password(user.password_hash if user else None, password):
            _failed(store, throttles, name, address, known=user is not None)
            return render(request, "signin.html", {"error": _("wrong name or password")}, 401)
        assert user is not None  # the dummy hash matches no password
        if user.disabled:
            log.warning("sign-in refused: %r is disabled (from %s)", name, address)
            disabled = _("This account is disabled: ask an admin.")
            return render(request, "signin.html", {"error": disabled}, 403)
        store.signin_passed(name)
        sign_in(request, user)
    log.info("%r signed in from %s", name, address)
    return RedirectResponse("/queue", status_code=303)


def _failed(store: Store, throttles: Throttles, name: str, address: str, known: bool) -> None:
    """Count and record a wrong password: for the address, and for the account or name."""
    from_address = throttles.addresses.failed(address)
    if known:
        after = store.signin_failed(name, account_lock)
        failures = after.failed_signins if after else 1
    else:
        failures = throttles.unknown_names.failed(name)
    log.warning(
        "sign-in failed: wrong password for %r from %s (%d in a row for the name, %d from there)",
        name,
        address,
        failures,
        from_address,
    )
    lock = account_lock(failures)
    if lock is not None:
        log.warning("account %r locked for %s after %d failed sign-ins", name, lock, failures)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session on the server, let go of the reviewer's claims, back to sign-in."""
    name, _ = signed_in(request)
    await posted(request)
    store_of(request).release(name)
    sign_out(request)
    return RedirectResponse("/signin", status_code=303)
