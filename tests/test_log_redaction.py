"""Bearer secrets, keys and card numbers are taken out of every log record."""

import logging

import pytest

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
