"""Stock holds and reservations, each taken with one conditional UPDATE (no read-check-write).

These helpers only flush; the calling service commits.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from flask import current_app
from sqlalchemy import case, func, insert, select, update

from checkout import metrics
from checkout.db import now_utc
from checkout.domain.errors import OutOfStock, Shortage
from checkout.domain.payment_status import PaymentMethod
from checkout.domain.shopper_timeline import plural
from checkout.extensions import db
from checkout.models import Order, Stock, StockHold, StockMovement
from checkout.models.inventory import HoldStatus, MovementReason
from checkout.models.order import EventKind

T = TypeVar("T")


def hold_deadline(method: PaymentMethod = PaymentMethod.CARD) -> datetime:
    """When a hold taken now runs out, to the whole second (Stripe's expires_at is in seconds).

    A bank transfer takes days to arrive, so its order holds stock for
    BANK_TRANSFER_HOLD_HOURS instead of the card checkout's CHECKOUT_HOLD_MINUTES.
    """
    if method == PaymentMethod.BANK_TRANSFER:
        period = timedelta(hours=current_app.config["BANK_TRANSFER_HOLD_HOURS"])
    else:
        period = timedelta(minutes=current_app.config["CHECKOUT_HOLD_MINUTES"])
    return (now_utc() + period + timedelta(seconds=1)).replace(microsecond=0)


def current_hold_expiry(order: Order) -> datetime | None:
    """When the order's stock hold runs out (None: no timed hold left)."""
    expiries = [h.expires_at for h in active_holds(order) if h.expires_at is not None]
    return min(expiries) if expiries else None


def _update_stock(product_id: int, *conditions, **values) -> bool:
    """Run one conditional UPDATE on a product's stock row; say whether it matched."""
    result = db.session.execute(
        update(Stock)
        .where(Stock.product_id == product_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # A Stock already loaded in this session now holds old numbers: reload it on next access.
    loaded = db.session.identity_map.get(db.session.identity_key(Stock, product_id))
    if loaded is not None:
        db.session.expire(loaded)
    return result.rowcount == 1


def _in_product_order(product_ids: Iterable[int]):
    """The stock rows of `product_ids`, to be locked in product order (a subquery).

    One UPDATE over several rows locks each as its scan meets it, which on PostgreSQL need not
    be product order; selecting them FOR UPDATE in product order inside the same statement
    keeps the one global order (see by_product). SQLite's write lock serialises writers anyway.
    """
    return (
        select(Stock.product_id)
        .where(Stock.product_id.in_(sorted(set(product_ids))))
        .order_by(Stock.product_id)
        .with_for_update()
    )


def _per_product(quantities: dict[int, int]):
    """A SQL value that is each stock row's own quantity from `quantities`."""
    return case(quantities, value=Stock.product_id, else_=0)


def _update_stocks(quantities: dict[int, int], *conditions, **values) -> set[int]:
    """Run one UPDATE over the stock rows of `quantities`; return the product ids it matched.

    Each row is changed by its own quantity (`values` are built with _per_product) and only if
    `conditions` hold for it: as many conditional UPDATEs in one statement, one round trip.
    """
    matched = set(
        db.session.scalars(
            update(Stock)
            .where(Stock.product_id.in_(_in_product_order(quantities)), *conditions)
            .values(**values)
            .returning(Stock.product_id)
            .execution_options(synchronize_session=False)
        )
    )
    for product_id in quantities:
        loaded = db.session.identity_map.get(db.session.identity_key(Stock, product_id))
        if loaded is not None:
            db.session.expire(loaded)
    return matched


def _totals(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for product_id, quantity in pairs:
        totals[product_id] = totals.get(product_id, 0) + quantity
    return totals


def by_product(lines: Iterable[T]) -> list[T]:
    """Lines in the order their stock rows are locked: by product id, everywhere.

    Two transactions that update the same stock rows in different orders (a checkout in cart
    order, a cancel in product order) deadlock on PostgreSQL; one order for all avoids it.
    """
    return sorted(lines, key=lambda line: (line.product_id or 0, getattr(line, "id", 0) or 0))


def hold_stock(order: Order, expires_at: datetime, lines: Iterable | None = None) -> None:
    """Hold every line of the order until `expires_at`, or raise OutOfStock naming the short ones.

    One conditional UPDATE takes every product's units at once, each row only if that many
    are free, and one INSERT writes the holds: the same statements for one line or fifty.
    `lines` (product_id, sku, title, quantity) default to the order's; the caller rolls back
    on OutOfStock, so the units already taken for other lines go too.
    """
    given = list(order.lines if lines is None else lines)
    lines = by_product(given)
    wanted = _totals((line.product_id, line.quantity) for line in lines
                     if line.product_id is not None)
    taken = _update_stocks(
        wanted,
        Stock.on_hand - Stock.held >= _per_product(wanted),
        held=Stock.held + _per_product(wanted),
    ) if wanted else set()
    short = [line for line in lines if line.product_id not in taken]
    if short:
        available = dict(db.session.execute(
            select(Stock.product_id, Stock.on_hand - Stock.held)
            .where(Stock.product_id.in_([line.product_id for line in short
                                         if line.product_id is not None]))
        ).tuples().all())
        shortages = [Shortage(line.sku, line.title, line.quantity,
                              max(available.get(line.product_id) or 0, 0)) for line in short]
        order_of = {line.sku: n for n, line in enumerate(given)}
        raise OutOfStock(sorted(shortages, key=lambda s: order_of.get(s.sku, 0)))
    db.session.execute(
        insert(StockHold),
        [
            {"order_id": order.id, "product_id": line.product_id, "quantity": line.quantity,
             "status": HoldStatus.ACTIVE, "expires_at": expires_at}
            for line in lines
        ],
    )
    metrics.note_holds_written(db.session(), len(lines))


def active_holds(order: Order) -> list[StockHold]:
    """The order's holds still counted in Stock.held."""
    return list(
        db.session.scalars(
            select(StockHold)
            .where(StockHold.order_id == order.id, StockHold.status == HoldStatus.ACTIVE)
            # Stock rows are locked in product order everywhere (see by_product).
            .order_by(StockHold.product_id, StockHold.id)
        )
    )


def set_hold_expiry(order: Order, expires_at: datetime | None) -> None:
    """Move the expiry of the order's active holds (None: keep until a payment settles)."""
    for hold in active_holds(order):
        hold.expires_at = expires_at
    db.session.flush()


def _set_status(holds: list[StockHold], status: HoldStatus) -> None:
    """One UPDATE for all the active holds (the ORM would send one per hold); the loaded holds
    are updated in the session too, and the metrics count them at the commit."""
    metrics.note_holds_settled(db.session(), holds, status)
    db.session.execute(
        update(StockHold)
        .where(StockHold.id.in_([hold.id for hold in holds]))
        .values(status=status),
        execution_options={"synchronize_session": "evaluate"},
    )


def release_holds(order: Order, *, actor: str, user_id: int | None = None) -> int:
    """Give the order's held units back; return how many units were released."""
    holds = active_holds(order)
    if not holds:
        return 0
    quantities = _totals((hold.product_id, hold.quantity) for hold in holds)
    _update_stocks(quantities, held=Stock.held - _per_product(quantities))
    _set_status(holds, HoldStatus.RELEASED)
    released = sum(quantities.values())
    order.record(
        EventKind.STOCK, f"Stock hold released ({plural(released, 'unit')}).", actor=actor,
        user_id=user_id,
    )
    db.session.flush()
    return released


def _sell(order: Order, sold: dict[int, int]) -> None:
    """Write the ledger's sale rows for the units the order took, one INSERT for them all."""
    if sold:
        db.session.execute(
            insert(StockMovement),
            [
                {"product_id": product_id, "delta": -quantity, "reason": MovementReason.SALE,
                 "order_id": order.id, "note": f"order {order.number}"}
                for product_id, quantity in sorted(sold.items())
            ],
        )


def convert_holds(order: Order, *, actor: str, user_id: int | None = None) -> bool:
    """Turn the order's holds into a firm reservation, or re-reserve lapsed ones if stock allows.

    Return False when some line could not be reserved any more (the stock was sold meanwhile);
    whatever could be reserved stays reserved, and the shortfall is left to staff. The held
    lines are converted in one UPDATE; lapsed ones are reserved again in one conditional UPDATE.
    """
    holds = {h.product_id: h for h in active_holds(order)}
    lines = by_product(order.lines)
    firm = [line for line in lines
            if (hold := holds.get(line.product_id)) is not None and hold.quantity == line.quantity]
    lapsed = [line for line in lines if line not in firm]
    sold: dict[int, int] = {}
    if firm:
        # on_hand and held drop together: the units leave the free pool and the hold at once.
        converted = _totals((line.product_id, line.quantity) for line in firm)
        _update_stocks(converted, on_hand=Stock.on_hand - _per_product(converted),
                       held=Stock.held - _per_product(converted))
        _set_status([holds[line.product_id] for line in firm], HoldStatus.CONVERTED)
        sold.update(converted)
    # No active hold (it lapsed and was released): reserve again from free stock, if any.
    again = _totals((line.product_id, line.quantity) for line in lapsed
                    if line.product_id is not None)
    reserved = _update_stocks(
        again,
        Stock.on_hand - Stock.held >= _per_product(again),
        on_hand=Stock.on_hand - _per_product(again),
    ) if again else set()
    for line in lapsed:
        if line.product_id in reserved:
            sold[line.product_id] = again[line.product_id]
            order.record(
                EventKind.STOCK,
                f"Hold had lapsed; {line.quantity} × {line.title} reserved again.",
                actor=actor,
                user_id=user_id,
            )
    _sell(order, sold)
    complete = all(line.product_id in reserved for line in lapsed)
    if complete:
        order.record(
            EventKind.STOCK, "Stock reserved for shipping.", actor=actor, user_id=user_id
        )
    db.session.flush()
    return complete


def lapsed_hold_order_ids(now: datetime | None = None) -> list[int]:
    """Orders that still count active holds whose time ran out."""
    now = now or now_utc()
    return list(
        db.session.scalars(
            select(StockHold.order_id)
            .where(StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at < now)
            .distinct()
        )
    )


def check_invariant() -> list[str]:
    """List every product whose stock breaks 0 ≤ held ≤ on_hand or held = Σ active holds."""
    held_by_holds = dict(
        db.session.execute(
            select(StockHold.product_id, func.sum(StockHold.quantity))
            .where(StockHold.status == HoldStatus.ACTIVE)
            .group_by(StockHold.product_id)
        ).all()
    )
    problems = []
    for stock in db.session.scalars(select(Stock)):
        expected = held_by_holds.get(stock.product_id, 0)
        if not 0 <= stock.held <= stock.on_hand or stock.held != expected:
            problems.append(
                f"product {stock.product_id}: on_hand={stock.on_hand} held={stock.held} "
                f"active holds={expected}"
            )
    return problems


def restock(
    product_id: int,
    quantity: int,
    *,
    reason: MovementReason,
    note: str = "",
    order_id: int | None = None,
) -> None:
    """Add units to a product's stock, with its ledger row."""
    _update_stock(product_id, on_hand=Stock.on_hand + quantity)
    db.session.add(
        StockMovement(
            product_id=product_id, delta=quantity, reason=reason, note=note, order_id=order_id
        )
    )
    db.session.flush()


def units_not_returned(order: Order) -> dict[int, int]:
    """Per product, the units the order's sales took that have not come back to the shelf.

    Per the ledger: its sales net of its returns so far (a refund that restocked some lines, a
    cancel), so a unit is never returned twice.
    """
    rows = db.session.execute(
        select(StockMovement.product_id, -func.sum(StockMovement.delta))
        .where(
            StockMovement.order_id == order.id,
            StockMovement.reason.in_([MovementReason.SALE, MovementReason.RETURN]),
        )
        .group_by(StockMovement.product_id)
    ).tuples().all()
    return {product_id: units for product_id, units in rows if units > 0}


def return_sales(order: Order, *, note: str) -> None:
    """Put back on the shelf every unit the order's sales took that has not come back yet."""
    for product_id, quantity in sorted(units_not_returned(order).items()):
        restock(product_id, quantity, reason=MovementReason.RETURN, note=note, order_id=order.id)


# No shop holds this many of one thing; the bound keeps a typo from overflowing the column.
MAX_ON_HAND = 10_000_000


def adjust_on_hand(product_id: int, change: int, *conditions, note: str,
                   user_id: int | None) -> StockMovement | None:
    """Change on_hand by `change` with its ledger row, only if it stays ≥ held and ≥ 0.

    One conditional UPDATE, like a hold: a sale or hold committed meanwhile is counted, never
    overwritten. Extra `conditions` narrow it further; None when it did not match.
    """
    changed = _update_stock(
        product_id,
        Stock.on_hand + change >= Stock.held,
        Stock.on_hand + change >= 0,
        Stock.on_hand + change <= MAX_ON_HAND,
        *conditions,
        on_hand=Stock.on_hand + change,
    )
    if not changed:
        return None
    movement = StockMovement(product_id=product_id, delta=change,
                             reason=MovementReason.ADJUSTMENT, note=note, user_id=user_id)
    db.session.add(movement)
    db.session.flush()
    return movement
