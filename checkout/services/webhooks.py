"""Stripe events in: each recorded under a unique id in the same transaction as its effects."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from checkout.domain.money import MoneyError, format_money
from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.logs import following_payment
from checkout.models import Order, Payment, WebhookEvent
from checkout.models.order import FlagCode
from checkout.payments import (
    CheckoutSessionInfo,
    InvalidWebhook,
    RefundInfo,
    UnknownToProvider,
    check_event,
    gateway,
    refund_info,
    session_info,
)
from checkout.payments.gateway import MAX_AMOUNT, MAX_TIMESTAMP, usable_id, usable_text
from checkout.services import fulfilment, notifications, payment_sessions, refunds
from checkout.services.orders import lock_order
from checkout.services.transactions import retry_once_on_conflict

log = logging.getLogger(__name__)
ACTOR = "stripe"

# What a handler gets: the event, and what was fetched for it before the transaction began.
Handler = Callable[[stripe.Event, Any], tuple[Outcome, str]]


@dataclass(frozen=True)
class SessionEvent:
    """A session event's copy of the session, and the provider's (None: it knows no such)."""

    claimed: CheckoutSessionInfo
    actual: CheckoutSessionInfo | None
    # The provider's time when we asked (the sandbox's clock can run ahead of ours).
    now: int

    def disagreement(self) -> str:
        """Say where the event's copy differs from the provider's, for the webhook log."""
        if self.actual is None:
            return f"the provider knows no session {self.claimed.id}"
        differs = [
            f"{name} {getattr(self.claimed, name)!r} (the provider says "
            f"{getattr(self.actual, name)!r})"
            for name in ("status", "payment_status", "amount_total", "currency",
                         "client_reference_id")
            if getattr(self.claimed, name) != getattr(self.actual, name)
        ]
        return f"the event said {', '.join(differs)}" if differs else ""


def _session_of_event(event: stripe.Event) -> SessionEvent:
    """Read the event's session, then ask the provider for its own copy (before the transaction).

    A signed event proves only that someone holds the webhook secret: what is applied is what
    the provider says of the session now.
    """
    claimed = session_info(event.data.object)
    provider = gateway()
    try:
        actual = provider.retrieve_checkout(claimed.id)
    except UnknownToProvider:
        actual = None
    fetched = SessionEvent(claimed, actual, provider.now())
    if said := fetched.disagreement():
        # Either a signed event built by hand, or one Stripe's own later news overtook.
        log.warning("stripe event %s disagrees with the provider: %s", event.id, said)
    return fetched


def _session_order(session: CheckoutSessionInfo) -> tuple[Order | None, str]:
    """Find the order a session is about; flag one that names an order we never paid."""
    order = payment_sessions.find_order_by_session(session.id) or payment_sessions.adopt_session(
        session
    )
    if order is not None:
        return order, ""
    if session.client_reference_id:
        named = db.session.scalar(select(Order).where(Order.number == session.client_reference_id))
        if named is not None:
            detail = f"event for session {session.id}, which was not issued for this order"
            named.flag(FlagCode.PAYMENT_MISMATCH, detail, actor=ACTOR)
            notifications.alert_staff(
                named, FlagCode.PAYMENT_MISMATCH, detail, cause=session.id
            )
            return None, "flagged: session not issued for the order it names"
    return None, "no order for this session"


def _joined(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _on_session_completed(event: stripe.Event, fetched: SessionEvent) -> tuple[Outcome, str]:
    session, said = fetched.actual, fetched.disagreement()
    if session is None:
        return Outcome.UNMATCHED, said
    order, why = _session_order(session)
    if order is None:
        return Outcome.UNMATCHED, _joined(why, said)
    return _apply_provider_session(order, session), said


def _apply_provider_session(order: Order, session: CheckoutSessionInfo) -> Outcome:
    """Apply a completed session as the provider has it now, whichever event brought it.

    A debit whose failure the provider already knows is applied as that failure: the
    completion and the failure then end the same in either order of arrival.
    """
    if (
        session.status == "complete" and session.payment_status == "unpaid"
        and session.payment_intent_status in FAILED_INTENT_STATUSES
    ):
        return fulfilment.payment_failed(order, session, actor=ACTOR)
    return fulfilment.apply_session(order, session, actor=ACTOR)


def _payment_of_intent(payment_intent: str | None) -> Payment | None:
    if payment_intent is None:
        return None
    return db.session.scalar(select(Payment).where(Payment.payment_intent_id == payment_intent))


def _settle_payment_first(session: CheckoutSessionInfo | None) -> None:
    """Apply the session that took a payment, when an event about its money came first.

    Stripe keeps no order: a refund or dispute can arrive before the completion. The
    provider's session (asked for before the transaction) is applied as its own event would
    be, so what follows finds the payment; the completion arriving later is a duplicate.
    """
    if session is None or session.status != "complete":
        return
    if _payment_of_intent(session.payment_intent) is not None:
        return
    order, _ = _session_order(session)
    if order is not None:
        _apply_provider_session(order, session)


def _session_of_payment(payment_intent: str | None) -> CheckoutSessionInfo | None:
    """The provider's Checkout Session that took a payment (asked before the transaction)."""
    return gateway().checkout_of_payment(payment_intent) if payment_intent else None


