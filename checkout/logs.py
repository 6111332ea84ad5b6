"""Log lines: secrets redacted from every record, JSON or text, each with its request id.

Bearer secrets travel in URLs (a guest order link's `?t=`, the success page's `?session_id=`,
password-reset, e-mail-confirmation and invitation tokens in the path), and API keys, webhook
secrets and card numbers must never be written down. `redact` removes them from a line of
text; the record factory installed by `configure_logging` runs it on every record any logger
makes in this process (ours, werkzeug's request log, gunicorn's, the SDK's, a test's capture),
so no handler can see the secret, whoever added it.

Each request gets an id (`X-Request-ID` when the caller sent a sane one, else a fresh one),
echoed in the response header and carried by every record made while the request runs. The
id also travels in the Checkout Session's metadata; the webhook handling puts the id found
there on its records as `payment_request_id`, so one payment can be followed from the
checkout request through Stripe's events.
"""

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Flask, Response, g, has_request_context, request

from checkout.domain.cards import PAN_LENGTHS, luhn_valid

REDACTED = "[redacted]"
# Query parameters whose value is a bearer secret or a credential, wherever they appear.
SECRET_PARAMETERS = frozenset({
    "t", "token", "session_id", "access_token", "api_key", "key", "secret", "password",
    "client_secret", "signature", "code",
})
# Path segments after these prefixes are tokens (password reset, e-mail confirmation,
# staff invitation).
_SECRET_PATH = re.compile(r"(/account/reset/|/account/verify/|/welcome/)[^/?#\s\"'\\]+")
_QUERY_PARAMETER = re.compile(
    r"(?P<lead>[?&;]|&amp;)(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)=(?P<value>[^&;#\s\"'<>\\]*)"
)
# The same inside a URL-encoded form body or parameter (a return URL sent to Stripe).
_ENCODED_PARAMETER = re.compile(
    r"(?P<lead>%3[Ff]|%26)(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)%3[Dd](?P<value>[^&%\s\"'<>\\]*)"
)
# Checkout Session ids open the success page; keys and webhook secrets sign everything.
_STRIPE_SECRET = re.compile(r"\b(cs|sk|rk|whsec|pi_[A-Za-z0-9]+_secret)_"
                            r"(?:(?:test|live)_)?[A-Za-z0-9_]{6,}")
_CARD_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

# The request id of the checkout that made the Checkout Session an event is about.
payment_request_id: ContextVar[str | None] = ContextVar("payment_request_id", default=None)


def _card(match: re.Match) -> str:
    digits = re.sub(r"[ \-]", "", match.group(0))
    return REDACTED if len(digits) in PAN_LENGTHS and luhn_valid(digits) else match.group(0)


def _parameter(match: re.Match) -> str:
    if match.group("name").lower() in SECRET_PARAMETERS and match.group("value"):
        equals = "=" if match.group(0)[len(match.group("lead") + match.group("name"))] == "=" \
            else "%3D"
        return f"{match.group('lead')}{match.group('name')}{equals}{REDACTED}"
    return match.group(0)


def _stripe_secret(match: re.Match) -> str:
    prefix = match.group(0).split("_")[0]
    return f"{prefix}_{REDACTED}"


def redact(text: str) -> str:
    """Remove bearer tokens, session ids, API keys, webhook secrets and card numbers."""
    if not text:
        return text
    text = _QUERY_PARAMETER.sub(_parameter, text)
    text = _ENCODED_PARAMETER.sub(_parameter, text)
    text = _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    text = _STRIPE_SECRET.sub(_stripe_secret, text)
    return _CARD_CANDIDATE.sub(_card, text)


def redact_query(query: str) -> str:
    """A query string with every secret parameter's value replaced."""
    if not query:
        return query
    return redact("?" + query)[1:]


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    if has_request_context():
        return g.get("request_id")
    return None


@contextmanager
def following_payment(request_id: object) -> Iterator[None]:
    """Tag every record made inside with the payment's request id (from Stripe metadata)."""
    sane = request_id if isinstance(request_id, str) and _SANE_REQUEST_ID.fullmatch(
        request_id) else None
    token = payment_request_id.set(sane)
    try:
        yield
    finally:
        payment_request_id.reset(token)


_base_factory = logging.getLogRecordFactory()


def _redacting_record(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it when the record is formatted
        return record
    record.msg, record.args = redact(message), None
    record.request_id = current_request_id()
    record.payment_request_id = payment_request_id.get()
    return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in ("request_id", "payment_request_id"):
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A readable line for development, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{name}={value}" for name in ("request_id", "payment_request_id")
               if (value := getattr(record, name, None))]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return redact(super().format(record))


class _StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the moment (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter LOG_FORMAT names."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(app: Flask) -> None:
    """Redact every record in the process; log to stderr in LOG_FORMAT; give requests ids."""
    if logging.getLogRecordFactory() is not _redacting_record:
        logging.setLogRecordFactory(_redacting_record)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter_for(app.config["LOG_FORMAT"]))
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Their INFO lines narrate every PDF rendered and every API call: noise in an operator's
    # log (thousands of lines in a busy hour). DEBUG brings them back.
    for chatty in ("weasyprint", "fontTools", "stripe"):
        logging.getLogger(chatty).setLevel(
            logging.DEBUG if app.config["LOG_LEVEL"] == "DEBUG" else logging.WARNING)

    @app.before_request
    def _take_request_id() -> None:
        offered = request.headers.get("X-Request-ID", "")
        g.request_id = offered if _SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response


def query_values(query: str) -> dict[str, str]:
    """The query's parameters, secret ones redacted (for structured access-log lines)."""
    return {name: REDACTED if name.lower() in SECRET_PARAMETERS else value
            for name, value in parse_qsl(query, keep_blank_values=True)}
