"""Staff refunds of an order, by amount or by lines, and the refund state the order shows.

A refund by lines gives back each line's share of what was paid (`domain.refund_shares`), never
more than is left on the payment. The form that asks carries a one-time key: the same form sent
twice (a double click, two tabs) finds the refund the first made. Written and committed first,
the refund is then sent with no transaction open; the provider's events move it on.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from checkout.domain.errors import RefundNotAllowed
from checkout.domain.payment_status import COUNTED_REFUND_STATUSES, RefundStatus, refund_label
from checkout.domain.pricing import PricedLine
from checkout.domain.refund_shares import RefundableLine, lines_refund_amount, paid_per_line
from checkout.extensions import db
from checkout.models import Order, Payment, Refund, RefundLine
from checkout.models.inventory import MovementReason
from checkout.models.order import EventKind
from checkout.models.payment import RefundReason
from checkout.services import inventory, refunds
from checkout.services.invoices import REASONS
from checkout.services.orders import find_order, lock_order
from checkout.services.transactions import retry_once_on_conflict

# The reasons staff choose from on the refund form.
STAFF_REASONS = (
    RefundReason.REQUESTED_BY_CUSTOMER, RefundReason.DAMAGED, RefundReason.NOT_RECEIVED,
    RefundReason.WRONG_ITEM, RefundReason.DUPLICATE, RefundReason.GOODWILL, RefundReason.OTHER,
)


def reason_label(reason: str) -> str:
    """A refund reason in words (the credit note's words)."""
    return REASONS.get(reason, "Refund")


@dataclass(frozen=True)
class RefundState:
    """Where an order's money stands: what was paid, given back, on its way back, left."""

    currency: str
    paid: int
    refunded: int
    pending: int
    left: int
    refunds: tuple[Refund, ...]
    # Ids of the refunds the shop's bank pays back (of bank-transfer payments), sent by staff.
    by_bank: frozenset[int] = frozenset()
    # The next refund comes out of a bank transfer: staff will send it back from the bank.
    next_by_bank: bool = False

    @property
    def label(self) -> str | None:
        """"Refunded" or "Partially refunded" once the provider confirmed money went back."""
        return refund_label(self.paid, self.refunded)

    @property
    def failed(self) -> tuple[Refund, ...]:
        return tuple(r for r in self.refunds if r.status == RefundStatus.FAILED)

    @property
    def bank_refunds_to_send(self) -> tuple[Refund, ...]:
        """Bank refunds staff still owe the shopper: pending until marked sent."""
        return tuple(r for r in self.refunds
                     if r.id in self.by_bank and r.status == RefundStatus.PENDING)


def line_words(order: Order, quantities: Mapping[int, int]) -> str:
    """Units per line in words: "2 × Stoneware Mug, 1 × Brass Pen"."""
    titles = {line.id: line.title for line in order.lines}
    return ", ".join(f"{units} × {titles.get(line_id, 'a removed line')}"
                     for line_id, units in quantities.items())


# The order page's statements, built once (services/catalog.py says why).
_PAYMENTS_OF_ORDER = (select(Payment).where(Payment.order_id == bindparam("order_id"))
                      .order_by(Payment.id))
_REFUNDS_OF_ORDER = (select(Refund).where(Refund.order_id == bindparam("order_id"))
                     .order_by(Refund.id))
_UNITS_REFUNDED = (
    select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
    .join(Refund, Refund.id == RefundLine.refund_id)
    .where(Refund.order_id == bindparam("order_id"),
           Refund.status.in_(COUNTED_REFUND_STATUSES))
    .group_by(RefundLine.order_line_id)
)


def captured_payments(order: Order) -> list[Payment]:
    """The order's payments whose money was captured, oldest first."""
    payments = db.session.scalars(_PAYMENTS_OF_ORDER, {"order_id": order.id})
    return [p for p in payments if p.status in refunds.CAPTURED]


def refund_state(order: Order) -> RefundState:
    """The order's refund state from the payment ledger (for the shopper's and staff pages)."""
    payments = captured_payments(order)
    rows = tuple(db.session.scalars(_REFUNDS_OF_ORDER, {"order_id": order.id}))
    target = _target_payment(payments)
    bank_payments = {p.id for p in payments if refunds.by_bank(p)}
    return RefundState(
        currency=order.currency,
        paid=sum(p.amount for p in payments),
        refunded=sum(r.amount for r in rows if r.status == RefundStatus.SUCCEEDED),
        pending=sum(r.amount for r in rows if r.status == RefundStatus.PENDING),
        left=refunds.refundable(target) if target is not None else 0,
        refunds=rows,
        by_bank=frozenset(r.id for r in rows if r.payment_id in bank_payments),
        next_by_bank=target is not None and refunds.by_bank(target),
    )


def _target_payment(payments: list[Payment]) -> Payment | None:
    """The payment a refund comes out of: the first with money left (a duplicate after it)."""
    for payment in payments:
        if refunds.refundable(payment) > 0:
            return payment
    return payments[0] if payments else None


def _back_on_shelf_unrefunded(order: Order) -> dict[int, int]:
    """Per line, units back on the shelf that no refund standing covers.

    A refund that restocked units and then failed leaves them in stock with their money not
    returned. Units are alike, so refunds standing (pending or made) are taken to cover the
    restocked units first: what restocking put back beyond them waits on the shelf, and the
    next refund of that line gives back its money without restocking it a second time.
    """
    restocked = dict(db.session.execute(
        select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id == order.id, RefundLine.restocked)
        .group_by(RefundLine.order_line_id)
    ).tuples().all())
    refunded = _units_refunded(order)
    return {
        line_id: units - refunded.get(line_id, 0)
        for line_id, units in restocked.items()
        if units > refunded.get(line_id, 0)
    }


