"""Webhook torture: every event of a few hundred orders, shuffled, duplicated and parallel.

The orders are paid, refunded, disputed, debited (and settled or failed) and left to expire
on the provider's side first; then all their events are delivered twice over: once in the
order the provider made them, once shuffled with a third sent twice by eight threads at
once, from the same starting point. Both must end in the same state, each side effect once,
and that state must be what the scenario says.
"""

import json
import os
from collections import Counter

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.models.inventory import HoldStatus
from checkout.models.order import FlagCode
from tests.webhook_torture_support import (
    KINDS,
    bodies,
    deliver_in_order,
    deliver_shuffled,
    play,
    restore_tables,
    save_tables,
    state,
    stock_up,
)

# "A few hundred orders": about a minute on SQLite on a busy two-core machine; more with
# the variable (a soak: WEBHOOK_TORTURE_ORDERS=2000).
ORDERS = int(os.environ.get("WEBHOOK_TORTURE_ORDERS", "200"))

EXPECTED_ORDER = {
    "paid": OrderStatus.PAYMENT_CONFIRMED,
    "refunded": OrderStatus.PAYMENT_CONFIRMED,
    "partly_refunded": OrderStatus.PAYMENT_CONFIRMED,
    "disputed": OrderStatus.PAYMENT_CONFIRMED,
    "debit_paid": OrderStatus.PAYMENT_CONFIRMED,
    "debit_failed": OrderStatus.PENDING_PAYMENT,
    "expired": OrderStatus.EXPIRED,
    "refund_fails": OrderStatus.PAYMENT_CONFIRMED,
}
EXPECTED_PAYMENT = {
    "paid": PaymentStatus.SUCCEEDED,
    "refunded": PaymentStatus.REFUNDED,
    "partly_refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "disputed": PaymentStatus.SUCCEEDED,
    "debit_paid": PaymentStatus.SUCCEEDED,
    "debit_failed": PaymentStatus.FAILED,
    "refund_fails": PaymentStatus.SUCCEEDED,
}


