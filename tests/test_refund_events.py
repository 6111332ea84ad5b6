"""Refund events the shop did not start or did not expect, delivered by the sandbox itself."""

from sqlalchemy import select

from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment, Refund, WebhookEvent
from checkout.models.order import FlagCode
from checkout.models.payment import RefundReason
from checkout.services import refunds
from tests.shop import place_and_get_session
from tests.test_webhooks import post_event

FAILS_LATER = "4000000000005126"


def _paid(app, client, sandbox, products, card: str = "4242424242424242") -> Payment:
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id, card=card).ok
    sandbox.deliver_pending()
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment.status == PaymentStatus.SUCCEEDED
        db.session.expunge(payment)
        return payment


def _refund_in_full(app, key: str) -> None:
    """Refund the one payment in full as staff do, and send it to the provider."""
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        refunds.record_refund(order, payment, payment.amount,
                              reason=RefundReason.REQUESTED_BY_CUSTOMER, key=key,
                              actor="staff@example.com")
        db.session.commit()
        assert refunds.send_unsent() == 1
        db.session.remove()


def _outcomes(app, type_: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.type == type_).order_by(WebhookEvent.id))
        return [(row.outcome, row.detail) for row in rows]


def _ledger(app) -> tuple[list[tuple], int, str]:
    with app.app_context():
        rows = [(r.reason, r.amount, r.status, r.provider_refund_id)
                for r in db.session.scalars(select(Refund))]
        payment = db.session.scalar(select(Payment))
        return rows, payment.amount_refunded, payment.status


def test_a_dashboard_refund_delivered_by_the_sandbox_is_recorded_once(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    made = sandbox.dashboard_refund(payment.payment_intent_id, amount=800)
    results = sandbox.deliver_pending()
    assert [r.event_type for r in results] == ["refund.created", "charge.refunded"]
    assert all(r.ok for r in results)

    expected = ([(RefundReason.EXTERNAL, 800, RefundStatus.SUCCEEDED, made["id"])], 800,
                PaymentStatus.PARTIALLY_REFUNDED)
    assert _ledger(app) == expected
    assert _outcomes(app, "refund.created") == [(Outcome.REFUND_RECORDED, "")]
    # charge.refunded made the shop list the charge's refunds: it found the one it knows.
    assert _outcomes(app, "charge.refunded") == [
        (Outcome.STALE, "1 refunds on the charge, all known")]

    for event in sandbox.events("refund.created") + sandbox.events("charge.refunded"):
        sandbox.resend(event["id"])
    assert all(r.ok for r in sandbox.deliver_pending())
    assert _ledger(app) == expected


def test_a_charge_refunded_arriving_first_records_the_refund_through_the_list_call(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    charge = sandbox.retrieve_payment_intent(payment.payment_intent_id)["latest_charge"]
    made = sandbox.dashboard_refund(charge)
    # The charge's event overtakes the refund's (Stripe promises no order).
    [charge_event] = sandbox.events("charge.refunded")
    assert post_event(client, charge_event).status_code == 200
    assert _outcomes(app, "charge.refunded") == [
        (Outcome.REFUND_RECORDED, "1 refunds on the charge")]
    sandbox.deliver_pending()
    assert _outcomes(app, "refund.created") == [(Outcome.STALE, "")]
    assert _ledger(app) == ([(RefundReason.EXTERNAL, 4800, RefundStatus.SUCCEEDED, made["id"])],
                            4800, PaymentStatus.REFUNDED)


def test_a_dispute_from_the_0259_card_flags_the_order_and_changes_no_payment(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products, card="4000000000000259")
    assert [e["type"] for e in sandbox.events("charge.dispute.created")] == [
        "charge.dispute.created"]
    delivered = [a for a in sandbox.delivery_attempts()
                 if a.event_type == "charge.dispute.created"]
    assert [a.ok for a in delivered] == [True]
    [(outcome, detail)] = _outcomes(app, "charge.dispute.created")
    assert outcome == Outcome.FLAGGED and detail.startswith("dispute dp_")
    assert _ledger(app) == ([], 0, PaymentStatus.SUCCEEDED)


def test_a_shop_refund_on_the_5126_card_ends_failed_and_flags_the_order(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products, card=FAILS_LATER)
    _refund_in_full(app, "refund-5126")
    with app.app_context():
        # The provider says succeeded at first.
        assert db.session.scalar(select(Refund)).status == RefundStatus.SUCCEEDED

    results = sandbox.deliver_pending()
    assert [r.event_type for r in results] == [
        "refund.created", "charge.refunded", "refund.updated", "refund.failed"]
    assert all(r.ok for r in results)
    with app.app_context():
        refund = db.session.scalar(select(Refund))
        assert (refund.status, refund.failure_reason) == (
            RefundStatus.FAILED, "expired_or_canceled_card")
        payment = db.session.scalar(select(Payment))
        assert (payment.amount_refunded, payment.status) == (0, PaymentStatus.SUCCEEDED)
        assert [f.code for f in db.session.scalars(select(OrderFlag))] == [
            FlagCode.REFUND_FAILED]
    assert sandbox.retrieve_refund(refund.provider_refund_id)["status"] == "failed"
    # The refund had failed before the first event went out, and every event is checked
    # against the provider's copy: refund.created already applied the failure, the events
    # after it change nothing more.
    assert _outcomes(app, "refund.created") == [
        (Outcome.REFUND_UPDATED, "the event said succeeded (the provider says failed)")]
    assert _outcomes(app, "charge.refunded") == [
        (Outcome.STALE, "1 refunds on the charge, all known")]
    assert _outcomes(app, "refund.updated") == [(Outcome.STALE, "")]
    assert _outcomes(app, "refund.failed") == [(Outcome.STALE, "")]
    for event in sandbox.events("refund.failed"):
        sandbox.resend(event["id"])
    sandbox.deliver_pending()
    with app.app_context():
        assert db.session.scalar(select(Payment)).amount_refunded == 0
        assert len(db.session.scalars(select(OrderFlag)).all()) == 1


def test_refund_events_in_any_order_end_in_the_latest_state_without_an_error(
    app, client, sandbox, products
):
    """Stripe promises no order: a refund's failure may arrive before its creation."""
    payment = _paid(app, client, sandbox, products, card=FAILS_LATER)
    made = sandbox.dashboard_refund(payment.payment_intent_id, amount=800)
    sandbox.advance_clock(3600)  # the refund on this card fails at the sandbox's next tick
    sandbox.run_due()
    latest = {event["type"]: event for event in sandbox.events()}
    order = ["refund.failed", "refund.updated", "charge.refunded", "refund.created"]
    assert set(order) <= set(latest)
    assert latest["refund.created"]["data"]["object"]["status"] == "succeeded"
    assert [post_event(client, latest[t]).status_code for t in order] == [200] * 4
    assert _ledger(app) == (
        [(RefundReason.EXTERNAL, 800, RefundStatus.FAILED, made["id"])], 0,
        PaymentStatus.SUCCEEDED)
    assert _outcomes(app, "refund.created") == [
        (Outcome.STALE, "the event said succeeded (the provider says failed)")]