# What a PaymentIntent says once a delayed payment has failed (it waits for another method).
FAILED_INTENT_STATUSES = frozenset({"requires_payment_method", "canceled"})


def _on_async_failed(event: stripe.Event, fetched: SessionEvent) -> tuple[Outcome, str]:
    session, said = fetched.actual, fetched.disagreement()
    if session is None:
        return Outcome.UNMATCHED, said
    if session.status != "complete":
        return Outcome.NOT_COMPLETE, _joined(f"the provider says the session is {session.status}",
                                             said)
    if session.payment_status != "unpaid" or (
        session.payment_intent_status not in FAILED_INTENT_STATUSES
    ):
        # Paid, or still processing: the failure never happened (or is not the last word).
        return Outcome.STALE, _joined(
            f"the provider says the session is {session.payment_status} and its payment "
            f"{session.payment_intent_status or 'absent'}", said,
        )
    order, why = _session_order(session)
    if order is None:
        return Outcome.UNMATCHED, _joined(why, said)
    return fulfilment.payment_failed(order, session, actor=ACTOR), said


# Stripe's clock and ours may differ a little; an expiry this close to expires_at is a lapse.
CLOCK_SKEW_SECONDS = 60


def _on_session_expired(event: stripe.Event, fetched: SessionEvent) -> tuple[Outcome, str]:
    session, said = fetched.actual, fetched.disagreement()
    if session is None:
        return Outcome.UNMATCHED, said
    if session.status != "expired":
        return Outcome.STALE, _joined(f"the provider says the session is {session.status}", said)
    order, why = _session_order(session)
    if order is None:
        return Outcome.UNMATCHED, _joined(why, said)
    # A session we closed early (cancel, resume) is expired before its time; the event's stamp
    # is trusted no further than the provider's clock.
    expired_at = min(event.created, fetched.now)
    lapsed = session.expires_at is not None and (
        expired_at >= session.expires_at - CLOCK_SKEW_SECONDS
    )
    return fulfilment.expire(order, session.id, actor=ACTOR, lapsed=lapsed), said


@dataclass(frozen=True)
class RefundEvent:
    """A refund event's copy of the refund, the provider's, and the session that took the money."""

    claimed: RefundInfo
    actual: RefundInfo | None
    session: CheckoutSessionInfo | None


def _refund_of_event(event: stripe.Event) -> RefundEvent:
    """Read the event's refund, then the provider's own copy of it (before the transaction)."""
    claimed = refund_info(event.data.object)
    if claimed.payment_intent is None:
        return RefundEvent(claimed, None, None)
    known = gateway().list_refunds(claimed.payment_intent)
    actual = next((info for info in known if info.id == claimed.id), None)
    return RefundEvent(claimed, actual, _session_of_payment(claimed.payment_intent))


