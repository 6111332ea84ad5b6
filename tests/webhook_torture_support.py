"""What the webhook torture and crash tests share: a scenario of orders played out in the
sandbox, the events it left, delivery (in order, or shuffled and parallel), and the shop's
state in one comparable value."""

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import delete, insert, select

from checkout.extensions import db
from checkout.models import (
    CheckoutAttempt,
    CreditNote,
    Invoice,
    Order,
    OrderEvent,
    OrderFlag,
    OutboxMessage,
    Payment,
    Refund,
    Stock,
    StockHold,
    StockMovement,
    WebhookEvent,
)
from checkout.services import payment_sessions
from tests.factories import ProductFactory
from tests.payment_sessions_support import URLS, place
from tests.test_webhooks import sign

REFUND_FAILS = "4000000000005126"
DISPUTED = "4000000000000259"

# What happens to each order on the provider's side, before any event reaches the shop.
KINDS = ("paid", "refunded", "partly_refunded", "disputed", "debit_paid", "debit_failed",
         "expired", "refund_fails")


@dataclass(frozen=True)
class Played:
    number: str
    kind: str
    session_id: str
    total: int


def stock_up(app: Flask, count: int = 4, on_hand: int = 1000) -> dict[str, int]:
    """Products with stock for every order of a scenario; sku → id."""
    with app.app_context():
        made = [ProductFactory(sku=f"T{i}", price=1000 + 250 * i, on_hand=on_hand)
                for i in range(count)]
        ids = {p.sku: p.id for p in made}
        db.session.remove()
    return ids


def play(app: Flask, sandbox, products: dict[str, int], orders: int,
         kinds: tuple[str, ...] = KINDS) -> list[Played]:
    """Place `orders` orders with a payment page each, then settle each on the provider's side
    as its kind (taken from `kinds` in turn) says; then move the provider's clock past every
    hold so the rest expire."""
    played = []
    skus = sorted(products)
    with app.app_context():
        for i in range(orders):
            order = place(products, skus[i % len(skus)], 1 + i % 3)
            payment_sessions.start(order, URLS)
            [attempt] = payment_sessions.attempts_of(order)
            played.append(Played(order.number, kinds[i % len(kinds)], attempt.session_id,
                                 order.total))
            db.session.commit()
        db.session.remove()
    for one in played:
        _settle(sandbox, one)
    sandbox.advance_clock(31 * 60)
    return played


