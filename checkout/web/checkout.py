"""Checkout: the form, the hand-off to Stripe Checkout, and the pages Stripe returns shoppers to."""

import secrets

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from checkout.domain.errors import (
    EmptyCart,
    GatewayUnavailable,
    OrderNotPayable,
    OutOfStock,
    PaymentDeclined,
)
from checkout.domain.order_status import PAID_STATUSES, UNPAID_STATUSES, OrderStatus
from checkout.forms import EmptyForm
from checkout.forms.checkout import CheckoutForm
from checkout.models import Order
from checkout.services import cart as carts
from checkout.services import checkout as checkouts
from checkout.services import inventory, orders, payment_sessions
from checkout.web.links import order_link, payment_page_url, return_urls
from checkout.web.shopper import current_cart, remember_cart, user_id

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

GATEWAY_DOWN = (
    "We could not reach the payment provider. Your order is saved and its items are held "
    "for you: try again in a moment."
)


def _review(form: CheckoutForm, status: int = 200, shortages=None):
    summary = carts.summarize(current_cart())
    return (
        render_template(
            "checkout/form.html",
            form=form,
            lines=summary.lines,
            totals=summary.totals,
            shortages=shortages,
        ),
        status,
    )


@bp.get("/")
def start():
    """Show the checkout form with a review of the cart."""
    cart = current_cart()
    if cart is None or not cart.lines:
        flash("Your cart is empty: add something first.", "info")
        return redirect(url_for("cart.show"))
    form = CheckoutForm(checkout_token=secrets.token_urlsafe(24))
    if current_user.is_authenticated and not form.email.data:
        form.email.data = current_user.email
    return _review(form)


@bp.post("/")
def place():
    """Place the order with its stock held, then send the shopper to pay (303)."""
    form = CheckoutForm()
    if not form.validate():
        return _review(form, 422)
    details = checkouts.ShippingDetails(
        email=form.email.data.strip(),
        name=form.name.data.strip(),
        line1=form.line1.data.strip(),
        line2=(form.line2.data or "").strip(),
        city=form.city.data.strip(),
        postal_code=form.postal_code.data.strip().upper(),
        country=form.country.data,
    )
    try:
        order = checkouts.place_order(
            current_cart(), details, form.checkout_token.data, user_id()
        )
    except EmptyCart:
        flash("Your cart is empty: add something first.", "info")
        return redirect(url_for("cart.show"), 303)
    except OutOfStock as exc:
        return _review(form, 409, shortages=exc.shortages)
    # This browser placed it: the success page may show it the order's private link.
    placed = [n for n in session.get("placed_orders", []) if n != order.number][-19:]
    session["placed_orders"] = [*placed, order.number]
    return _pay(order)


def _pay(order: Order):
    try:
        url = payment_sessions.start(order, return_urls(order))
    except OrderNotPayable as exc:
        flash(str(exc), "info")
        return redirect(order_link(order), 303)
    except (GatewayUnavailable, PaymentDeclined):
        flash(GATEWAY_DOWN, "error")
        return redirect(payment_page_url(order), 303)
    return redirect(url, 303)


def _order_for_shopper(number: str) -> Order:
    order = orders.find_order(number)
    if order is None or not orders.may_view(order, request.args.get("t"), current_user):
        abort(404, "We could not find that order.")
    return order


@bp.get("/orders/<number>/pay")
def payment(number: str):
    """Show an unpaid order with "resume payment" and "cancel order" (Stripe's cancel_url)."""
    order = _order_for_shopper(number)
    if not order.awaiting_payment:
        return redirect(order_link(order))
    return render_template(
        "checkout/payment.html",
        order=order,
        hold_expiry=inventory.current_hold_expiry(order),
        retry=payment_sessions.awaiting_retry(order),
        form=EmptyForm(),
        token=request.args.get("t"),
    )


@bp.post("/orders/<number>/pay")
def resume(number: str):
    """Send the shopper back to pay: the same session while it is open."""
    order = _order_for_shopper(number)
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    return _pay(order)


@bp.post("/orders/<number>/cancel")
def cancel(number: str):
    """Cancel an unpaid order and put its items back in the cart."""
    order = _order_for_shopper(number)
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    try:
        cart = checkouts.cancel_order(order, current_cart(), user_id())
    except OrderNotPayable as exc:
        flash(str(exc), "info")
        return redirect(order_link(order), 303)
    except GatewayUnavailable:
        flash(GATEWAY_DOWN.replace("try again", "try cancelling again"), "error")
        return redirect(payment_page_url(order), 303)
    remember_cart(cart)
    flash(f"Order {order.number} was cancelled and its items are back in your cart.", "success")
    return redirect(url_for("cart.show"), 303)


def _placed_here(order: Order) -> bool:
    owner = current_user.is_authenticated and current_user.id == order.user_id
    return owner or order.number in session.get("placed_orders", [])


@bp.get("/success")
def success():
    """Confirm the payment from the session right away, or wait for it to be confirmed."""
    session_id = request.args.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        abort(404, "We could not find that checkout.")
    order = checkouts.confirm_return(session_id)
    if order is None:
        abort(404, "We could not find that checkout.")
    status = OrderStatus(order.status)
    waiting = status in UNPAID_STATUSES
    return render_template(
        "checkout/success.html",
        order=order,
        paid=status in PAID_STATUSES,
        processing=status == OrderStatus.PAYMENT_PROCESSING,
        waiting=waiting,
        # A session id can leak through history or logs: only the browser that placed the
        # order, or its owner, is shown the link that opens it.
        order_url=order_link(order) if _placed_here(order) else None,
    )
