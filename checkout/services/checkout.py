"""Placing orders, calling them off, and the shopper's return from paying.

The Checkout Session itself (start, resend, renew, expire) is `payment_sessions`' business.
"""

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from checkout.domain.errors import (
    BelowMinimumCharge,
    EmptyCart,
    GatewayUnavailable,
    OrderNotPayable,
    OutOfStock,
)
from checkout.domain.money import refuse_below_minimum_charge
from checkout.domain.order_status import UNPAID_STATUSES, OrderStatus
from checkout.domain.payment_status import PaymentMethod
from checkout.domain.pricing import PricingContext, context_to_dict, price
from checkout.extensions import db
from checkout.models import Cart, Order, OrderLine
from checkout.models.order import EventKind
from checkout.payments import gateway
from checkout.services import (
    addresses,
    bank_transfers,
    discounts,
    fulfilment,
    inventory,
    payment_sessions,
    pricing,
)
from checkout.services import cart as carts
from checkout.services.orders import lock_order
from checkout.services.transactions import retry_once_on_conflict

# Orders whose Checkout Session may still change them: no money yet, or a bank debit settling.
AWAITING_MONEY = UNPAID_STATUSES | {OrderStatus.PAYMENT_PROCESSING}


@dataclass(frozen=True)
class ShippingDetails:
    email: str
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    # The shipping method's code; None when the shop has no methods for the country.
    shipping_method: str | None = None


