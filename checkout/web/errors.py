"""Error pages: a clear message and the right status, and a rolled-back session on a 500."""

import logging

from flask import Flask, abort, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from checkout.extensions import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/webhooks/")


def _holds_nul(values: MultiDict) -> bool:
    """Say whether any name or value, every one of a repeated parameter included, has a NUL."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_errorhandlers(app: Flask) -> None:
    """Register the error pages and the NUL-byte guard."""
    @app.before_request
    def _refuse_nul_in_address():
        # PostgreSQL cannot store or even compare text with a NUL byte: a lookup by an order
        # number, slug or session id holding one would fail as a 500 rather than find nothing.
        if "\x00" in request.path or _holds_nul(request.args):
            abort(400, "That address contains a character we cannot accept.")

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        message = (
            "This form is out of date or was not sent from our site. "
            "Go back, reload the page and try again."
        )
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(413)
    def _too_large(error):
        limit = app.config["PRODUCT_IMAGE_MAX_BYTES"] // 1_000_000
        message = (f"What you sent is too large. An image may be at most {limit} MB; "
                   "other forms take much less.")
        if _wants_json():
            return {"error": message}, 413
        return render_template("errors/error.html", code=413, message=message), 413

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if _wants_json():
            return {"error": error.description}, error.code
        return (
            render_template("errors/error.html", code=error.code, message=error.description),
            error.code,
        )

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        if _wants_json():
            return {"error": "internal error"}, 500
        return render_template(
            "errors/error.html",
            code=500,
            message="Something went wrong on our side. Please try again in a moment.",
        ), 500
