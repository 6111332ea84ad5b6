"""Which requests only read: on SQLite their transactions start deferred, beside the writer.

A GET or HEAD only reads, unless its view is marked `@writes` (the page Stripe returns the
shopper to confirms the payment, for one). Everything else (forms, webhooks, jobs, the CLI, a
request context pushed by hand) starts BEGIN IMMEDIATE as before; see
checkout.db.configure_engine_events.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, has_request_context, request

READ_METHODS = frozenset({"GET", "HEAD"})
# Set on the WSGI environ as the request is dispatched, so only a real request is trusted.
READS_ONLY_KEY = "checkout.reads_only"

V = TypeVar("V", bound=Callable)


def writes(view: V) -> V:
    """Mark a GET view that changes the database: its transactions take the write lock first."""
    view.writes_on_read = True  # type: ignore[attr-defined]
    return view


def request_only_reads() -> bool:
    """Say whether the database work of the current request, if any, only reads."""
    return has_request_context() and request.environ.get(READS_ONLY_KEY, False)


def init_read_only(app: Flask) -> None:
    """Decide, before any other hook can touch the database, whether this request only reads."""

    def _decide() -> None:
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        request.environ[READS_ONLY_KEY] = (
            request.method in READ_METHODS and not getattr(view, "writes_on_read", False)
        )

    app.before_request_funcs.setdefault(None, []).insert(0, _decide)