def _check_against_the_scenario(final: dict, played) -> None:
    """What each kind of order must have come to, each side effect exactly once."""
    assert final["failed"] == []
    for one in played:
        order = final["orders"][one.number]
        assert order["status"] == EXPECTED_ORDER[one.kind], (one, order)
        payments = [(status, amount) for _, _, status, amount, _ in order["payments"]]
        if one.kind == "expired":
            assert payments == [], (one, order)
        else:
            assert payments == [(EXPECTED_PAYMENT[one.kind], one.total)], (one, order)
        refunds = [(amount, status) for _, amount, status, _, _ in order["refunds"]]
        refunded = {"refunded": one.total, "partly_refunded": one.total // 3}.get(one.kind)
        if refunded:
            assert refunds == [(refunded, RefundStatus.SUCCEEDED)], (one, order)
            assert order["credit_notes"] == 1
        elif one.kind == "refund_fails":
            assert [status for _, status in refunds] == [RefundStatus.FAILED], (one, order)
            assert order["flags"] == Counter({FlagCode.REFUND_FAILED: 1}), (one, order)
        else:
            assert refunds == [], (one, order)
        paid = order["status"] == OrderStatus.PAYMENT_CONFIRMED
        assert order["invoices"] == (1 if paid else 0), (one, order)
        confirmations = [line for line, n in order["timeline"].items()
                         if line[2] == OrderStatus.PAYMENT_CONFIRMED for _ in range(n)]
        assert len(confirmations) == (1 if paid else 0), (one, order)
        sales = sum(n for (_, delta, reason), n in order["movements"].items() if delta < 0)
        assert sales == (1 if paid else 0), (one, order)
        holds = {status for _, _, status in order["holds"]}
        assert holds == {
            OrderStatus.PAYMENT_CONFIRMED: {HoldStatus.CONVERTED},
            OrderStatus.PENDING_PAYMENT: {HoldStatus.ACTIVE},
            OrderStatus.EXPIRED: {HoldStatus.RELEASED},
        }[order["status"]], (one, order)
        if one.kind == "disputed":
            assert order["flags"] == Counter({FlagCode.DISPUTED: 1}), (one, order)
        elif one.kind != "refund_fails":
            assert order["flags"] == Counter(), (one, order)
    # Keyed by their cause, no message is ever written twice.
    assert set(final["outbox"].values()) == {1}
    mails = Counter(key.split(":", 1)[0] for key, _, _ in final["outbox"])
    kinds = Counter(one.kind for one in played)
    assert mails["order-confirmed"] == sum(
        n for kind, n in kinds.items() if EXPECTED_ORDER[kind] == OrderStatus.PAYMENT_CONFIRMED)
    assert mails["payment-failed"] == kinds["debit_failed"]
    assert mails["recovery"] + mails["checkout-recovery"] in (0, kinds["expired"])
    assert mails["refund-made"] == kinds["refunded"] + kinds["partly_refunded"]


def test_shuffled_duplicated_parallel_delivery_ends_as_in_order_delivery(app, sandbox):
    products = stock_up(app)
    played = play(app, sandbox, products, ORDERS)
    assert Counter(one.kind for one in played) == Counter(
        {kind: ORDERS // len(KINDS) + (i < ORDERS % len(KINDS)) for i, kind in enumerate(KINDS)})
    events = bodies(sandbox)
    assert len(events) >= 3 * ORDERS
    before = save_tables(app)

    assert set(deliver_in_order(app, events)) == {200}
    in_order = state(app)
    _check_against_the_scenario(in_order, played)

    restore_tables(app, before)
    statuses = deliver_shuffled(app, events, seed=ORDERS)
    assert set(statuses) == {200}
    shuffled = state(app)
    assert shuffled == in_order


# What the torture found, one order at a time ------------------------------------------------

def _one(app, sandbox, kind: str):
    [played] = play(app, sandbox, stock_up(app, count=1), 1, kinds=(kind,))
    return played


def _deliver(app, sandbox, *types: str) -> list[int]:
    events = {json.loads(body)["type"]: body for body in bodies(sandbox)}
    return deliver_in_order(app, [events[t] for t in types])


def test_a_refund_overtaking_the_completion_confirms_the_order_then_refunds_it(app, sandbox):
    played = _one(app, sandbox, "refunded")
    assert _deliver(app, sandbox, "refund.created") == [200]
    order = state(app)["orders"][played.number]
    assert order["status"] == OrderStatus.PAYMENT_CONFIRMED
    assert [(status, refunded) for _, _, status, _, refunded in order["payments"]] == [
        (PaymentStatus.REFUNDED, played.total)]
    assert [status for _, _, status, _, _ in order["refunds"]] == [RefundStatus.SUCCEEDED]
    # The completion and the charge's event then change nothing.
    assert _deliver(app, sandbox, "checkout.session.completed", "charge.refunded") == [200, 200]
    assert state(app)["orders"][played.number] == order


def test_a_dispute_overtaking_the_completion_flags_the_paid_order(app, sandbox):
    played = _one(app, sandbox, "disputed")
    assert _deliver(app, sandbox, "charge.dispute.created") == [200]
    order = state(app)["orders"][played.number]
    assert order["status"] == OrderStatus.PAYMENT_CONFIRMED
    assert order["flags"] == Counter({FlagCode.DISPUTED: 1})


def test_a_debit_failure_ends_the_same_before_or_after_its_completion(app, sandbox):
    played = _one(app, sandbox, "debit_failed")
    start = save_tables(app)
    assert _deliver(app, sandbox, "checkout.session.completed",
                    "checkout.session.async_payment_failed") == [200, 200]
    completed_first = state(app)
    restore_tables(app, start)
    assert _deliver(app, sandbox, "checkout.session.async_payment_failed",
                    "checkout.session.completed") == [200, 200]
    assert state(app) == completed_first
    order = completed_first["orders"][played.number]
    assert order["status"] == OrderStatus.PENDING_PAYMENT
    # Never shown as processing: the provider already knew the debit had failed.
    assert not [line for line in order["timeline"] if line[2] == OrderStatus.PAYMENT_PROCESSING]
