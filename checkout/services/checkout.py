"""Placing orders, calling them off, and the shopper's return from paying.

The Checkout Session itself (start, resend, renew, expire) is `payment_sessions`' business.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from checkout.domain.errors import (
    EmptyCart,
    GatewayUnavailable,
    OrderNotPayable,
    OutOfStock,
    UnchargeableTotal,
)
from checkout.domain.money import refuse_unchargeable
from checkout.domain.order_status import UNPAID_STATUSES, OrderStatus
from checkout.domain.payment_status import PaymentMethod
from checkout.domain.pricing import PricingContext, context_to_dict, price
from checkout.extensions import db
from checkout.models import Cart, CartLine, CheckoutAttempt, Order, OrderLine, ShippingOption
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
from checkout.services.payment_sessions import ReturnUrls
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


@dataclass(frozen=True)
class Placed:
    """An order just placed, with its first payment page request when it has one to send."""

    order: Order
    # Written with the order (card payments, when asked for): payment_sessions.start sends it.
    attempt: CheckoutAttempt | None = None


@dataclass(frozen=True)
class _LineSnapshot:
    product_id: int
    sku: str
    title: str
    unit_price: int
    quantity: int
    line_total: int


def place_order(
    cart: Cart | None,
    details: ShippingDetails,
    checkout_token: str,
    user_id: int | None,
    context: PricingContext | None = None,
    payment_method: PaymentMethod = PaymentMethod.CARD,
) -> Order:
    """Create the order, its line snapshots and its stock holds, and empty the cart: one commit.

    See place_order_to_pay, which this is without the payment page request.
    """
    return place_order_to_pay(cart, details, checkout_token, user_id, context=context,
                              payment_method=payment_method).order


@retry_once_on_conflict
def place_order_to_pay(
    cart: Cart | None,
    details: ShippingDetails,
    checkout_token: str,
    user_id: int | None,
    context: PricingContext | None = None,
    payment_method: PaymentMethod = PaymentMethod.CARD,
    urls_for: Callable[[Order], ReturnUrls] | None = None,
    shipping_options: Sequence[ShippingOption] | None = None,
) -> Placed:
    """Create the order, its line snapshots and its stock holds, and empty the cart: one commit.

    The checkout form carries a one-time token: a second submit of the same form (double
    click, back button, retry) finds the first order instead of placing another. `context`
    prices it (default: the store's context for the destination, the shipping method chosen
    and the code on the cart). The code's use is counted in this same transaction; when the
    last use went to another order meanwhile, DiscountRefused says so and nothing is placed.
    A total Stripe would refuse to charge (below its minimum, past its maximum) is
    UnchargeableTotal.
    The destination's tax rates are made at the provider first, with no transaction open.
    A bank transfer order holds its stock for days and gets its payment instructions by
    e-mail in the same transaction. With `urls_for`, a card order's first payment page
    request is written in the same transaction too (Placed.attempt), ready to send.
    `shipping_options` are the active methods the form's choices were read from in this
    request's transaction: the one chosen is priced from them.
    The statements are the same for one line or fifty: one DELETE takes the cart's lines,
    one INSERT writes the order's, one conditional UPDATE holds the stock, one INSERT the holds.
    """
    tax_rates = pricing.publish_tax_rates(details.country)
    lines = _take_cart_lines(cart)
    if not lines:
        # A simultaneous submit of this same form may have just placed it and emptied the cart.
        existing = _order_placed_with(checkout_token)
        if existing is not None:
            return Placed(existing)
        raise EmptyCart("Your cart is empty.")
    retired = carts.retired_lines(cart, lines)
    if retired:
        db.session.rollback()
        raise OutOfStock(retired)
    priced_lines = carts.priced_lines(cart, lines)
    try:
        context = context or pricing.store_context(
            details.country, details.shipping_method, cart.discount_code, details.email,
            subtotal=sum(line.line_total for line in priced_lines), tax_rates=tax_rates,
            shipping_options=shipping_options,
        )
    except Exception:
        db.session.rollback()
        raise
    totals = price(priced_lines, context)
    try:
        refuse_unchargeable(totals.total, totals.currency,
                                    discounted=totals.discount > 0)
    except UnchargeableTotal:
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
    snapshots = [
        _LineSnapshot(
            product_id=cart_line.product_id,
            sku=priced.line.sku,
            title=priced.line.title,
            unit_price=priced.line.unit_price,
            quantity=priced.line.quantity,
            line_total=priced.subtotal,
        )
        for cart_line, priced in zip(lines, totals.lines, strict=True)
    ]
    order.record(EventKind.STATUS, "Order placed; awaiting payment.", actor="shopper",
                 user_id=user_id)
    db.session.add(order)
    attempt = None
    try:
        db.session.flush()
        # One INSERT for every line; order.lines loads them when first read.
        db.session.execute(insert(OrderLine), [
            {"order_id": order.id, **snapshot.__dict__} for snapshot in snapshots
        ])
        deadline = inventory.hold_deadline(payment_method)
        inventory.hold_stock(order, deadline, snapshots)
        discounts.redeem(order, context.discount, details.email)
        if user_id is not None:
            addresses.remember(
                user_id, name=details.name, line1=details.line1, line2=details.line2,
                city=details.city, postal_code=details.postal_code, country=details.country,
            )
        if payment_method == PaymentMethod.BANK_TRANSFER:
            bank_transfers.enqueue_instructions(order)
        elif urls_for is not None:
            attempt = payment_sessions.first_attempt(order, deadline, urls_for(order), snapshots)
        cart.discount_code = None
        db.session.commit()
    except IntegrityError:
        # The same form won a race against itself: the other submit placed the order.
        db.session.rollback()
        existing = _order_placed_with(checkout_token)
        if existing is None:
            raise
        return Placed(existing)
    except Exception:
        db.session.rollback()
        raise
    return Placed(order, attempt)


def _take_cart_lines(cart: Cart | None) -> list[CartLine]:
    """Take the cart's lines out of it for the order being placed (flush only); [] if empty.

    The lines read with the cart are deleted with one DELETE … RETURNING, which is also the
    claim: two tabs checking out one cart at once both read its lines, the second's DELETE
    waits for the first to commit and finds them gone. When what came back differs from what
    was read (the cart changed in between), the cart is read again, once.
    """
    for _ in range(2):
        if cart is None or not cart.lines:
            return []
        lines = list(cart.lines)
        taken = carts.take_lines(cart)
        if taken == {(line.id, line.product_id, line.quantity) for line in lines}:
            return lines
        db.session.rollback()  # every loaded row is read afresh, the cart's lines too
    return []


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
