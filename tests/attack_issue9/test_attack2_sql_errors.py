"""Attacks on log redaction (issue 9, defect 7): a failing SQL statement's bound values."""

import logging
import secrets

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from checkout.extensions import db
from checkout.logs import formatter_for


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_failing_statement_logs_no_bound_value(app: Flask, log_format):
    # SQLAlchemy puts every bound value in the exception's text ("[parameters: (...)]"), so a
    # deadlock or a lost connection while a password change stored the account's new session
    # token (the bearer secret behind its sign-in cookie) or a password hash wrote them into
    # the error log, the webhook log's detail and the staff alert. Nothing redacts a bare
    # value: it looks like any other string.
    session_token = secrets.token_urlsafe(32)
    handler = logging.Handler()
    lines: list[str] = []
    handler.emit = lambda record: lines.append(handler.format(record))
    handler.setFormatter(formatter_for(log_format))
    logging.getLogger().addHandler(handler)
    try:
        with app.app_context():
            with pytest.raises(DBAPIError) as failure:
                db.session.execute(
                    text('UPDATE "user" SET session_token = :token WHERE no_such_column = 1'),
                    {"token": session_token},
                )
            db.session.rollback()
            logging.getLogger("checkout.test").error("the update failed", exc_info=failure.value)
    finally:
        logging.getLogger().removeHandler(handler)
    assert "no_such_column" in str(failure.value)  # the statement itself is still there
    assert session_token not in str(failure.value)
    assert lines and "no_such_column" in lines[-1]
    assert not [line for line in lines if session_token in line]
