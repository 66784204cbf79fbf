"""Serving the review app with uvicorn: what `formscan review` runs."""

from __future__ import annotations

import ipaddress
import logging

import uvicorn

from pipeline.review.app import create_app
from pipeline.review.i18n import DEFAULT_LANGUAGE
from pipeline.store import Store

DEFAULT_HOST = "127.0.0.1"  # reviewers on this machine only, unless told otherwise
DEFAULT_PORT = 8765


def plain_http_exposed(host: str) -> bool:
    """Whether listening on `host` reaches beyond this machine, where plain HTTP is unsafe."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may well resolve to a public address
        return True


def serve(
    store: Store,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    https: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> None:
    """Serve the review queue of `store` in `language` (a reviewer may pick another)."""
    # Sign-ins, their failures and locks are logged by `formscan.review`, beside uvicorn's.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(store, https=https, language=language)
    uvicorn.run(app, host=host, port=port, log_level="info")