def _on_refund(event: stripe.Event, fetched: RefundEvent) -> tuple[Outcome, str]:
    claimed = fetched.claimed
    if claimed.payment_intent is None:
        return Outcome.UNMATCHED, f"refund {claimed.id} names no payment"
    if fetched.actual is None:
        return Outcome.UNMATCHED, (
            f"the provider knows no refund {claimed.id} of payment {claimed.payment_intent}"
        )
    _settle_payment_first(fetched.session)
    said = (
        f"the event said {fetched.claimed.status} (the provider says {fetched.actual.status})"
        if fetched.claimed.status != fetched.actual.status else ""
    )
    return refunds.apply_refund(fetched.actual, actor=ACTOR), said


@dataclass(frozen=True)
class ChargeRefunds:
    """A refunded charge's refunds as the provider lists them, and the session that took it."""

    refunds: list[RefundInfo]
    session: CheckoutSessionInfo | None


def _refunds_of_charge(event: stripe.Event) -> ChargeRefunds:
    """A charge's refunds, asked for before the transaction (events carry the charge only)."""
    charge = event.data.object.to_dict()
    if "payment_intent" not in charge:
        raise InvalidWebhook("charge without payment_intent")
    payment_intent = charge["payment_intent"]
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if payment_intent is None:
        return ChargeRefunds([], None)
    if not usable_text(payment_intent):
        raise InvalidWebhook("charge payment_intent is not an id")
    return ChargeRefunds(gateway().list_refunds(payment_intent),
                         _session_of_payment(payment_intent))


def _on_charge_refunded(event: stripe.Event, fetched: ChargeRefunds) -> tuple[Outcome, str]:
    _settle_payment_first(fetched.session)
    outcomes = [refunds.apply_refund(info, actor=ACTOR) for info in fetched.refunds]
    count = len(fetched.refunds)
    for wanted in (Outcome.FLAGGED, Outcome.REFUND_RECORDED, Outcome.REFUND_UPDATED):
        if wanted in outcomes:
            return wanted, f"{count} refunds on the charge"
    return Outcome.STALE, f"{count} refunds on the charge, all known"


def _id_of(value: Any) -> Any:
    """An expandable field's id when it came expanded; anything else as it came."""
    return value.get("id") if isinstance(value, dict) else value


def _dispute_of_event(event: stripe.Event) -> dict[str, Any]:
    """Read the event's dispute, then act on the provider's own copy (before the transaction).

    A signed dispute proves only that someone holds the webhook secret: one the provider
    never opened would flag a paid order and send staff to answer a bank that asked nothing.
    """
    claimed = _read_dispute(event.data.object.to_dict())
    try:
        actual = _read_dispute(gateway().retrieve_dispute(claimed["id"]))
    except UnknownToProvider:
        return {"id": claimed["id"], "unknown": True}
    return {**actual, "session": _session_of_payment(actual["payment_intent"])}


def _read_dispute(dispute: dict[str, Any]) -> dict[str, Any]:
    """What a dispute says, checked (InvalidWebhook if nonsense)."""
    if "payment_intent" not in dispute:
        raise InvalidWebhook("dispute without payment_intent")
    payment_intent, charge = _id_of(dispute.get("payment_intent")), _id_of(dispute.get("charge"))
    amount, currency, reason = dispute.get("amount"), dispute.get("currency"), dispute.get("reason")
    if not (
        usable_id(dispute.get("id"))
        and isinstance(amount, int) and not isinstance(amount, bool)
        and 0 < amount <= MAX_AMOUNT
        and usable_text(currency)
        and (payment_intent is None or usable_text(payment_intent))
        and (charge is None or usable_text(charge))
        and (reason is None or usable_text(reason))
    ):
        raise InvalidWebhook(
            "dispute event without a usable id, amount, currency, reason, charge or payment "
            "intent"
        )
    try:
        shown = format_money(amount, currency.upper())
    except MoneyError:
        raise InvalidWebhook(f"dispute in a currency the shop does not know: {currency}") from None
    evidence = dispute.get("evidence_details") or {}
    if not isinstance(evidence, dict):
        raise InvalidWebhook("dispute evidence_details is not an object")
    due_by = evidence.get("due_by")
    if due_by is not None and not (
        isinstance(due_by, int) and not isinstance(due_by, bool) and 0 < due_by <= MAX_TIMESTAMP
    ):
        raise InvalidWebhook(f"dispute due_by {due_by!r} is not a unix time")
    return {
        "id": dispute["id"],
        "payment_intent": payment_intent,
        "charge": charge,
        "amount": shown,
        "reason": reason or "unknown",
        "due_by": datetime.fromtimestamp(due_by, UTC) if isinstance(due_by, int) else None,
    }


