"""Shoppers asking for their money back, and staff approving (a refund) or rejecting (a reason).

A request names lines and units of a paid order; an order has at most one open request (a
partial unique index, so two tabs cannot both open one). Approving issues the refund through
the same use case as the staff refund form, under a key made from the request's id: a request
approved twice is refunded once. Each decision mails the shopper once, keyed by the request.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from checkout.db import now_utc
from checkout.domain.errors import RefundNotAllowed, RefundRequestRefused, RequestAlreadyDecided
from checkout.domain.order_status import PAID_STATUSES, OrderStatus
from checkout.domain.refund_shares import lines_refund_amount
from checkout.extensions import db
from checkout.models import Order, Refund, RefundRequest
from checkout.models.order import EventKind
from checkout.models.payment import RefundReason
from checkout.models.refund import RefundRequestStatus
from checkout.services import notifications, order_refunds
from checkout.services.orders import access_token, lock_order

QUEUE_DECIDED_SHOWN = 50


# Built once (services/catalog.py says why): every order page lists them.
_REQUESTS_OF_ORDER = (select(RefundRequest).where(RefundRequest.order_id == bindparam("order_id"))
                      .order_by(RefundRequest.id.desc()))


def requests_of(order: Order) -> list[RefundRequest]:
    """The order's refund requests, newest first."""
    return list(db.session.scalars(_REQUESTS_OF_ORDER, {"order_id": order.id}))


def may_request(order: Order) -> bool:
    """Can the shopper ask for a refund now: paid, money left, no request open?"""
    return (
        OrderStatus(order.status) in PAID_STATUSES
        and order_refunds.refund_state(order).left > 0
        and not any(r.status == RefundRequestStatus.PENDING for r in requests_of(order))
    )


def create_request(
    order: Order, quantities: Mapping[int, int], reason: str, *, actor: str,
    user_id: int | None = None,
) -> RefundRequest:
    """Record a shopper's refund request for some units of a paid order; commit.

    Raises RefundRequestRefused, with nothing written, when the order is not paid, has
    nothing left to refund, already has an open request, or the lines make no sense.
    """
    try:
        request = _create(order, quantities, reason, actor=actor, user_id=user_id)
        db.session.commit()
    except IntegrityError:
        # Another tab opened a request for this order at the same moment.
        db.session.rollback()
        raise RefundRequestRefused(_ALREADY_OPEN) from None
    except Exception:
        db.session.rollback()
        raise
    return request


_ALREADY_OPEN = "You already asked for a refund on this order: we will answer that one first."


def _create(order, quantities, reason, *, actor, user_id) -> RefundRequest:
    order = lock_order(order.id)
    if OrderStatus(order.status) not in PAID_STATUSES:
        raise RefundRequestRefused("Only a paid order can be refunded.")
    if any(r.status == RefundRequestStatus.PENDING for r in requests_of(order)):
        raise RefundRequestRefused(_ALREADY_OPEN)
    chosen = {line_id: units for line_id, units in quantities.items() if units}
    left = order_refunds.refund_state(order).left
    try:
        lines_refund_amount(order_refunds.refundable_lines(order), chosen, left)
    except RefundNotAllowed as exc:
        raise RefundRequestRefused(str(exc)) from None
    request = RefundRequest(
        order_id=order.id, lines=json.dumps({str(k): v for k, v in chosen.items()}),
        reason=reason,
    )
    db.session.add(request)
    order.record(
        EventKind.PAYMENT,
        f"Refund requested for {order_refunds.line_words(order, chosen)}: {reason}",
        actor=actor, user_id=user_id,
    )
    db.session.flush()
    return request


@dataclass(frozen=True)
class QueueItem:
    request: RefundRequest
    order: Order
    lines: str


def find_request(request_id: int) -> RefundRequest | None:
    """The refund request with this id, if any."""
    return db.session.get(RefundRequest, request_id)


def queue() -> list[QueueItem]:
    """Open requests oldest first, then the latest decided ones, each with its order."""
    pending = list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.status == RefundRequestStatus.PENDING)
        .order_by(RefundRequest.id)
    ))
    decided = list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.status != RefundRequestStatus.PENDING)
        .order_by(RefundRequest.decided_at.desc()).limit(QUEUE_DECIDED_SHOWN)
    ))
    items = []
    for request in pending + decided:
        order = db.session.get(Order, request.order_id)
        words = order_refunds.line_words(order, request.quantities)
        items.append(QueueItem(request, order, words))
    return items


def _pending(request_id: int) -> tuple[RefundRequest, Order]:
    """The request, its order locked, refusing one already decided."""
    request = db.session.get(RefundRequest, request_id)
    if request is None:
        raise RequestAlreadyDecided("There is no such refund request.")
    order = lock_order(request.order_id)
    db.session.refresh(request)
    if request.status != RefundRequestStatus.PENDING:
        who = f" by {request.decided_by}" if request.decided_by else ""
        raise RequestAlreadyDecided(
            f"This request was already {request.status}{who}: it is not decided twice."
        )
    return request, order


def _decide(request: RefundRequest, status: RefundRequestStatus, note: str, *, actor: str,
            user_id: int | None) -> None:
    request.move_to(status)
    request.decided_by, request.decided_by_user_id = actor, user_id
    request.decided_at = now_utc()
    request.decision_note = note


def _mail(order: Order, request: RefundRequest, template: str, **extra) -> None:
    notifications.enqueue(
        f"{template.replace('_', '-')}:{request.id}", template, order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            "customer_name": order.ship_name,
            "lines": order_refunds.line_words(order, request.quantities),
            "decision_note": request.decision_note,
            **extra,
        },
    )


def approve_request(
    request_id: int, *, restock: bool = False, note: str = "", actor: str,
    user_id: int | None = None,
) -> Refund:
    """Approve a pending request: refund its lines, tell the shopper; commit, then send.

    Raises RequestAlreadyDecided for a request decided before, RefundNotAllowed when the
    order has nothing left to refund; either way nothing is written.
    """
    try:
        request, order = _pending(request_id)
        refund = order_refunds.issue_refund(
            order, quantities=request.quantities, reason=RefundReason.REQUESTED_BY_CUSTOMER,
            note=request.reason, restock=restock, key=f"refund-request-{request.id}",
            actor=actor, user_id=user_id,
        )
        _decide(request, RefundRequestStatus.APPROVED, note, actor=actor, user_id=user_id)
        request.refund_id = refund.id
        order.record(EventKind.PAYMENT, f"Refund request {request.id} approved.", actor=actor,
                     user_id=user_id)
        _mail(order, request, "refund_request_approved", amount=refund.amount,
              currency=refund.currency)
    except Exception:
        db.session.rollback()
        raise
    return order_refunds.commit_and_send(refund)


def reject_request(
    request_id: int, *, note: str, actor: str, user_id: int | None = None
) -> RefundRequest:
    """Reject a pending request with a reason the shopper sees, and mail it to them; commit."""
    if not note.strip():
        raise RefundRequestRefused("Say why: the shopper sees this reason.")
    try:
        request, order = _pending(request_id)
        _decide(request, RefundRequestStatus.REJECTED, note.strip(), actor=actor,
                user_id=user_id)
        order.record(EventKind.PAYMENT, f"Refund request {request.id} declined: {note.strip()}",
                     actor=actor, user_id=user_id)
        _mail(order, request, "refund_request_rejected")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return request
