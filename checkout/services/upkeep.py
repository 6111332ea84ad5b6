"""Periodic work: what the shop does on its own, on a timer, on any number of machines at once."""

import logging

from checkout.domain.errors import DomainError
from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.models import Order
from checkout.services import fulfilment, inventory, payment_sessions, refunds
from checkout.services.transactions import retry_once_on_conflict

log = logging.getLogger(__name__)


def expire_lapsed_holds() -> int:
    """Expire unpaid orders whose hold ran out (the webhook normally does it first).

    Each session is expired at the provider before its stock is released, so nobody can pay
    for stock that went back on sale; a session found paid is applied instead.
    """
    expired = 0
    order_ids = inventory.lapsed_hold_order_ids()
    db.session.commit()
    for order_id in order_ids:
        expired += _expire_lapsed(order_id)
    return expired


@retry_once_on_conflict
def _expire_lapsed(order_id: int) -> bool:
    """Expire one order whose hold ran out; say whether it was expired now."""
    order = db.session.get(Order, order_id)
    if not order.awaiting_payment:
        return False
    try:
        payment_sessions.expire_live(order)
        outcome = fulfilment.expire(order, None, actor="system")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        log.info("order %s not expired: %s", order.number, exc)
        return False
    return outcome == Outcome.EXPIRED


def send_unsent_refunds() -> int:
    """Send the refunds the provider could not take when they were asked for."""
    return refunds.send_unsent()
