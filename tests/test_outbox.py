"""The outbox: one message per cause, nothing lost in a crash, each sent once by any workers."""

import signal
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from huey import RedisHuey, SqliteHuey
from sqlalchemy import func, select

from checkout import create_app
from checkout.config import from_environment
from checkout.db import now_utc
from checkout.domain.errors import InvalidTransition
from checkout.domain.message_status import (
    MAX_ATTEMPTS,
    MESSAGE_TRANSITIONS,
    MessageStatus,
    move_message,
    retry_delay_seconds,
)
from checkout.extensions import db
from checkout.jobs import make_queue
from checkout.models import OutboxMessage
from checkout.services import notifications
from tests.conftest import BASE_URL
from tests.mail_support import free_port, smtp_server
from tests.shop import follow_success, place_and_get_session
from tests.test_webhooks import event_of, post_event

CONTEXT = {"order_number": "N-1", "access_token": "tok", "customer_name": "Ada",
           "ship_name": "Ada", "ship_address": ["1 Row"], "currency": "USD",
           "lines": [{"title": "Mug", "quantity": 1, "unit_price": 100, "line_total": 100}],
           "subtotal": 100, "discount": 0, "shipping": 0, "tax": 0, "total": 100}


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def messages(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.remove()
    return rows


def enqueue_committed(app, key: str, *, announce: bool = True) -> bool:
    """Write one message and commit it; `announce=False` is a worker that never ran."""
    with app.app_context():
        context = {**CONTEXT, "order_number": key}
        if announce:
            written = notifications.enqueue(key, "order_confirmed", "ada@example.com", context)
            db.session.commit()
        else:
            with notifications.messages_committed.muted():
                written = notifications.enqueue(
                    key, "order_confirmed", "ada@example.com", context
                )
                db.session.commit()
        db.session.remove()
    return written


def test_the_message_status_table_has_exactly_these_edges():
    edges = {(a, b) for a, targets in MESSAGE_TRANSITIONS.items() for b in targets}
    assert edges == {("pending", "sent"), ("pending", "failed"), ("pending", "skipped")}
    with pytest.raises(InvalidTransition):
        move_message("k", MessageStatus.SENT, MessageStatus.PENDING)
    assert move_message("k", MessageStatus.SENT, MessageStatus.SENT) is False


def test_retries_back_off_doubling_up_to_a_cap():
    delays = [retry_delay_seconds(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays[:4] == [60, 120, 240, 480]
    assert delays == sorted(delays) and max(delays) <= 6 * 60 * 60


def test_a_second_enqueue_with_the_same_key_is_a_no_op(app, smtp):
    assert enqueue_committed(app, "k-1") is True
    assert enqueue_committed(app, "k-1") is False
    assert [m.key for m in messages(app)] == ["k-1"]
    assert len(smtp.messages) == 1


def test_concurrent_enqueues_of_one_key_write_one_message(app):
    start = threading.Barrier(6)
    written = []

    def enqueue() -> None:
        start.wait()
        written.append(enqueue_committed(app, "same-cause", announce=False))

    threads = [threading.Thread(target=enqueue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(written) == [False] * 5 + [True]
    assert len(messages(app)) == 1


def test_a_replayed_webhook_sends_one_confirmation(app, client, sandbox, products, smtp):
    session_id = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(session_id).ok
    event = event_of(sandbox, "checkout.session.completed")
    for _ in range(3):
        assert post_event(client, event).status_code == 200
    assert sandbox.deliver_pending()
    assert len(smtp.messages) == 1
    [row] = messages(app)
    assert (row.status, row.attempts) == (MessageStatus.SENT, 1)


def test_the_success_page_racing_the_webhook_sends_one_confirmation(app, client, sandbox,
                                                                     products, smtp):
    session_id = place_and_get_session(client, products["MUG"], 1)
    result = sandbox.pay(session_id)
    assert result.ok
    event = event_of(sandbox, "checkout.session.completed")
    start = threading.Barrier(2)
    statuses = {}

    def success_page() -> None:
        start.wait()
        statuses["page"] = follow_success(client, result.redirect_url).status_code

    def webhook() -> None:
        start.wait()
        statuses["hook"] = post_event(app.test_client(), event).status_code

    threads = [threading.Thread(target=success_page), threading.Thread(target=webhook)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == {"page": 200, "hook": 200}
    assert len(smtp.messages) == 1
    assert [m.status for m in messages(app)] == [MessageStatus.SENT]


def test_a_crash_after_commit_loses_nothing_and_the_worker_sends_once(app, smtp):
    enqueue_committed(app, "crash-1", announce=False)  # committed; the process died here
    assert smtp.messages == []
    [row] = messages(app)
    assert (row.status, row.attempts) == (MessageStatus.PENDING, 0)

    with app.app_context():
        assert notifications.deliver_due() == 1
        assert notifications.deliver_due() == 0
    assert len(smtp.messages) == 1
    [row] = messages(app)
    assert row.status == MessageStatus.SENT and row.sent_at is not None


def test_a_worker_that_died_mid_send_leaves_the_message_to_the_next_after_its_claim(app, smtp):
    enqueue_committed(app, "claimed-1", announce=False)
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        row.claimed_until = now_utc() + timedelta(seconds=notifications.CLAIM_SECONDS)
        row.attempts = 1
        db.session.commit()
        assert notifications.deliver_due() == 0  # another worker holds it
        later = now_utc() + timedelta(seconds=notifications.CLAIM_SECONDS + 1)
        assert notifications.deliver_due(now=later) == 1
    assert len(smtp.messages) == 1
    assert messages(app)[0].attempts == 2


def test_with_the_mail_server_down_the_message_waits_and_goes_on_the_next_run(app):
    dead_port = free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=dead_port, SMTP_STARTTLS=False)
    try:
        enqueue_committed(app, "down-1")  # delivery is tried at once, after the commit
    finally:
        app.config.update(SMTP_HOST=None)
    [row] = messages(app)
    assert (row.status, row.attempts) == (MessageStatus.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at > now_utc()

    with smtp_server(app) as sink, app.app_context():
        assert notifications.deliver_due() == 0  # not due yet: it backs off
        later = now_utc() + timedelta(seconds=retry_delay_seconds(1) + 1)
        assert notifications.deliver_due(now=later) == 1
    assert len(sink.messages) == 1
    [row] = messages(app)
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.SENT, 2, None)


def test_a_message_that_keeps_failing_is_given_up_on_after_the_last_attempt(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)
    try:
        enqueue_committed(app, "never-1", announce=False)
        with app.app_context():
            moment = now_utc()
            for _ in range(MAX_ATTEMPTS):
                notifications.deliver_due(now=moment)
                moment += timedelta(seconds=retry_delay_seconds(MAX_ATTEMPTS) + 1)
    finally:
        app.config.update(SMTP_HOST=None)
    [row] = messages(app)
    assert (row.status, row.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert row.last_error


def test_concurrent_workers_send_each_message_once(app, smtp):
    keys = [f"many-{n}" for n in range(24)]
    for key in keys:
        enqueue_committed(app, key, announce=False)
    start = threading.Barrier(6)
    counts = []

    def worker() -> None:
        with app.app_context():
            start.wait()
            counts.append(notifications.deliver_due())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(counts) == len(keys)
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == sorted(f"Fernhill Supply: order {k} is confirmed" for k in keys)
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.SENT)
        ) == len(keys)


def test_the_real_consumer_sends_the_queued_delivery_from_its_sqlite_store(
    app, database_url, tmp_path
):
    worker_app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PAYMENTS": "sandbox",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": False,
        "PUBLIC_BASE_URL": BASE_URL,
        "JOBS_IMMEDIATE": False,
        "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
        "MAIL_DIR": str(tmp_path / "mail"),
        "SMTP_HOST": None,
    })
    huey = worker_app.extensions["huey"]
    try:
        enqueue_committed(worker_app, "queued-1")
        # The commit queued the delivery in the SQLite store; nothing is sent yet.
        assert huey.pending_count() == 1
        assert not (tmp_path / "mail").exists()

        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM,
                                                     signal.SIGHUP)}
        consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False)
        consumer.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not list((tmp_path / "mail").glob("*.eml")):
                time.sleep(0.05)
        finally:
            consumer.stop(graceful=True)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        [path] = list((tmp_path / "mail").glob("*.eml"))
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Subject"] == "Fernhill Supply: order queued-1 is confirmed"
        assert huey.pending_count() == 0
        assert [m.status for m in messages(app)] == [MessageStatus.SENT]
    finally:
        with worker_app.app_context():
            db.engine.dispose()
        worker_app.extensions["sandbox"].close()