def _on_dispute_created(event: stripe.Event, dispute: dict[str, Any]) -> tuple[Outcome, str]:
    """Flag the disputed order and alert staff: only they can answer the bank in time."""
    if dispute.get("unknown"):
        return Outcome.UNMATCHED, f"the provider knows no dispute {dispute['id']}"
    _settle_payment_first(dispute["session"])
    payment = _payment_of_intent(dispute["payment_intent"])
    if not payment:
        return Outcome.UNMATCHED, f"no payment for dispute {dispute['id']}"
    order = lock_order(payment.order_id)
    deadline = f"; answer by {dispute['due_by']:%Y-%m-%d %H:%M} UTC" if dispute["due_by"] else ""
    detail = (
        f"dispute {dispute['id']} of {dispute['amount']} opened on charge {dispute['charge']} "
        f"(reason: {dispute['reason']}){deadline}"
    )
    order.flag(FlagCode.DISPUTED, detail, actor=ACTOR)
    notifications.alert_staff(order, FlagCode.DISPUTED, detail, cause=dispute["id"])
    return Outcome.FLAGGED, f"dispute {dispute['id']}"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _on_session_completed,
    "checkout.session.async_payment_succeeded": _on_session_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_session_expired,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
}
# What to read out of an event (InvalidWebhook if it makes no sense) and ask the provider
# (what it says now, not what the event's copy says) before the transaction begins.
PREPARE: dict[str, Callable[[stripe.Event], Any]] = {
    "checkout.session.completed": _session_of_event,
    "checkout.session.async_payment_succeeded": _session_of_event,
    "checkout.session.async_payment_failed": _session_of_event,
    "checkout.session.expired": _session_of_event,
    "refund.created": _refund_of_event,
    "refund.updated": _refund_of_event,
    "refund.failed": _refund_of_event,
    "charge.refunded": _refunds_of_charge,
    "charge.dispute.created": _dispute_of_event,
}


__all__ = ["InvalidWebhook", "handle_event", "verify_event"]


def verify_event(payload: bytes, signature: str | None) -> stripe.Event:
    """Check the signature and the event's shape; raise InvalidWebhook if it cannot be trusted."""
    provider = gateway()
    event = provider.parse_webhook(payload, signature)
    check_event(event, provider.now())
    return event


def handle_event(event: stripe.Event, payload: str | None = None) -> Outcome:
    """Apply one verified event exactly once (see _handle_event).

    Its log lines carry the checkout's request id from the object's metadata, however the
    event came (webhook, reconciliation, replay), so one payment is followed by one id.
    """
    with following_payment(_checkout_request_id(event)):
        return _handle_event(event, payload)


def _checkout_request_id(event: stripe.Event) -> object:
    """The request id the checkout put in the object's metadata, if the event carries one."""
    try:
        metadata = event.data.object.to_dict().get("metadata")
    except (AttributeError, KeyError, TypeError):
        return None
    return metadata.get("request_id") if isinstance(metadata, dict) else None