@retry_once_on_conflict
def place_order(
    cart: Cart | None,
    details: ShippingDetails,
    checkout_token: str,
    user_id: int | None,
    context: PricingContext | None = None,
    payment_method: PaymentMethod = PaymentMethod.CARD,
) -> Order:
    """Create the order, its line snapshots and its stock holds, and empty the cart: one commit.

    The checkout form carries a one-time token: a second submit of the same form (double
    click, back button, retry) finds the first order instead of placing another. `context`
    prices it (default: the store's context for the destination, the shipping method chosen
    and the code on the cart). The code's use is counted in this same transaction; when the
    last use went to another order meanwhile, DiscountRefused says so and nothing is placed.
    A total Stripe would refuse to charge (above zero, below its minimum) is BelowMinimumCharge.
    The destination's tax rates are made at the provider first, with no transaction open.
    A bank transfer order holds its stock for days and gets its payment instructions by
    e-mail in the same transaction.
    """
    pricing.publish_tax_rates(details.country)
    existing = _order_placed_with(checkout_token)
    if existing is not None:
        return existing
    if cart is not None:
        # Two tabs checking out one cart at once: the second waits, then finds it empty.
        cart = db.session.execute(
            select(Cart)
            .where(Cart.id == cart.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        db.session.expire(cart, ["lines"])
    if cart is None or not cart.lines:
        # A simultaneous submit of this same form may have just placed it and emptied the cart.
        existing = _order_placed_with(checkout_token)
        if existing is not None:
            return existing
        raise EmptyCart("Your cart is empty.")
    lines = carts.priced_lines(cart)
    retired = carts.retired_lines(cart)
    if retired:
        db.session.rollback()
        raise OutOfStock(retired)
    try:
        context = context or pricing.store_context(
            details.country, details.shipping_method, cart.discount_code, details.email,
            subtotal=sum(line.line_total for line in lines),
        )
    except Exception:
        db.session.rollback()
        raise
    totals = price(lines, context)
    try:
        refuse_below_minimum_charge(totals.total, totals.currency,
                                    discounted=totals.discount > 0)
    except BelowMinimumCharge:
        db.session.rollback()
        raise
    order = Order(
        checkout_token=checkout_token,
        user_id=user_id,
        email=details.email,
        ship_name=details.name,
        ship_line1=details.line1,
        ship_line2=details.line2,
        ship_city=details.city,
        ship_postal_code=details.postal_code,
        ship_country=details.country,
        currency=totals.currency,
        subtotal=totals.subtotal,
        discount=totals.discount,
        shipping=totals.shipping,
        tax=totals.tax,
        tax_included=totals.tax_included,
        total=totals.total,
        pricing=json.dumps(context_to_dict(context), sort_keys=True),
        payment_method=payment_method,
    )
    for cart_line, priced in zip(cart.lines, totals.lines, strict=True):
        order.lines.append(
            OrderLine(
                product_id=cart_line.product_id,
                sku=priced.line.sku,
                title=priced.line.title,
                unit_price=priced.line.unit_price,
                quantity=priced.line.quantity,
                line_total=priced.subtotal,
            )
        )
    order.record(EventKind.STATUS, "Order placed; awaiting payment.", actor="shopper",
                 user_id=user_id)
    db.session.add(order)
    try:
        db.session.flush()
        inventory.hold_stock(order, inventory.hold_deadline(payment_method))
        discounts.redeem(order, context.discount, details.email)
        if user_id is not None:
            addresses.remember(
                user_id, name=details.name, line1=details.line1, line2=details.line2,
                city=details.city, postal_code=details.postal_code, country=details.country,
            )
        if payment_method == PaymentMethod.BANK_TRANSFER:
            bank_transfers.enqueue_instructions(order)
        cart.lines.clear()
        cart.discount_code = None
        db.session.commit()
    except IntegrityError:
        # The same form won a race against itself: the other submit placed the order.
        db.session.rollback()
        existing = _order_placed_with(checkout_token)
        if existing is None:
            raise
        return existing
    except Exception:
        db.session.rollback()
        raise
    return order


def _order_placed_with(checkout_token: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.checkout_token == checkout_token))


@retry_once_on_conflict
def cancel_order(order: Order, cart: Cart | None, user_id: int | None) -> Cart | None:
    """Cancel an unpaid order: expire its sessions, release its hold, refill the cart and its code.

    If the shopper paid in another tab before the session could be expired, the payment wins:
    the order is confirmed instead and OrderNotPayable tells the shopper so.
    """
    order = cancel_unpaid(order, actor="shopper", user_id=user_id,
                          message="Cancelled by the shopper.")
    cart = carts.put_back(
        cart, user_id, [(line.product_id, line.quantity) for line in order.lines if line.product_id]
    )
    code = order.pricing_context.discount
    if code is not None and cart.discount_code is None:
        # The use was given back above; the cart's page checks again that the code still applies.
        cart.discount_code = code.code
    db.session.commit()
    return cart


def cancel_unpaid(order: Order, *, actor: str, user_id: int | None, message: str) -> Order:
    """Expire an unpaid order's sessions, then release its hold and cancel it, uncommitted.

    The provider is called with no transaction open (each expiry commits what it learnt); the
    cancellation itself is left in the caller's transaction, under the order's lock, for the
    caller to add to and commit. A session opened meanwhile (resume in another tab) is expired
    too before the order is cancelled. Raises OrderNotPayable when the order stopped waiting
    for payment (paid in another tab, expired), GatewayUnavailable when the provider cannot
    be reached (nothing cancelled).
    """
    while True:
        order = lock_order(order.id)
        if not order.awaiting_payment:
            db.session.commit()
            raise OrderNotPayable("This order is no longer waiting for payment, so it was not "
                                  "cancelled.")
        if not any(a.is_live for a in payment_sessions.attempts_of(order)):
            break
        db.session.commit()
        try:
            payment_sessions.expire_live(order)
        except OrderNotPayable:
            paid = "This order was paid just now, so it was not cancelled."
            raise OrderNotPayable(paid) from None
    inventory.release_holds(order, actor=actor, user_id=user_id)
    discounts.give_back(order)
    order.transition_to(OrderStatus.CANCELLED, actor=actor, user_id=user_id, message=message)
    return order


@retry_once_on_conflict
def confirm_return(session_id: str, *, ask_provider: bool = True) -> Order | None:
    """Apply the session the shopper came back from (Stripe: don't wait for the webhook).

    Returns the order as it now stands, or None for a session we never issued. If the
    provider cannot be reached, the order is left for the webhook to confirm. Stripe is
    asked only while the order still waits for its money (and `ask_provider`): once it is
    settled nothing the session says changes it, and each call counts against the account.
    """
    order = payment_sessions.find_order_by_session(session_id)
    if order is None:
        return None
    if not ask_provider or OrderStatus(order.status) not in AWAITING_MONEY:
        return order
    db.session.commit()  # hold no database lock while waiting on the provider
    try:
        session = gateway().retrieve_checkout(session_id)
    except GatewayUnavailable:
        return order
    if session.status == "complete":
        fulfilment.apply_checkout_session(order, session, actor="shopper")
    db.session.refresh(order)
    return order
