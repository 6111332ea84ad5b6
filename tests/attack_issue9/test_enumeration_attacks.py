"""Attacks on account enumeration (issue 9, defect 5) beyond sign-in and registration."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event, select

from checkout import create_app
from checkout.extensions import db
from checkout.models import OutboxMessage
from tests.accounts_support import make_shopper
from tests.conftest import csrf_token
from tests.test_rate_limits import SHARED_SETTINGS


@pytest.fixture
def queued(app: Flask, tmp_path) -> Flask:
    """The suite's app as production runs it: jobs go to the queue, not run in the request."""
    config = {name: app.config[name] for name in SHARED_SETTINGS}
    return create_app({
        **config, "JOBS_IMMEDIATE": False, "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "RATELIMIT_ENABLED": False,
    })


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL the app runs meanwhile."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_reset_request_does_the_same_work_for_a_known_and_an_unknown_address(
        app: Flask, queued: Flask):
    # Measured before the fix: ~5.9 ms for an account's address (outbox row, commit, queue)
    # against ~1.1 ms for an unknown one (one SELECT): a stopwatch told who has an account.
    make_shopper(app, "ada@example.com")
    browser = queued.test_client()
    token = csrf_token(browser, "/account/forgot")
    work = {}
    for email in ("ada@example.com", "nobody@example.com"):
        with statements(queued) as seen:
            response = browser.post("/account/forgot", data={"csrf_token": token,
                                                             "email": email})
        assert response.status_code == 200
        work[email] = seen
    assert work["ada@example.com"] == work["nobody@example.com"]
    huey = queued.extensions["huey"]
    assert huey.pending_count() == 2  # the lookup and the mail are the worker's, for both


def test_a_queue_that_never_answers_does_not_hang_the_reset_form(
        app: Flask, tmp_path, hung_redis: str):
    # The reset form queues a job in the request; the outbox's delivery is queued after every
    # commit that writes mail (an order placed by bank transfer, say). A Redis that stops
    # answering holds such a request for redis-py's timeout (5 s) per call, then the request
    # writes the mail itself.
    config = {name: app.config[name] for name in SHARED_SETTINGS}
    stuck = create_app({
        **config, "JOBS_IMMEDIATE": False, "REDIS_URL": hung_redis,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "RATELIMIT_ENABLED": False,
    })
    make_shopper(app, "ada@example.com")
    browser = stuck.test_client()
    token = csrf_token(browser, "/account/forgot")
    answers = []
    post = threading.Thread(daemon=True, target=lambda: answers.append(browser.post(
        "/account/forgot", data={"csrf_token": token, "email": "ada@example.com"})))
    post.start()
    post.join(timeout=15)
    assert not post.is_alive(), "the reset form still waiting on the queue after 15 s"
    assert answers[0].status_code == 200
    # The queue was out of reach: the request wrote the mail itself, for the worker to send.
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.template)) == "password_reset"
        db.session.remove()