def _units_refunded(order: Order) -> dict[int, int]:
    """Per line, the units refunds still pending or made took (a failed one gives them back)."""
    return dict(db.session.execute(_UNITS_REFUNDED, {"order_id": order.id}).tuples().all())


def refundable_lines(order: Order) -> list[RefundableLine]:
    """The order's lines with what each paid and how many units refunds took already.

    Units of refunds still pending or made count; those of a refund that failed come back.
    """
    items_paid = order.total - order.shipping
    priced = [PricedLine(li.sku, li.title, li.unit_price, li.quantity) for li in order.lines]
    paid = paid_per_line(priced, order.pricing_context, items_paid)
    taken = _units_refunded(order)
    return [
        RefundableLine(li.id, li.title, li.quantity, amount, taken.get(li.id, 0))
        for li, amount in zip(order.lines, paid, strict=True)
    ]


def issue_refund(
    order: Order,
    *,
    amount: int | None = None,
    quantities: Mapping[int, int] | None = None,
    reason: RefundReason,
    note: str = "",
    restock: bool = False,
    key: str,
    actor: str,
    user_id: int | None = None,
) -> Refund:
    """Write a refund by amount or by lines, with its restock (flush only; see refund_order).

    A refund with this key already made is returned as it is, nothing written again.
    """
    order = lock_order(order.id)
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        return existing
    if (amount is None) == (quantities is None):
        raise RefundNotAllowed("Refund either an amount or some lines.")
    if restock and quantities is None:
        raise RefundNotAllowed("Only a refund by lines can put units back in stock.")
    payment = _target_payment(captured_payments(order))
    if payment is None:
        raise RefundNotAllowed("This order has no captured payment to refund.")
    lines = refundable_lines(order)
    chosen = {line_id: units for line_id, units in (quantities or {}).items() if units}
    if quantities is not None:
        amount = lines_refund_amount(lines, chosen, refunds.refundable(payment))
    refund = refunds.record_refund(
        order, payment, amount, reason=reason, key=key, actor=actor, user_id=user_id
    )
    refund.note = note
    by_id = {li.id: li for li in order.lines}
    waiting = _back_on_shelf_unrefunded(order)
    shelf_room = inventory.units_not_returned(order) if restock else {}
    for line in inventory.by_product(by_id[line_id] for line_id in chosen):
        units = chosen[line.id]
        # Units a failed refund put back on the shelf are refunded first, and not restocked
        # again: they are already there. A unit goes back on the shelf once.
        from_shelf = min(units, waiting.get(line.id, 0))
        rest = units - from_shelf
        back = min(rest, shelf_room.get(line.product_id, 0)) if restock else 0
        if back:
            db.session.add(RefundLine(refund_id=refund.id, order_line_id=line.id,
                                      quantity=back, restocked=True))
            shelf_room[line.product_id] -= back
            inventory.restock(line.product_id, back, reason=MovementReason.RETURN,
                              note=f"refund of order {order.number}", order_id=order.id)
            order.record(EventKind.STOCK, f"{back} × {line.title} back in stock.",
                         actor=actor, user_id=user_id)
        if units - back:
            db.session.add(RefundLine(refund_id=refund.id, order_line_id=line.id,
                                      quantity=units - back, restocked=False))
    words = line_words(order, chosen)
    why = reason_label(reason) + (f": {note}" if note else "")
    order.record(
        EventKind.PAYMENT, f"Refund reason: {why}" + (f"; lines: {words}." if words else "."),
        actor=actor, user_id=user_id,
    )
    db.session.flush()
    return refund


@retry_once_on_conflict
def refund_order(order_number: str, **request) -> Refund:
    """Refund an order (by amount or lines, see issue_refund), commit, then send the refund.

    Raises RefundNotAllowed, with nothing written, for a refund the order cannot take.
    """
    order = find_order(order_number)
    if order is None:
        raise RefundNotAllowed(f"There is no order {order_number}.")
    try:
        refund = issue_refund(order, **request)
    except Exception:
        db.session.rollback()
        raise
    return commit_and_send(refund)


def commit_and_send(refund: Refund) -> Refund:
    """Commit the refund just written, then send it with no transaction open; return it anew.

    A provider that cannot be reached leaves it pending for the upkeep job to send again.
    """
    refund_id, order_id = refund.id, refund.order_id
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    refunds.send_unsent(order_id)
    return db.session.get(Refund, refund_id)
