"""Signed delivery, retries, endpoint outages, resends, expiry and sharing one store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from stripe_sandbox import Sandbox, delivery
from stripe_sandbox.delivery import signature_header

from .conftest import WEBHOOK_SECRET, make_app, session_params
from .helpers import call


def paid_session(app, sandbox: Sandbox, **kwargs) -> dict:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    sandbox.pay(session["id"], **kwargs)
    return session


def test_events_wait_for_a_delivery_run(app, sandbox: Sandbox, receiver) -> None:
    session = paid_session(app, sandbox)
    assert receiver.events == []
    assert [e["pending_webhooks"] for e in sandbox.events()] == [1, 1]
    results = sandbox.deliver_pending()
    assert [(r.event_type, r.status_code, r.ok) for r in results] == [
        ("checkout.session.completed", 200, True), ("payment_intent.succeeded", 200, True)]
    assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded"]
    completed = receiver.events[0].data.object
    assert (completed.id, completed.payment_status) == (session["id"], "paid")
    assert [e["pending_webhooks"] for e in sandbox.events()] == [0, 0]
    assert sandbox.deliver_pending() == []


def test_every_signature_verifies_and_tampering_fails(app, sandbox: Sandbox, receiver) -> None:
    paid_session(app, sandbox)
    sandbox.deliver_pending()
    for payload, header in receiver.raw:
        parts = dict(item.split("=", 1) for item in header.split(","))
        assert set(parts) == {"t", "v1", "v0"}
        event = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
        assert event.id.startswith("evt_")
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload.replace(b'"paid"', b'"free"', 1) + b" ",
                                           header, WEBHOOK_SECRET)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, header, "whsec_someone_else")


def test_the_signature_matches_stripes_own_generator() -> None:
    header = signature_header('{"id":"evt_1"}', WEBHOOK_SECRET, 1_800_000_000)
    expected = stripe.WebhookSignature._compute_signature(
        '1800000000.{"id":"evt_1"}', WEBHOOK_SECRET)
    assert header.startswith(f"t=1800000000,v1={expected},v0=")


def test_a_failing_endpoint_is_retried_with_growing_back_off(app, sandbox: Sandbox,
                                                             receiver) -> None:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    call(app, "POST", f"/v1/checkout/sessions/{session['id']}/expire")
    receiver.status = 500
    assert [r.status_code for r in sandbox.deliver_pending()] == [500]
    assert sandbox.deliver_pending() == []  # the retry is not due yet
    sandbox.advance_clock(2)
    assert [r.attempt for r in sandbox.deliver_pending()] == [2]
    sandbox.advance_clock(3)
    assert sandbox.deliver_pending() == []  # the next wait is 4 s
    receiver.status = 200
    sandbox.advance_clock(1)
    assert [(r.attempt, r.ok) for r in sandbox.deliver_pending()] == [(3, True)]
    log = sandbox.delivery_attempts()
    assert [(a.attempt, a.status_code, a.ok) for a in log] == [
        (1, 500, False), (2, 500, False), (3, 200, True)]
    assert all(a.error == "HTTP 500" for a in log[:2])
    assert receiver.types() == ["checkout.session.expired"]


def test_delivery_gives_up_after_a_handful_of_attempts(app, sandbox: Sandbox,
                                                       receiver) -> None:
    paid_session(app, sandbox)
    receiver.status = 503
    for _ in range(10):
        sandbox.deliver_pending()
        sandbox.advance_clock(60)
    attempts = sandbox.delivery_attempts()
    assert len(attempts) == 2 * delivery.MAX_ATTEMPTS
    gaps = [a.sandbox_time - attempts[0].sandbox_time for a in attempts[::2]][:3]
    # The sandbox clock is the wall clock plus its offset: a second may tick between calls.
    assert all(0 <= gap - expected <= 2 for gap, expected in zip(gaps, [0, 60, 120], strict=True))
    assert all(event["pending_webhooks"] == 1 for event in sandbox.events())


def test_an_endpoint_that_is_down_gets_the_event_after_it_is_back(app, sandbox: Sandbox,
                                                                  receiver) -> None:
    sandbox.set_endpoint_down(10)
    paid_session(app, sandbox)
    assert {r.status_code for r in sandbox.deliver_pending()} == {503}
    assert receiver.raw == []
    sandbox.advance_clock(2)
    assert {r.status_code for r in sandbox.deliver_pending()} == {503}
    sandbox.advance_clock(4)
    assert {r.status_code for r in sandbox.deliver_pending()} == {503}
    sandbox.advance_clock(8)
    assert {r.status_code for r in sandbox.deliver_pending()} == {200}
    assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded"]
    assert all(a.error == "endpoint down (sandbox control)"
               for a in sandbox.delivery_attempts() if not a.ok)


def test_resend_delivers_the_same_event_again(app, sandbox: Sandbox, receiver) -> None:
    paid_session(app, sandbox)
    sandbox.deliver_pending()
    event_id = receiver.events[0].id
    sandbox.resend(event_id)
    assert [r.event_id for r in sandbox.deliver_pending()] == [event_id]
    assert [e.id for e in receiver.events].count(event_id) == 2


def test_sessions_expire_by_themselves_on_the_sandbox_clock(app, sandbox: Sandbox,
                                                            receiver) -> None:
    now = sandbox.now()
    _, session, _ = call(app, "POST", "/v1/checkout/sessions",
                         session_params(expires_at=now + 1800))
    sandbox.advance_clock(1790)
    sandbox.deliver_pending()
    assert receiver.events == []
    sandbox.advance_clock(10)
    sandbox.deliver_pending()
    assert receiver.types() == ["checkout.session.expired"]
    _, fetched, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert (fetched["status"], fetched["url"]) == ("expired", None)
    assert not sandbox.pay(session["id"]).ok


@contextmanager
def serve(wsgi_app) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_other_hosts_get_real_http_and_a_slow_one_times_out(tmp_path: Path,
                                                            monkeypatch) -> None:
    received: list[stripe.Event] = []

    @Request.application
    def endpoint(request: Request) -> Response:
        if request.path == "/slow":
            time.sleep(0.5)
            return Response("late")
        received.append(stripe.Webhook.construct_event(
            request.get_data(), request.headers["Stripe-Signature"], WEBHOOK_SECRET))
        return Response("ok")

    monkeypatch.setattr(delivery, "DELIVERY_TIMEOUT", 0.2)
    with serve(endpoint) as url:
        app = make_app(tmp_path / "s.sqlite", WEBHOOK_URL=f"{url}/hook, {url}/slow")
        sandbox = app.extensions["sandbox"]
        try:
            _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
            call(app, "POST", f"/v1/checkout/sessions/{session['id']}/expire")
            results = {r.url: r for r in sandbox.deliver_pending()}
        finally:
            sandbox.close()
    assert results[f"{url}/hook"].ok
    assert results[f"{url}/slow"].status_code is None
    assert results[f"{url}/slow"].error.startswith("timed out")
    assert [e.type for e in received] == ["checkout.session.expired"]
    assert app.extensions["receiver"].events == []


def test_two_processes_share_sessions_clock_and_events(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    first, second = make_app(db), make_app(db)
    one, two = first.extensions["sandbox"], second.extensions["sandbox"]
    try:
        _, session, _ = call(first, "POST", "/v1/checkout/sessions", session_params())
        status, seen, _ = call(second, "GET", f"/v1/checkout/sessions/{session['id']}")
        assert status == 200 and seen == session
        assert two.pay(session["id"]).ok
        _, fetched, _ = call(first, "GET", f"/v1/checkout/sessions/{session['id']}")
        assert fetched["status"] == "complete"
        before = two.now()
        one.advance_clock(3600)
        assert two.now() >= before + 3600
        assert [e["id"] for e in one.events()] == [e["id"] for e in two.events()]
    finally:
        one.close()
        two.close()


def test_concurrent_delivery_runs_never_send_an_attempt_twice(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    apps = [make_app(db) for _ in range(3)]
    sandboxes = [a.extensions["sandbox"] for a in apps]
    try:
        for _ in range(5):
            paid_session(apps[0], sandboxes[0])
        barrier = threading.Barrier(len(sandboxes))
        results: list = []

        def run(sb: Sandbox) -> None:
            barrier.wait()
            results.extend(sb.deliver_pending())

        threads = [threading.Thread(target=run, args=(sb,)) for sb in sandboxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        delivered = [e.id for a in apps for e in a.extensions["receiver"].events]
        assert len(results) == 10
        assert sorted(delivered) == sorted(e["id"] for e in sandboxes[0].events())
    finally:
        for sb in sandboxes:
            sb.close()


def test_the_background_worker_delivers_off_the_request(tmp_path: Path, monkeypatch) -> None:
    app = make_app(tmp_path / "bg.sqlite", BACKGROUND=True, WORKER_INTERVAL=0.02)
    sandbox, receiver = app.extensions["sandbox"], app.extensions["receiver"]
    try:
        assert not sandbox.worker_running  # nothing starts before first use
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        response = app.test_client().post(
            f"/pay/{session['id']}",
            data={"email": "a@b.c", "name": "A B", "number": "4242424242424242",
                  "exp": "12/40", "cvc": "123", "method": "card"})
        assert response.status_code == 303
        deadline = time.monotonic() + 5
        while len(receiver.events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded"]
    finally:
        sandbox.close()


def test_switching_the_background_off_starts_no_thread(app, sandbox: Sandbox) -> None:
    paid_session(app, sandbox)
    app.test_client().get("/_controls/clock")
    assert not sandbox.worker_running
