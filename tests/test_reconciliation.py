"""`flask reconcile` and its periodic job: lost webhooks applied, the rest reported, idempotent."""

import json
import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, text

from checkout.cli import progress_bar
from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.domain.reconciliation import IssueKind
from checkout.extensions import db
from checkout.models import (
    CheckoutAttempt,
    Order,
    OrderFlag,
    Payment,
    Product,
    ReconciliationRun,
    Refund,
    Stock,
    StockHold,
    WebhookEvent,
)
from checkout.services import fulfilment, inventory, reconciliation
from tests.conftest import TABLES_CHILD_FIRST
from tests.factories import ProductFactory
from tests.shop import place_and_get_session
from tests.state import only_order, stock_of
from tests.test_metrics import moved, scrape
from tests.test_webhooks import post_event

DECLINED = "4000000000000002"


def reconcile(app, *args: str):
    return app.test_cli_runner().invoke(args=["reconcile", *args])


def stock_up(app) -> dict[str, int]:
    """The three products of the `products` fixture; returns sku → id."""
    with app.app_context():
        made = [
            ProductFactory(sku="MUG", price=2400, on_hand=20, title="Stoneware Mug"),
            ProductFactory(sku="PEN", price=1250, on_hand=3, title="Brass Pen"),
            ProductFactory(sku="VASE", price=9900, on_hand=1, title="Hand-thrown Vase"),
        ]
        ids = {p.sku: p.id for p in made}
        db.session.remove()
    return ids


def wipe(app) -> None:
    """Forget everything, shop and sandbox, as between two tests."""
    app.extensions["sandbox"].reset()
    with app.app_context():
        db.session.remove()
        assert inventory.check_invariant() == []
        db.session.remove()
        with db.engine.begin() as conn:
            for table in TABLES_CHILD_FIRST:
                conn.execute(text(f"DELETE FROM {table}"))


def pay_many(app, sandbox, products) -> None:
    """A day of trade on Stripe's side; the shop hears nothing of it yet."""
    def new_order(sku: str, quantity: int) -> str:
        return place_and_get_session(app.test_client(), products[sku], quantity)

    def intent(session_id: str) -> str:
        return sandbox.retrieve_session(session_id)["payment_intent"]

    paid = new_order("MUG", 2)
    assert sandbox.pay(paid).ok
    refunded = new_order("PEN", 1)
    assert sandbox.pay(refunded).ok
    part_refunded = new_order("MUG", 1)
    assert sandbox.pay(part_refunded).ok
    async_ok = new_order("VASE", 1)
    assert sandbox.pay(async_ok, method="bank_debit").ok
    async_failed = new_order("MUG", 1)
    assert sandbox.pay(async_failed, method="bank_debit").ok
    closed = new_order("PEN", 1)
    retried = new_order("MUG", 3)
    assert not sandbox.pay(retried, card=DECLINED).ok
    assert sandbox.pay(retried).ok
    new_order("MUG", 1)  # left open: nothing to apply
    sandbox.expire_session(closed)
    sandbox.settle_async(async_ok, succeeded=True)
    sandbox.settle_async(async_failed, succeeded=False)
    sandbox.dashboard_refund(intent(refunded))
    sandbox.dashboard_refund(intent(part_refunded), amount=800)


def state(app) -> dict:
    """Orders (in the order placed), their ledger and session requests, stock: no ids."""
    with app.app_context():
        orders = []
        for order in db.session.scalars(select(Order).order_by(Order.id)):
            payments = [(p.status, p.amount, p.amount_refunded) for p in db.session.scalars(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))]
            refunds = [(r.amount, r.status, r.reason) for r in db.session.scalars(
                select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))]
            attempts = [a.status for a in db.session.scalars(
                select(CheckoutAttempt).where(CheckoutAttempt.order_id == order.id)
                .order_by(CheckoutAttempt.number))]
            holds = sorted((h.status, h.quantity) for h in db.session.scalars(
                select(StockHold).where(StockHold.order_id == order.id)))
            flags = sorted(f.code for f in db.session.scalars(
                select(OrderFlag).where(OrderFlag.order_id == order.id)))
            orders.append((order.status, payments, refunds, attempts, holds, flags))
        stock = sorted(db.session.execute(
            select(Product.sku, Stock.on_hand, Stock.held).join(Product,
                                                                Product.id == Stock.product_id)
        ).tuples())
        db.session.remove()
    return {"orders": orders, "stock": stock}


def deliver(client, events: list[dict]) -> None:
    for event in events:
        response = post_event(client, event)
        assert response.status_code == 200, response.get_data(as_text=True)


