"""Bearer secrets, keys and card numbers are taken out of every log record."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from checkout import gunicorn_support
from checkout.gunicorn_support import RedactingLogger
from checkout.logs import redact

CASES = [
    ('"GET /orders/AB12-CD34?t=Ik.abc-DEF_1 HTTP/1.1" 200',
     '"GET /orders/AB12-CD34?t=[redacted] HTTP/1.1" 200'),
    ("/checkout/success?session_id=cs_test_a1B2c3D4e5", "/checkout/success?session_id=[redacted]"),
    ("/orders/X/pay?page=2&t=tok.en&after=9", "/orders/X/pay?page=2&t=[redacted]&after=9"),
    ("cancel_url=http%3A%2F%2Fshop%2Fpay%3Ft%3DIk5E.PeU6&mode=payment",
     "cancel_url=http%3A%2F%2Fshop%2Fpay%3Ft%3D[redacted]&mode=payment"),
    ("/account/reset/Im5.abc-def", "/account/reset/[redacted]"),
    ("/account/verify/Im5.abc?x=1", "/account/verify/[redacted]?x=1"),
    ("/welcome/tok.en", "/welcome/[redacted]"),
    ("key sk_live_51Habc_def and whsec_abcdef123", "key sk_[redacted] and whsec_[redacted]"),
    ("session cs_live_a1b2c3d4e5f6 paid", "session cs_[redacted] paid"),
    ("card 4242 4242 4242 4242 typed", "card [redacted] typed"),
    ("card 4000-0000-0000-9995", "card [redacted]"),
    # Not a card (fails Luhn), not a secret parameter: left alone.
    ("order total 1234567890123 cents", "order total 1234567890123 cents"),
    ("/staff/orders/?status=paid&q=ada", "/staff/orders/?status=paid&q=ada"),
]


@pytest.mark.parametrize(("line", "written"), CASES)
def test_redact_takes_out_secrets_and_leaves_the_rest(line, written):
    assert redact(line) == written


def test_every_record_is_redacted_whoever_handles_it(app, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").debug("fetched %s with %s", "/orders/A?t=secret.tok",
                                            {"key": "sk_test_abcdefgh"})
    assert "secret.tok" not in caplog.text and "sk_test_abcdefgh" not in caplog.text
    assert "/orders/A?t=[redacted]" in caplog.text


def test_the_development_servers_request_log_is_redacted(app, caplog):
    caplog.set_level(logging.INFO)
    # What werkzeug's dev server (`make run`) logs for each request.
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "127.0.0.1", "30/Nov/2026",
                                       "GET /checkout/success?session_id=cs_test_a1b2c3d4 "
                                       "HTTP/1.1", "200", "-")
    assert "cs_test_a1b2c3d4" not in caplog.text
    assert "GET /checkout/success?session_id=[redacted] HTTP/1.1" in caplog.text


def _access_atoms(monkeypatch, access_log_format: str) -> tuple[dict, list[str]]:
    """gunicorn's atoms for one request with secrets everywhere, and what was redacted."""
    config = Config()
    config.set("access_log_format", access_log_format)
    logger = RedactingLogger(config)
    redacted = []
    real = gunicorn_support.redact
    monkeypatch.setattr(gunicorn_support, "redact",
                        lambda text: redacted.append(text) or real(text))
    secret_path = "/orders/AB12-CD34?t=Ik.secret-token"
    environ = {
        "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "RAW_URI": secret_path,
        "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/orders/AB12-CD34",
        "QUERY_STRING": "t=Ik.secret-token", "HTTP_REFERER": f"http://shop{secret_path}",
        "HTTP_USER_AGENT": "probe", "HTTP_X_FORWARDED_FOR": "key sk_live_51Habc_def secret",
    }
    request = SimpleNamespace(headers=[("X-Note", "card 4242 4242 4242 4242"),
                                       ("Cookie", "session=secret")])
    response = SimpleNamespace(status="200 OK", sent=10,
                               headers=[("X-Request-ID", "abc"), ("Location", secret_path)])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    return atoms, redacted


def test_the_access_line_redacts_what_it_shows_and_drops_the_rest(monkeypatch):
    fmt = '%(h)s "%(r)s" %(s)s "%(f)s" %({location}o)s rid=%({x-request-id}o)s'
    atoms, redacted = _access_atoms(monkeypatch, fmt)
    line = fmt % atoms
    assert "secret" not in line and "[redacted]" in line, line
    assert "rid=abc" in line
    # No atom carries a secret, shown or not.
    for name, value in atoms.items():
        assert "secret" not in str(value) and "4242" not in str(value), (name, value)
    # The atoms the line does not show are not kept at all: gunicorn's SafeAtoms would copy
    # and escape each of them for every request.
    assert "{x-note}i" not in atoms and "{x-forwarded-for}e" not in atoms
    assert set(atoms) <= {"h", "r", "s", "f", "{location}o", "{x-request-id}o", "m", "U",
                          "B", "M", "a", "q"}
    # The regexes ran on the atoms the text or JSON line shows, not on every header and
    # environ entry of the request (dozens).
    assert len(redacted) <= 12, redacted
    assert {"127.0.0.1", "http://shop/orders/AB12-CD34?t=Ik.secret-token"} <= set(redacted)


def test_the_access_line_is_written_whole_from_the_kept_atoms(monkeypatch):
    fmt = ('%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" %({x-missing}i)s '
           'rid=%({x-request-id}o)s')
    atoms, _ = _access_atoms(monkeypatch, fmt)
    line = fmt % SafeAtoms(atoms)
    assert line == ('127.0.0.1 "GET /orders/AB12-CD34?t=[redacted] HTTP/1.1" 200 10 5ms '
                    '"http://shop/orders/AB12-CD34?t=[redacted]" "probe" - rid=abc'), line
