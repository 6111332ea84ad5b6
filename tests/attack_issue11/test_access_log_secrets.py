"""Attack (issue 11): the access log keeps only the atoms its format shows (RedactingLogger.atoms).

An operator may name any header or environ entry in GUNICORN's access_log_format. What the
format names must still be written, and no credential may reach the line whichever way the
format spells it: the request's Cookie and Authorization as environ entries, the response's
Set-Cookie (the signed-in session itself).
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from checkout.gunicorn_support import RedactingLogger

SESSION = "eyJfdXNlcl9pZCI6IjE6YWJjIn0.ZzZzZz.session-signature-secret"
BEARER = "Bearer metrics-token-secret-value"


def _line(fmt: str) -> str:
    config = Config()
    config.set("access_log_format", fmt)
    logger = RedactingLogger(config)
    environ = {
        "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "RAW_URI": "/account/orders",
        "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/account/orders", "QUERY_STRING": "",
        "HTTP_USER_AGENT": "probe", "HTTP_COOKIE": f"session={SESSION}",
        "HTTP_AUTHORIZATION": BEARER, "HTTP_X_REQUEST_ID": "rid-1",
    }
    request = SimpleNamespace(headers=[("Cookie", f"session={SESSION}"),
                                       ("Authorization", BEARER),
                                       ("X-Request-ID", "rid-1"), ("X-Tenant", "north")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[
        ("Set-Cookie", f"session={SESSION}; HttpOnly; Path=/; SameSite=Lax"),
        ("X-Request-ID", "rid-1")])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    return fmt % SafeAtoms(atoms)


def test_a_header_the_custom_format_names_is_still_written():
    assert _line('%(h)s %({X-Tenant}i)s %({x-request-id}o)s %({HTTP_X_REQUEST_ID}e)s') == (
        "127.0.0.1 north rid-1 rid-1")


@pytest.mark.parametrize("fmt", [
    "%({cookie}i)s",
    "%({Authorization}i)s",
    "%({HTTP_COOKIE}e)s",
    "%({HTTP_AUTHORIZATION}e)s",
    "%({set-cookie}o)s",
])
def test_no_credential_reaches_the_line_however_the_format_names_it(fmt):
    line = _line(fmt)
    assert "session-signature-secret" not in line and "metrics-token-secret" not in line, (
        fmt, line)