def drop_a_fifth(events: list[dict]) -> tuple[list[dict], list[dict]]:
    """Drop a random 20% of the deliveries, a payment and a refund among them.

    Events about one payment stand in for each other (a refund's event applies the payment
    it overtook; charge.refunded lists the refunds), so what is dropped is a payment with no
    other event and every event of one refund.
    """
    def intent_of(event: dict) -> str | None:
        return event["data"]["object"].get("payment_intent")

    first_paid = next(i for i, e in enumerate(events)
                      if e["type"] == "checkout.session.completed")
    for seed in range(1000):
        dropped = set(random.Random(seed).sample(range(len(events)), round(len(events) / 5)))
        refunds_gone = {
            intent_of(events[i]) for i in dropped if events[i]["type"] == "refund.created"
        } & {intent_of(events[i]) for i in dropped if events[i]["type"] == "charge.refunded"}
        if first_paid in dropped and refunds_gone:
            kept = [e for i, e in enumerate(events) if i not in dropped]
            return kept, [events[i] for i in sorted(dropped)]
    raise AssertionError("no seed drops a payment and a refund")


def test_dropping_a_fifth_of_the_webhooks_then_reconciling_equals_full_delivery(
    app, client, sandbox
):
    products = stock_up(app)
    pay_many(app, sandbox, products)
    deliver(client, sandbox.events())
    full = state(app)
    assert [o[0] for o in full["orders"]].count(OrderStatus.PAYMENT_CONFIRMED) == 5

    wipe(app)
    products = stock_up(app)
    pay_many(app, sandbox, products)
    kept, dropped = drop_a_fifth(sandbox.events())
    deliver(client, kept)
    assert state(app) != full

    counted_before = scrape(client)
    result = reconcile(app)
    assert result.exit_code == 0, result.output
    assert "Everything matches." in result.output
    assert state(app) == full
    with app.app_context():
        run = db.session.scalar(select(ReconciliationRun))
        assert run.trigger == "cli" and not run.needs_person
        applied = {fix.stripe_id for fix in run.fixes if fix.stripe_id.startswith("evt_")}
        assert applied and applied <= {event["id"] for event in dropped}
        # /metrics counts each fix once, by what was applied.
        by_kind = Counter("event" if fix.stripe_id.startswith("evt_") else
                          "session" if fix.what == "checkout.session" else "refund"
                          for fix in run.fixes)
        # Every dropped event is now handled, exactly once.
        handled = db.session.scalars(select(WebhookEvent.event_id)).all()
        assert sorted(handled) == sorted(e["id"] for e in sandbox.events())

    counted = moved(counted_before, scrape(client))
    assert {key[1][0][1]: value for key, value in counted.items()
            if key[0] == "checkout_reconciliation_fixes_total"} == by_kind

    # Idempotent: a second run finds nothing to fix and changes nothing.
    again = reconcile(app)
    assert again.exit_code == 0, again.output
    assert "Nothing to fix." in again.output and "Everything matches." in again.output
    assert state(app) == full
    # And the lost deliveries arriving late are duplicates.
    deliver(client, dropped)
    assert state(app) == full


def test_a_shopper_who_paid_while_the_webhook_endpoint_was_down_is_confirmed(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["MUG"], 2)
    sandbox.set_endpoint_down(24 * 3600)
    assert sandbox.pay(session_id).ok
    # Stripe tries and fails; the shopper closed the tab, the success page never opened.
    attempts = sandbox.deliver_pending()
    assert attempts and not any(attempt.ok for attempt in attempts)
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["MUG"]) == (20, 2)

    result = reconcile(app, "--since", "1h")
    assert result.exit_code == 0, result.output
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (18, 0)
    assert "checkout.session.completed" in result.output and order.number in result.output
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, 4800)
        # The webhook log keeps the event as read from Stripe, for staff to read and replay.
        logged = db.session.scalar(select(WebhookEvent).where(
            WebhookEvent.type == "checkout.session.completed"))
        body = json.loads(logged.payload)
        assert (body["id"], body["data"]["object"]["id"]) == (logged.event_id, session_id)

    again = reconcile(app, "--since", "1h")
    assert again.exit_code == 0 and "Nothing to fix." in again.output
    assert stock_of(app, products["MUG"]) == (18, 0)


def test_the_periodic_job_reconciles_and_stores_its_report(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(session_id).ok  # never delivered
    # The test app runs the task at once (JOBS_IMMEDIATE); the consumer runs it on schedule.
    app.extensions["jobs"]["reconcile_recent"]()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    with app.app_context():
        run = db.session.scalar(select(ReconciliationRun))
        assert run.trigger == "job" and len(run.fixes) == 1
        assert (run.since.date() - run.started_at.date()).days == -3


def test_a_paid_session_with_no_order_and_its_refund_are_reported(app, sandbox):
    stranger = sandbox.create_session({
        "mode": "payment", "success_url": "http://elsewhere.test/ok",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 1500,
                                       "product_data": {"name": "Not ours"}}, "quantity": 1}],
    })
    assert sandbox.pay(stranger["id"], email="someone@example.com").ok
    refund = sandbox.dashboard_refund(sandbox.retrieve_session(stranger["id"])["payment_intent"],
                                      amount=500)
    result = reconcile(app)
    assert result.exit_code == 1
    assert "Paid session with no order" in result.output and stranger["id"] in result.output
    assert "Refund unknown here" in result.output and refund["id"] in result.output
    with app.app_context():
        issues = db.session.scalar(select(ReconciliationRun)).issues
        assert sorted((i.kind, i.stripe_id) for i in issues) == sorted([
            (IssueKind.PAID_WITHOUT_ORDER, stranger["id"]),
            (IssueKind.UNKNOWN_REFUND, refund["id"])])
    # Nothing a run can do about them: the next one says the same, still non-zero.
    assert reconcile(app).exit_code == 1


