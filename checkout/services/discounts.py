"""Discount codes: create, check, put on a cart, count a use per order placed, give it back.

A use is counted in `place_order`'s own transaction by one conditional UPDATE
(`uses = uses + 1 WHERE max_uses IS NULL OR uses < max_uses`), checked by its row count, as the
stock hold is: the last use of a limited code goes to exactly one order on SQLite and
PostgreSQL, and the others are refused with nothing created. A code limited per customer is
locked first (`FOR UPDATE`) and the e-mail's uses counted under that lock, so one e-mail's
orders placed at once take its uses one after another. An order that expires or is
cancelled gives its use back; a payment that lands later and revives an expired order counts
it again (`count_again`).
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func, or_, select, update

from checkout.db import now_utc
from checkout.domain.errors import DiscountRefused
from checkout.domain.money import format_money
from checkout.domain.pricing import Discount, round_half_up
from checkout.extensions import db
from checkout.models import Cart, DiscountCode, DiscountRedemption, Order

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}\Z")
UNKNOWN = "unknown code"


def plain(percent: Decimal) -> str:
    """A percentage as people and Stripe write it: "10", "12.5" (never "1E+1")."""
    return format(percent.normalize(), "f")


def normalize(code: str) -> str:
    """The form a code is stored and compared in: trimmed, upper-case."""
    return code.strip().upper()


def find_code(code: str) -> DiscountCode | None:
    """The code as the shopper typed it, in any case; None when there is no such code."""
    code = normalize(code)
    if not CODE_PATTERN.match(code):
        return None
    return db.session.scalar(select(DiscountCode).where(DiscountCode.code == code))


@dataclass(frozen=True)
class DiscountTerms:
    """What `create` takes: exactly one of percent_off or amount_off, the rest optional."""

    code: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    cap: int | None = None
    min_subtotal: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None
    max_uses_per_customer: int | None = None


def _validated(terms: DiscountTerms) -> str:
    """The normalized code if the terms make a valid discount; ValueError says what is wrong.

    The CLI and the back-office form both come here, so they refuse the same things in the
    same words.
    """
    code = normalize(terms.code)
    if not CODE_PATTERN.match(code):
        raise ValueError("a code is 2 to 40 letters, digits, '-' or '_'")
    if (terms.percent_off is None) == (terms.amount_off is None):
        raise ValueError("give exactly one of a percentage or an amount")
    if terms.percent_off is not None:
        try:
            Discount(code, percent_off=terms.percent_off)
        except (InvalidOperation, ValueError):
            raise ValueError("a percentage is more than 0 and at most 100") from None
        if terms.percent_off.as_tuple().exponent < -2:
            raise ValueError("a percentage has at most two decimal places")
    if terms.amount_off is not None and terms.amount_off <= 0:
        raise ValueError("an amount off is a positive number of minor units")
    if terms.cap is not None and (terms.percent_off is None or terms.cap <= 0):
        raise ValueError("a cap is a positive amount, and only for a percentage")
    for name in ("max_uses", "max_uses_per_customer"):
        if getattr(terms, name) is not None and getattr(terms, name) <= 0:
            raise ValueError(f"{name.replace('_', ' ')} must be at least 1")
    if terms.min_subtotal < 0:
        raise ValueError("the minimum subtotal cannot be negative")
    if terms.valid_from and terms.valid_until and terms.valid_from >= terms.valid_until:
        raise ValueError("valid-from must come before valid-until")
    return code


def _values(terms: DiscountTerms) -> dict:
    return {
        "percent_off": None if terms.percent_off is None else plain(terms.percent_off),
        "amount_off": terms.amount_off,
        "cap": terms.cap,
        "min_subtotal": terms.min_subtotal,
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "max_uses": terms.max_uses,
        "max_uses_per_customer": terms.max_uses_per_customer,
    }


def create(terms: DiscountTerms) -> DiscountCode:
    """Create a discount code; ValueError says what is wrong with the terms."""
    code = _validated(terms)
    if db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == code)) is not None:
        raise ValueError(f"the code {code} exists already")
    row = DiscountCode(code=code, **_values(terms))
    db.session.add(row)
    db.session.commit()
    return row


def edit(code_id: int, terms: DiscountTerms) -> DiscountCode:
    """Change a code's terms (not the code itself); ValueError says what is wrong.

    Orders already placed keep the price they got. The provider coupon is named by the terms
    (`coupon_id`), so changed terms make the next checkout publish a new coupon rather than
    reuse the old, immutable one. A use limit is lowered only as far as the uses already
    counted, checked in the UPDATE itself so a use counted meanwhile is not overrun.
    """
    row = db.session.get(DiscountCode, code_id)
    if row is None:
        raise ValueError("no such code")
    if normalize(terms.code) != row.code:
        raise ValueError("a code cannot be renamed: create a new one and deactivate this one")
    _validated(terms)
    within_limit = () if terms.max_uses is None else (DiscountCode.uses <= terms.max_uses,)
    changed = db.session.execute(
        update(DiscountCode)
        .where(DiscountCode.id == code_id, *within_limit)
        .values(**_values(terms))
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise ValueError(f"max uses cannot be below the {row.uses} uses already counted")
    db.session.commit()
    db.session.refresh(row)
    return row


def codes() -> list[DiscountCode]:
    """Every code, newest first."""
    return list(db.session.scalars(select(DiscountCode).order_by(DiscountCode.id.desc())))


REDEMPTIONS_PAGE = 50


def redemptions(
    code_id: int, *, before: int | None = None
) -> tuple[list[tuple[DiscountRedemption, str, str]], int | None]:
    """A page of the code's counted uses, newest first, with each order's number and status.

    Keyset pages: the uses older than `before` (a use's id); also the id to ask for the next
    page with, or None on the last. An unlimited code's page stays the same size at any scale.
    """
    query = (
        select(DiscountRedemption, Order.number, Order.status)
        .join(Order, Order.id == DiscountRedemption.order_id)
        .where(DiscountRedemption.discount_code_id == code_id)
        .order_by(DiscountRedemption.id.desc())
        .limit(REDEMPTIONS_PAGE + 1)
    )
    if before is not None:
        query = query.where(DiscountRedemption.id < before)
    rows = list(db.session.execute(query).tuples())
    more = len(rows) > REDEMPTIONS_PAGE
    rows = rows[:REDEMPTIONS_PAGE]
    return rows, (rows[-1][0].id if more else None)


def reactivate(code_id: int) -> DiscountCode:
    """Let a deactivated code be applied again."""
    row = db.session.get(DiscountCode, code_id)
    if row is None:
        raise ValueError("no such code")
    row.active = True
    db.session.commit()
    return row


def deactivate(code: str) -> DiscountCode:
    """Stop a code from being applied; orders placed with it keep their price."""
    row = find_code(code)
    if row is None:
        raise ValueError(f"no code {normalize(code)}")
    row.active = False
    db.session.commit()
    return row


def check(code: str, subtotal: int, currency: str, email: str | None = None) -> DiscountCode:
    """Return the code if it may be used on this subtotal (by this e-mail); else DiscountRefused.

    Without an e-mail (the cart page) the per-customer limit waits for checkout.
    """
    row = find_code(code)
    if row is None:
        raise DiscountRefused(UNKNOWN)
    if not row.active:
        raise DiscountRefused("this code is no longer active")
    now = now_utc()
    if row.valid_from is not None and now < row.valid_from:
        raise DiscountRefused("not yet valid")
    if row.valid_until is not None and now >= row.valid_until:
        raise DiscountRefused("expired")
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise DiscountRefused("no uses left")
    if subtotal < row.min_subtotal:
        raise DiscountRefused(f"minimum order is {format_money(row.min_subtotal, currency)}")
    if (
        email
        and row.max_uses_per_customer is not None
        and _uses_by(row.id, email.strip().lower()) >= row.max_uses_per_customer
    ):
        raise DiscountRefused("already used")
    return row


def _uses_by(code_id: int, email: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(DiscountRedemption).where(
            DiscountRedemption.discount_code_id == code_id, DiscountRedemption.email == email
        )
    )


def coupon_id(code: str, currency: str, percent_off: Decimal | None, amount_off: int | None) -> str:
    """The provider coupon that makes these terms: named by them, so it is made only once."""
    if percent_off is not None:
        return f"{code}-{plain(percent_off).replace('.', '_')}pct"
    return f"{code}-{amount_off}{currency.lower()}"


def as_discount(row: DiscountCode, subtotal: int, currency: str) -> Discount:
    """The domain discount the code gives on this subtotal.

    Stripe coupons cannot cap a percentage: when the cap binds, the order gets an amount-off
    coupon of exactly the cap instead, so Stripe's total still equals ours.
    """
    if row.amount_off is not None:
        return Discount(row.code, amount_off=row.amount_off,
                        provider_coupon_id=coupon_id(row.code, currency, None, row.amount_off))
    percent = Decimal(row.percent_off)
    if row.cap is not None and round_half_up(Decimal(subtotal) * percent / 100) > row.cap:
        return Discount(row.code, amount_off=row.cap,
                        provider_coupon_id=coupon_id(row.code, currency, None, row.cap))
    return Discount(row.code, percent_off=percent,
                    provider_coupon_id=coupon_id(row.code, currency, percent, None))


def apply_to_cart(cart: Cart, code: str, subtotal: int, currency: str,
                  email: str | None = None) -> DiscountCode:
    """Put a code on the cart if it may be used; DiscountRefused (nothing changed) if not."""
    try:
        row = check(code, subtotal, currency, email)
        cart.discount_code = row.code
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def remove_from_cart(cart: Cart) -> bool:
    """Take the code off the cart; say whether there was one."""
    had = cart.discount_code is not None
    cart.discount_code = None
    db.session.commit()
    return had


def redeem(order: Order, discount: Discount | None, email: str) -> None:
    """Count the order's use of its code (flush only); DiscountRefused if it has none left.

    "no uses left" when the code's total is reached, "already used" when this e-mail's is.

    A code the shop does not hold (a context a caller built by hand) is not counted.
    """
    if discount is None:
        return
    row = find_code(discount.code)
    if row is None:
        return
    email = email.strip().lower()
    if row.max_uses_per_customer is not None:
        # Two orders of one e-mail placed at once would both count no earlier use: the code's
        # row lock queues them, so each counts after the one before has committed (READ
        # COMMITTED reads afresh per statement). SQLite's BEGIN IMMEDIATE already serialises.
        db.session.execute(
            select(DiscountCode.id).where(DiscountCode.id == row.id).with_for_update()
        )
        if _uses_by(row.id, email) >= row.max_uses_per_customer:
            raise DiscountRefused("already used")
    counted = db.session.execute(
        update(DiscountCode)
        .where(
            DiscountCode.id == row.id,
            or_(DiscountCode.max_uses.is_(None), DiscountCode.uses < DiscountCode.max_uses),
        )
        .values(uses=DiscountCode.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise DiscountRefused("no uses left")
    db.session.add(DiscountRedemption(discount_code_id=row.id, order_id=order.id, email=email))
    db.session.flush()


def count_again(order: Order) -> None:
    """Count a revived order's use of its code again (flush only); DiscountRefused if none is left.

    The order gave its use back when it expired; once its late payment lands it keeps the price,
    so it takes a use again under the same limits as a new order. Counted at most once.
    """
    already = db.session.scalar(
        select(DiscountRedemption.id).where(DiscountRedemption.order_id == order.id)
    )
    if already is None:
        redeem(order, order.pricing_context.discount, order.email)


def give_back(order: Order) -> None:
    """Return the order's use of its code, if it counted one (flush only)."""
    code_id = db.session.scalar(
        select(DiscountRedemption.discount_code_id).where(DiscountRedemption.order_id == order.id)
    )
    if code_id is None:
        return
    db.session.execute(delete(DiscountRedemption).where(DiscountRedemption.order_id == order.id))
    db.session.execute(
        update(DiscountCode)
        .where(DiscountCode.id == code_id, DiscountCode.uses > 0)
        .values(uses=DiscountCode.uses - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


def code_by_id(code_id: int) -> DiscountCode | None:
    """The code with this id, active or not."""
    return db.session.get(DiscountCode, code_id)