def test_the_queue_is_redis_with_redis_url_and_an_sqlite_file_otherwise(tmp_path):
    redis_queue = make_queue({"REDIS_URL": "redis://127.0.0.1:6379/3", "JOBS_IMMEDIATE": False})
    assert isinstance(redis_queue, RedisHuey)
    assert redis_queue.storage.conn.connection_pool.connection_kwargs["db"] == 3
    sqlite_queue = make_queue({"HUEY_DATABASE": str(tmp_path / "q" / "huey.sqlite")})
    assert isinstance(sqlite_queue, SqliteHuey) and not sqlite_queue.immediate
    assert (tmp_path / "q" / "huey.sqlite").exists()


def test_mail_and_queue_settings_default_to_files_in_instance(tmp_path, monkeypatch):
    for name in ("MAIL_DIR", "HUEY_DATABASE", "REDIS_URL", "SMTP_HOST", "MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORE_NAME", "Tiny Shop")
    settings = from_environment(tmp_path)
    assert settings["MAIL_DIR"] == str(tmp_path / "mail")
    assert settings["HUEY_DATABASE"] == str(tmp_path / "huey.sqlite")
    assert (settings["REDIS_URL"], settings["SMTP_HOST"]) == (None, None)
    assert settings["MAIL_FROM"] == "Tiny Shop <orders@example.com>"