def test_an_amount_mismatch_is_reported_with_its_order(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["MUG"], 1)
    with app.app_context():
        # A bug (or a hand-edited row) left the order's total other than what Stripe took.
        db.session.scalar(select(Order)).total = 2300
        db.session.commit()
    assert sandbox.pay(session_id).ok
    result = reconcile(app)
    assert result.exit_code == 1
    number = only_order(app).number
    with app.app_context():
        run = db.session.scalar(select(ReconciliationRun))
        found = {(i.kind, i.order_number) for i in run.issues}
    assert (IssueKind.AMOUNT_MISMATCH, number) in found
    # The handler refused to confirm it and flagged the order; still wrong after applying.
    assert {(IssueKind.FLAGGED, number), (IssueKind.NOT_RECORDED, number)} <= found
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert "Amount mismatch" in result.output and "2400" in result.output


def test_a_payment_counted_here_that_stripe_never_took_is_reported(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["MUG"], 1)
    with app.app_context():
        order = db.session.scalar(select(Order))
        db.session.add(Payment(order_id=order.id, checkout_session_id=session_id,
                               amount=order.total, currency=order.currency,
                               status=PaymentStatus.SUCCEEDED))
        db.session.commit()
    result = reconcile(app)
    assert result.exit_code == 1
    assert "Paid here, not on Stripe" in result.output and session_id in result.output


def test_stripe_out_of_reach_is_reported_and_exits_non_zero(app, sandbox):
    # Stripe refuses the shop's key (revoked, say): nothing can be compared.
    real_key, sandbox.api_key = sandbox.api_key, "sk_test_rotated_elsewhere"
    try:
        result = reconcile(app)
    finally:
        sandbox.api_key = real_key
    assert result.exit_code == 1 and "Stripe unreachable" in result.output
    with app.app_context():
        [issue] = db.session.scalar(select(ReconciliationRun)).issues
        assert issue.kind == IssueKind.PROVIDER_UNREACHABLE


def test_a_since_it_cannot_read_is_a_usage_error(app):
    for bad in ("yesterday", "45d", "2999-01-01"):
        result = reconcile(app, "--since", bad)
        assert result.exit_code == 2 and "--since" in result.output
    with app.app_context():
        assert db.session.scalar(select(ReconciliationRun)) is None


def test_a_handler_that_fails_is_reported_and_the_next_run_applies_the_event(
    app, client, sandbox, products, monkeypatch
):
    session_id = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(session_id).ok  # never delivered

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away mid-handler")

    with monkeypatch.context() as patch:
        patch.setattr(fulfilment, "confirm_payment", broken)
        result = reconcile(app)
    assert result.exit_code == 1 and "Could not apply" in result.output
    assert "the database went away" in result.output
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["MUG"]) == (20, 1)
    with app.app_context():
        [completed] = db.session.scalars(select(WebhookEvent).where(
            WebhookEvent.type == "checkout.session.completed")).all()
        assert completed.outcome == "failed"

    # The failed event is not "handled": the next run applies it, once.
    result = reconcile(app)
    assert result.exit_code == 0, result.output
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (19, 0)
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.outcome).where(
            WebhookEvent.event_id == completed.event_id)) == "confirmed"


def test_each_step_reports_its_progress_with_what_it_counts(app, client, sandbox, products):
    for sku in ("MUG", "PEN"):
        assert sandbox.pay(place_and_get_session(app.test_client(), products[sku], 1)).ok
    steps = []

    def progress(items, what, total):
        items = list(items)
        steps.append((what, total, len(items)))
        return items

    with app.app_context():
        run = reconciliation.reconcile(now_utc() - timedelta(hours=1), trigger="cli",
                                       progress=progress)
        events = run.events_seen
    assert [what for what, _, _ in steps] == [
        "Stripe events", "Stripe sessions", "Applying events", "Comparing sessions",
        "Comparing refunds"]
    assert steps[0] == ("Stripe events", None, events) and steps[1] == ("Stripe sessions", None, 2)
    assert all(total == seen for what, total, seen in steps[2:])
    assert steps[3][1] == 2 and steps[2][1] == events


def test_the_progress_bar_passes_every_item_and_stays_silent_off_a_terminal(capsys):
    assert list(progress_bar(iter(range(250)), "Stripe events", None)) == list(range(250))
    assert list(progress_bar([1, 2, 3], "Applying events", 3)) == [1, 2, 3]
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
