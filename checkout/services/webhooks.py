"""Stripe events in: each recorded under a unique id in the same transaction as its effects."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from checkout.extensions import db
from checkout.models import Order, WebhookEvent
from checkout.models.order import FlagCode
from checkout.payments.gateway import session_info
from checkout.services import fulfilment
from checkout.services.checkout import adopt_session, find_order_by_session

log = logging.getLogger(__name__)
ACTOR = "stripe"


def _session_order(event: stripe.Event) -> tuple[Order | None, str]:
    """Find the order a session event is about; flag one that names an order we never paid."""
    session = session_info(event.data.object)
    order = find_order_by_session(session.id) or adopt_session(session)
    if order is not None:
        return order, ""
    if session.client_reference_id:
        named = db.session.scalar(select(Order).where(Order.number == session.client_reference_id))
        if named is not None:
            named.flag(
                FlagCode.PAYMENT_MISMATCH,
                f"event for session {session.id}, which was not issued for this order",
                actor=ACTOR,
            )
            return None, "flagged: session not issued for the order it names"
    return None, "no order for this session"


def _on_session_completed(event: stripe.Event) -> tuple[str, str]:
    order, why = _session_order(event)
    if order is None:
        return "unmatched", why
    return fulfilment.apply_session(order, session_info(event.data.object), actor=ACTOR), ""


def _on_async_failed(event: stripe.Event) -> tuple[str, str]:
    order, why = _session_order(event)
    if order is None:
        return "unmatched", why
    return fulfilment.payment_failed(order, session_info(event.data.object), actor=ACTOR), ""


# Stripe's clock and ours may differ a little; an expiry this close to expires_at is a lapse.
CLOCK_SKEW_SECONDS = 60


def _on_session_expired(event: stripe.Event) -> tuple[str, str]:
    order, why = _session_order(event)
    if order is None:
        return "unmatched", why
    session = event.data.object
    lapsed = event.created >= session.expires_at - CLOCK_SKEW_SECONDS
    return fulfilment.expire(order, session.id, actor=ACTOR, lapsed=lapsed), ""


HANDLERS: dict[str, Callable[[stripe.Event], tuple[str, str]]] = {
    "checkout.session.completed": _on_session_completed,
    "checkout.session.async_payment_succeeded": _on_session_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_session_expired,
}


def handle_event(event: stripe.Event) -> str:
    """Apply one verified event exactly once; return its outcome ("duplicate" if seen before).

    Any exception rolls everything back, the event id included, so Stripe's retry runs it anew.
    """
    obj = event.data.object
    record = WebhookEvent(
        event_id=event.id,
        type=event.type,
        object_id=getattr(obj, "id", None),
        outcome="received",
        stripe_created_at=datetime.fromtimestamp(event.created, UTC),
    )
    db.session.add(record)
    try:
        # Claim the event id first: a concurrent redelivery waits here, then finds it taken.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    try:
        handler = HANDLERS.get(event.type)
        outcome, detail = handler(event) if handler else ("ignored", "not an event we act on")
        record.outcome, record.detail = outcome, detail
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if db.session.scalar(select(WebhookEvent.id).where(WebhookEvent.event_id == event.id)):
            return "duplicate"
        raise
    except Exception:
        db.session.rollback()
        raise
    log.info("stripe event %s %s: %s", event.id, event.type, outcome)
    return outcome