def _settle(sandbox, one: Played) -> None:
    kind, session_id = one.kind, one.session_id
    if kind == "expired":
        return
    if kind.startswith("debit"):
        assert sandbox.pay(session_id, method="bank_debit").outcome == "processing"
        sandbox.settle_async(session_id, succeeded=kind == "debit_paid")
        return
    card = {"disputed": DISPUTED, "refund_fails": REFUND_FAILS}.get(kind, "4242424242424242")
    assert sandbox.pay(session_id, card=card).ok
    payment_intent = sandbox.retrieve_session(session_id)["payment_intent"]
    if kind in ("refunded", "refund_fails"):
        sandbox.dashboard_refund(payment_intent)
    elif kind == "partly_refunded":
        sandbox.dashboard_refund(payment_intent, amount=one.total // 3)


def bodies(sandbox) -> list[bytes]:
    """Every event the sandbox made, oldest first, as the bodies it would sign."""
    return [json.dumps(event).encode() for event in sandbox.events()]


def post(client, body: bytes):
    return client.post("/webhooks/stripe", data=body,
                       headers={"Stripe-Signature": sign(body),
                                "Content-Type": "application/json"})


def deliver_in_order(app: Flask, events: list[bytes]) -> list[int]:
    client = app.test_client()
    return [post(client, body).status_code for body in events]


def deliver_shuffled(app: Flask, events: list[bytes], *, seed: int, threads: int = 8
                     ) -> list[int]:
    """Deliver every event, a third of them twice, shuffled, from `threads` threads at once."""
    rng = random.Random(seed)
    queue = events + rng.sample(events, len(events) // 3)
    rng.shuffle(queue)
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(share: list[bytes]) -> None:
        client = app.test_client()
        start.wait()
        for body in share:
            status = post(client, body).status_code
            with lock:
                statuses.append(status)

    workers = [threading.Thread(target=worker, args=(queue[i::threads],))
               for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(300)
    assert len(statuses) == len(queue), "a delivery thread did not finish"
    return statuses


def save_tables(app: Flask) -> list[tuple]:
    """Every shop row, to put the database back to this moment (restore_tables)."""
    with app.app_context():
        with db.engine.connect() as conn:
            saved = [(table, [dict(row) for row in conn.execute(select(table)).mappings()])
                     for table in db.metadata.sorted_tables]
        db.session.remove()
    return saved


def restore_tables(app: Flask, saved: list[tuple]) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table, _ in reversed(saved):
                conn.execute(delete(table))
            for table, rows in saved:
                if rows:
                    conn.execute(insert(table), rows)
        db.session.remove()


def state(app: Flask) -> dict:
    """The shop's state with its ids and clocks left out: what two deliveries must agree on.

    Side effects are counted (a Counter per order), so one written twice shows.
    """
    with app.app_context():
        numbers = {o.id: o.number for o in db.session.scalars(select(Order))}
        per_order: dict[str, dict] = {
            number: {"status": None, "timeline": Counter(), "payments": [], "refunds": [],
                     "holds": [], "movements": Counter(), "flags": Counter(), "invoices": 0,
                     "credit_notes": 0, "attempts": []}
            for number in numbers.values()
        }
        for order in db.session.scalars(select(Order)):
            per_order[order.number]["status"] = order.status
        for e in db.session.scalars(select(OrderEvent)):
            per_order[numbers[e.order_id]]["timeline"][
                (e.kind, e.from_status, e.to_status, e.message, e.amount, e.actor)] += 1
        for p in db.session.scalars(select(Payment)):
            per_order[numbers[p.order_id]]["payments"].append(
                (p.checkout_session_id, p.payment_intent_id, p.status, p.amount,
                 p.amount_refunded))
        for r in db.session.scalars(select(Refund)):
            per_order[numbers[r.order_id]]["refunds"].append(
                (r.provider_refund_id, r.amount, r.status, r.reason, r.failure_reason))
        for h in db.session.scalars(select(StockHold)):
            per_order[numbers[h.order_id]]["holds"].append((h.product_id, h.quantity, h.status))
        for m in db.session.scalars(select(StockMovement)):
            if m.order_id is not None:
                per_order[numbers[m.order_id]]["movements"][(m.product_id, m.delta, m.reason)] += 1
        for f in db.session.scalars(select(OrderFlag)):
            per_order[numbers[f.order_id]]["flags"][f.code] += 1
        for i in db.session.scalars(select(Invoice)):
            per_order[numbers[i.order_id]]["invoices"] += 1
        for note in db.session.scalars(select(CreditNote)):
            refund = db.session.get(Refund, note.refund_id)
            per_order[numbers[refund.order_id]]["credit_notes"] += 1
        for a in db.session.scalars(select(CheckoutAttempt)):
            per_order[numbers[a.order_id]]["attempts"].append((a.session_id, a.status))
        for one in per_order.values():
            for key in ("payments", "refunds", "holds", "attempts"):
                one[key].sort(key=repr)
        result = {
            "orders": per_order,
            "stock": sorted((s.product_id, s.on_hand, s.held)
                            for s in db.session.scalars(select(Stock))),
            "outbox": Counter((m.key, m.template, m.recipient)
                              for m in db.session.scalars(select(OutboxMessage))),
            "events": sorted(db.session.scalars(select(WebhookEvent.event_id))),
            "failed": sorted(db.session.scalars(
                select(WebhookEvent.event_id).where(WebhookEvent.outcome == "failed"))),
        }
        db.session.remove()
    return result
