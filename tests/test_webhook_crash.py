"""Crash injection: a handler that dies between two of its steps leaves nothing half-done.

Each case plays one order out in the sandbox, delivers what comes before the event under
test, and records what a clean delivery of that event leads to. From the same start, the
event is delivered again with one function the handler calls midway made to raise once:
the answer is 500 (Stripe retries), nothing but the failure is recorded, and the retry
ends exactly where the clean delivery did, each side effect once.
"""

import json
from dataclasses import dataclass

import pytest

from checkout.domain.errors import GatewayUnavailable
from checkout.domain.order_status import OrderStatus
from checkout.services import invoices, notifications, reminders
from tests.webhook_torture_support import (
    play,
    post,
    restore_tables,
    save_tables,
    state,
    stock_up,
)


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    # Event types delivered first (in this order), then the one under test.
    first: tuple[str, ...]
    target: str
    # Where the handler is made to fail: a module and the function it calls midway.
    module: object
    function: str


CASES = [
    Case("completed, before the confirmation mail", "paid", (), "checkout.session.completed",
         notifications, "enqueue_order_confirmation"),
    Case("completed, before the invoice", "paid", (), "checkout.session.completed",
         invoices, "issue_invoice"),
    Case("debit failed, before the failure mail", "debit_failed", (),
         "checkout.session.async_payment_failed", notifications, "enqueue_payment_failed"),
    Case("debit failed after its completion, before the failure mail", "debit_failed",
         (), "checkout.session.completed", notifications, "enqueue_payment_failed"),
    Case("expired, before the recovery mail", "expired", (), "checkout.session.expired",
         reminders, "enqueue_recovery"),
    Case("refund.created, before the credit note", "refunded",
         ("checkout.session.completed",), "refund.created", invoices, "issue_credit_note"),
    Case("refund.created, before the refund mail", "partly_refunded",
         ("checkout.session.completed",), "refund.created", notifications,
         "enqueue_refund_made"),
    Case("refund.created overtaking the completion, before the refund mail", "refunded",
         (), "refund.created", notifications, "enqueue_refund_made"),
    Case("charge.refunded, before the refund mail", "refunded",
         ("checkout.session.completed",), "charge.refunded", notifications,
         "enqueue_refund_made"),
    Case("refund heard of failed, before the staff alert", "refund_fails",
         ("checkout.session.completed",), "refund.created", notifications, "alert_staff"),
    Case("dispute, before the staff alert", "disputed", ("checkout.session.completed",),
         "charge.dispute.created", notifications, "alert_staff"),
    Case("dispute overtaking the completion, before the staff alert", "disputed", (),
         "charge.dispute.created", notifications, "alert_staff"),
]


def _fail_once(monkeypatch, module, name: str) -> list[str]:
    """Make module.name raise on its first call, then work; return the calls that raised."""
    real = getattr(module, name)
    raised: list[str] = []

    def crash_once(*args, **kwargs):
        if not raised:
            raised.append(name)
            raise RuntimeError(f"injected crash in {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, crash_once)
    return raised


def _effects(full: dict) -> dict:
    """The state without the webhook log and the staff's failure alerts: what handlers do."""
    outbox = {k: n for k, n in full["outbox"].items()
              if not k[0].startswith("staff-alert:webhook:")}
    return {**full, "outbox": outbox, "events": None, "failed": None}


def _event(sandbox, type_: str) -> bytes:
    [event] = sandbox.events(type_)
    return json.dumps(event).encode()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_crash_midway_leaves_nothing_half_done_and_the_retry_completes_it(
    app, client, sandbox, monkeypatch, case
):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production
    [played] = play(app, sandbox, stock_up(app, count=1), 1, kinds=(case.kind,))
    for type_ in case.first:
        assert post(client, _event(sandbox, type_)).status_code == 200
    target = _event(sandbox, case.target)
    event_id = json.loads(target)["id"]
    start = save_tables(app)
    before = state(app)

    assert post(client, target).status_code == 200
    clean = state(app)
    assert _effects(clean) != _effects(before), "the event under test did nothing"

    restore_tables(app, start)
    raised = _fail_once(monkeypatch, case.module, case.function)
    assert post(client, target).status_code == 500
    assert raised == [case.function], "the crash was not reached: no step came before it"
    crashed = state(app)
    assert _effects(crashed) == _effects(before)
    assert crashed["failed"] == [event_id]

    assert post(client, target).status_code == 200
    retried = state(app)
    assert _effects(retried) == _effects(clean)
    assert (retried["events"], retried["failed"]) == (clean["events"], [])
    # And again: a duplicate changes nothing.
    assert post(client, target).status_code == 200
    assert _effects(state(app)) == _effects(clean)


def test_the_provider_unreachable_while_checking_an_event_answers_500_then_the_retry_works(
    app, client, sandbox, monkeypatch
):
    """The session is asked for before the transaction: no answer, no effect, Stripe retries."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    [played] = play(app, sandbox, stock_up(app, count=1), 1, kinds=("paid",))
    target = _event(sandbox, "checkout.session.completed")
    before = state(app)
    provider = app.extensions["payments"]
    real = provider.retrieve_checkout

    def unreachable(session_id):
        monkeypatch.setattr(provider, "retrieve_checkout", real)
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(provider, "retrieve_checkout", unreachable)
    assert post(client, target).status_code == 500
    assert _effects(state(app)) == _effects(before)
    assert state(app)["failed"] == [json.loads(target)["id"]]
    assert post(client, target).status_code == 200
    after = state(app)
    assert after["failed"] == []
    assert after["orders"][played.number]["status"] == OrderStatus.PAYMENT_CONFIRMED
