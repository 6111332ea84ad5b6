"""The sandbox's own Flask app: its config, blueprints, error pages, limits and CLI."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from stripe_sandbox import api, controls, page
from stripe_sandbox.cli import sandbox_cli
from stripe_sandbox.config import ENV_PREFIX, check, defaults
from stripe_sandbox.errors import StripeError
from stripe_sandbox.sandbox import Sandbox
from stripe_sandbox.store import dumps

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a sandbox app; `config` overrides the defaults (without it, read STRIPE_SANDBOX_*).

    Does no I/O: the database is opened and the delivery thread started on first use.
    """
    app = Flask(__name__.rpartition(".")[0], static_folder=None)
    app.config.update(defaults(Path(app.instance_path)))
    if config is None:
        app.config.from_prefixed_env(ENV_PREFIX)
    else:
        app.config.from_mapping(config)
    check(app.config)
    sandbox = Sandbox(app.config)
    app.extensions["sandbox"] = sandbox
    for blueprint in (api.bp, controls.bp, page.bp):
        app.register_blueprint(blueprint)
    app.before_request(_refuse_nul)
    app.before_request(sandbox.ensure_worker)
    app.after_request(_page_headers)
    app.add_template_global(csp_nonce)
    register_errorhandlers(app)
    app.cli.add_command(sandbox_cli)
    return app


def _refuse_nul() -> None:
    """Refuse a NUL byte anywhere in the path, the query or the body, before anything runs.

    PostgreSQL can neither store nor compare text that holds one. Bodies are form-encoded, so
    a NUL arrives as %00 (a literal "%00" in a value is sent as %2500); the control routes
    also take JSON, where a NUL arrives escaped and is looked for once the body is parsed.
    """
    raw = request.query_string + request.get_data(cache=True)
    try:
        holds_nul = request.is_json and _holds_nul(request.get_json(silent=True))
    except RecursionError:
        # json and the walk recurse once per level: a body nested thousands deep is no request.
        abort(400, "The JSON body is nested too deeply.")
    if "\x00" in request.path or b"\x00" in raw or b"%00" in raw or holds_nul:
        abort(400, "Request values cannot contain NUL bytes.")


def _holds_nul(value: Any) -> bool:
    """Say whether a parsed JSON body holds a NUL in any key or text, however deep."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def csp_nonce() -> str:
    """This response's nonce, which lets the page's own <style> apply under its policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _page_headers(response: Response) -> Response:
    """Guard the hosted page like Stripe's: no frames, no script, never stored, no sniffing."""
    if _speaks_json():
        return response
    headers = response.headers
    # No form-action: paying redirects the form's POST to the shop's success_url, wherever
    # the shop lives.
    headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'none'; style-src 'nonce-{csp_nonce()}'; "
        "img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cache-Control"] = "private, no-store"
    return response


def sandbox_of(app: Flask) -> Sandbox:
    """Return the Sandbox (the Python control API) of an app built by create_app."""
    return app.extensions["sandbox"]


def _speaks_json() -> bool:
    # The API and the controls are called by programs that parse Stripe's error object; the
    # hosted page is read by people.
    return request.path.startswith(("/v1/", "/_controls/")) or request.path in ("/v1",
                                                                                "/_controls")


def register_errorhandlers(app: Flask) -> None:
    """Answer errors as Stripe's JSON error object on the API and as HTML on the page."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if _speaks_json():
            body = StripeError(status, "invalid_request_error" if status < 500 else "api_error",
                               error.description or error.name, code=None).body()
            return app.response_class(dumps(body), status=status,
                                      content_type="application/json")
        return render_template("error.html", status=status, title=error.name,
                               message=error.description,
                               store_name=sandbox_of(app).display_name), status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("sandbox %s %s failed", request.method, request.path)
        return http_error(InternalServerError())