def _handle_event(event: stripe.Event, payload: str | None = None) -> Outcome:
    """Apply one verified event exactly once; return its outcome (DUPLICATE if seen before).

    The event is stored with its `payload` (the verified body). When the handling fails,
    everything it did is rolled back and the failure is stored in a transaction of its own
    (outcome FAILED, with the error), staff are alerted once per event, and the exception goes
    on, so Stripe's retry (or a staff replay) runs the handler again; a succeeded event stays
    a DUPLICATE. An event whose envelope or object makes no sense, or that is stamped in the
    future, raises InvalidWebhook, nothing written: it is no event the log could show.
    The event is handled in transactions of its own: one the caller left open is committed
    first, since preparing the event may ask the provider and no lock may wait on that.
    """
    db.session.commit()
    check_event(event, gateway().now())
    try:
        prepare = PREPARE.get(event.type)
        fetched = prepare(event) if prepare else None
    except InvalidWebhook:
        raise
    except Exception as exc:
        _record_failure(event, payload, exc)
        raise
    try:
        outcome = _claim_and_handle(event, payload, fetched)
    except InvalidWebhook:
        raise
    except Exception as exc:
        if isinstance(exc, IntegrityError) and _handled(event.id):
            return Outcome.DUPLICATE
        _record_failure(event, payload, exc)
        raise
    if outcome is None:
        return Outcome.DUPLICATE
    log.info("stripe event %s %s: %s", event.id, event.type, outcome)
    if outcome == Outcome.CONFIRMED:
        # A late payment the policy refunds: send it now; if the provider cannot take it,
        # it stays pending for upkeep, and this event is handled all the same.
        order = payment_sessions.find_order_by_session(event.data.object.id)
        refunds.send_unsent(order.id)
    return outcome


@retry_once_on_conflict
def _claim_and_handle(event: stripe.Event, payload: str | None, fetched: Any) -> Outcome | None:
    """Claim the event and run its handler in one transaction; roll it all back on failure.

    None when the event was handled already (by another delivery). A transaction PostgreSQL
    aborts to break a deadlock runs once more before it counts as a failure (and alerts staff).
    """
    record = _claim(event, payload)
    if record is None:
        return None
    try:
        handler = HANDLERS.get(event.type)
        outcome, detail = (
            handler(event, fetched) if handler else (Outcome.IGNORED, "not an event we act on")
        )
        record.outcome, record.detail = outcome, detail
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome


def _row(
    event: stripe.Event, payload: str | None, outcome: Outcome, detail: str = ""
) -> WebhookEvent:
    return WebhookEvent(
        event_id=event.id,
        type=event.type,
        object_id=getattr(event.data.object, "id", None),
        outcome=outcome,
        detail=detail,
        stripe_created_at=datetime.fromtimestamp(event.created, UTC),
        payload=payload,
    )


def _claim(event: stripe.Event, payload: str | None) -> WebhookEvent | None:
    """Take the event for this transaction, or return None when it was handled already.

    A new event id is claimed by its INSERT (a concurrent redelivery waits on the unique
    constraint, then finds it taken); a FAILED one by a conditional UPDATE back to RECEIVED,
    so of two redeliveries arriving together exactly one runs the handler again.
    """
    record = _row(event, payload, Outcome.RECEIVED)
    db.session.add(record)
    try:
        db.session.flush()
        return record
    except IntegrityError:
        db.session.rollback()
    claimed = db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.event_id == event.id, WebhookEvent.outcome == Outcome.FAILED)
        .values(outcome=Outcome.RECEIVED, detail="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return None
    return db.session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.event_id == event.id)
        .execution_options(populate_existing=True)
    )


def _handled(event_id: str) -> bool:
    """Say whether the event was handled (not just failed) by someone else meanwhile."""
    outcome = db.session.scalar(
        select(WebhookEvent.outcome).where(WebhookEvent.event_id == event_id)
    )
    db.session.rollback()
    return outcome not in (None, Outcome.FAILED)


def _record_failure(event: stripe.Event, payload: str | None, exc: Exception) -> None:
    """Store that handling the event failed, and alert staff once per event: own transaction.

    A failure of this bookkeeping is logged, never raised: the handler's own exception is
    what the caller must see (and what makes Stripe retry).
    """
    detail = f"{type(exc).__name__}: {exc}"[:2000]
    log.error("stripe event %s %s failed: %s", event.id, event.type, detail)
    db.session.rollback()
    try:
        # A redelivery that failed again: the row went back to FAILED with the rollback.
        again = db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.event_id == event.id, WebhookEvent.outcome == Outcome.FAILED)
            .values(detail=detail)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not again:
            db.session.add(_row(event, payload, Outcome.FAILED, detail))
            db.session.flush()
        notifications.alert_staff_webhook(event.id, event.type, detail)
        db.session.commit()
    except IntegrityError:
        # Another delivery of this event holds it (and is handling it) now: its word wins.
        db.session.rollback()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of stripe event %s", event.id)
