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

from checkout.domain.addresses import normalise_postal_code
from checkout.domain.errors import (
    DiscountRefused,
    EmptyCart,
    GatewayUnavailable,
    OrderNotPayable,
    OrderNotRestorable,
    OutOfStock,
    PaymentDeclined,
    RestoreLinkExpired,
    RestoreLinkInvalid,
    ShippingUnavailable,
    UnchargeableTotal,
)
from checkout.domain.order_status import PAID_STATUSES, UNPAID_STATUSES, OrderStatus
from checkout.domain.payment_status import PaymentMethod
from checkout.forms import EmptyForm
from checkout.forms.checkout import CheckoutForm
from checkout.metrics import count_oversell_refused
from checkout.models import Order
from checkout.services import (
    addresses,
    bank_transfers,
    catalog,
    inventory,
    orders,
    payment_sessions,
    pricing,
    reminders,
)
from checkout.services import cart as carts
from checkout.services import checkout as checkouts
from checkout.web.links import bank_transfer_page_url, order_link, payment_page_url, return_urls
from checkout.web.order_links import refuse_expired_link
from checkout.web.rate_limits import may_ask_provider
from checkout.web.read_only import writes
from checkout.web.shopper import current_cart, remember_cart, user_id
from checkout.web.waiting_orders import PLACED_ORDERS, placed_here, waiting_for_payment

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

GATEWAY_DOWN = (
    "We could not reach the payment provider. Your order is saved and its items are held "
    "for you: try again in a moment."
)
# The address a refused checkout keeps in the session (signed cookie: the shopper's own browser)
# until an order is placed, so fixing the cart does not mean typing it all again.
TYPED_KEY = "checkout_typed"
TYPED_FIELDS = ("email", "name", "line1", "line2", "city", "postal_code", "country",
                "shipping_method", "payment_method")
NOT_PLACED = "We could not reach the payment provider. Nothing was ordered: try again in a moment."


def _checkout_form(**kwargs) -> CheckoutForm:
    form = CheckoutForm(**kwargs)
    methods = pricing.shipping_choices()
    form.shipping_method.choices = [(m.code, m.name) for m in methods]
    # Placing the order prices the chosen method from these rows rather than reading it again.
    form.shipping_options = methods
    if not methods:
        # A shop with no shipping methods ships for free: nothing to choose, and whatever was
        # posted is no choice.
        form.shipping_method.validators = []
        form.shipping_method.validate_choice = False
        form.shipping_method.data = None
    if not bank_transfers.enabled():
        # Card is the only way to pay: a posted "bank_transfer" is refused as not a choice.
        form.payment_method.choices = [("card", "Card")]
        form.payment_method.validators = []
        if not form.payment_method.raw_data:
            form.payment_method.data = PaymentMethod.CARD.value
    return form


def _offered_shipping(form: CheckoutForm) -> str | None:
    """The posted shipping method if the shop offers it; anything else is looked up nowhere.

    A form shown again for another field's mistake is priced with what was posted: a code
    holding a NUL byte cannot even be compared by PostgreSQL.
    """
    offered = {code for code, _ in form.shipping_method.choices or []}
    return form.shipping_method.data if form.shipping_method.data in offered else None


def _review(form: CheckoutForm, status: int = 200, shortages=None, problem: str | None = None):
    """The checkout page, priced for the country and shipping method chosen so far."""
    summary = carts.summarize(
        current_cart(),
        country=form.priced_country(),
        shipping_code=_offered_shipping(form),
        email=form.priced_email(),
    )
    methods = pricing.shipping_choices()
    return (
        render_template(
            "checkout/form.html",
            form=form,
            lines=summary.lines,
            totals=summary.totals,
            context=summary.context,
            shortages=shortages,
            problem=problem or summary.discount_note,
            methods=methods,
            bank_transfer=bank_transfers.enabled(),
            currency=pricing.store_context().currency,
        ),
        status,
    )


@bp.get("/")
def start():
    """Show the checkout form with a review of the cart."""
    cart = current_cart()
    if cart is None or not cart.lines:
        if not waiting_for_payment():
            # Back from the payment page lands here: the cart's reminder of the order waiting
            # for payment says what to do, not "add something first".
            flash("Your cart is empty: add something first.", "info")
        return redirect(url_for("cart.show"))
    short = carts.short_lines(cart)
    if short:
        # Refuse before the shopper fills the form in, not after: the cart shows the fix.
        flash("Your cart needs a change before you can check out. "
              + " ".join(f"{s.text}." for s in short.values()), "error")
        return redirect(url_for("cart.show"))
    form = _checkout_form(checkout_token=secrets.token_urlsafe(24))
    if not _typed_before(form) and current_user.is_authenticated:
        _prefill(form)
    return _review(form)


def _keep_typed(form: CheckoutForm) -> None:
    """Remember what the shopper typed when the cart must change before the order can be placed."""
    fields = {name: getattr(form, name).data or "" for name in TYPED_FIELDS}
    session[TYPED_KEY] = {"user": user_id(), "fields": fields}


def _typed_before(form: CheckoutForm) -> bool:
    """Fill the form with what this browser typed before the cart needed a change, if it did."""
    typed = session.get(TYPED_KEY)
    # Typed while signed in to an account (or signed out): nobody else using this browser
    # after a sign-out or sign-in is shown it.
    if not isinstance(typed, dict) or typed.get("user") != user_id():
        return False
    fields = typed.get("fields")
    if not isinstance(fields, dict):
        return False
    for name in TYPED_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value:
            getattr(form, name).data = value
    return True


def _prefill(form: CheckoutForm) -> None:
    """Offer the signed-in shopper's e-mail and the address they shipped to last."""
    form.email.data = form.email.data or current_user.email
    saved = addresses.latest(current_user.id)
    if saved is not None:
        for name in ("name", "line1", "line2", "city", "postal_code", "country"):
            getattr(form, name).data = getattr(saved, name)


@bp.post("/")
def place():
    """Place the order with its stock held, then send the shopper to pay (303)."""
    form = _checkout_form()
    if not form.validate():
        return _review(form, 422)
    details = checkouts.ShippingDetails(
        email=form.email.data.strip(),
        name=form.name.data.strip(),
        line1=form.line1.data.strip(),
        line2=(form.line2.data or "").strip(),
        city=form.city.data.strip(),
        postal_code=normalise_postal_code(form.country.data, form.postal_code.data),
        country=form.country.data,
        shipping_method=_offered_shipping(form),
    )
    method = PaymentMethod(form.payment_method.data)
    try:
        placed = checkouts.place_order_to_pay(
            current_cart(), details, form.checkout_token.data, user_id(), payment_method=method,
            urls_for=return_urls, shipping_options=form.shipping_options,
        )
    except EmptyCart:
        _keep_typed(form)
        if not waiting_for_payment():
            # A form left open in another tab after that tab placed the order lands on the
            # cart's reminder of it: "add something first" would be the wrong advice.
            flash("Your cart is empty: add something first.", "info")
        return redirect(url_for("cart.show"), 303)
    except OutOfStock as exc:
        count_oversell_refused()
        _keep_typed(form)
        return _review(form, 409, shortages=exc.shortages)
    except ShippingUnavailable as exc:
        form.shipping_method.errors = [str(exc)]
        return _review(form, 422)
    except DiscountRefused as exc:
        _keep_typed(form)
        code = current_cart().discount_code if current_cart() else None
        return _review(form, 409, problem=f"The code {code} cannot be used: {exc}. Remove it "
                       "from your cart to check out without it.")
    except UnchargeableTotal as exc:
        return _review(form, 422, problem=str(exc))
    except GatewayUnavailable:
        flash(NOT_PLACED, "error")
        return _review(form, 503)
    session.pop(TYPED_KEY, None)
    # This browser placed it: the success page may show it the order's private link.
    order = placed.order
    earlier = [n for n in placed_here() if n != order.number][-19:]
    session[PLACED_ORDERS] = [*earlier, order.number]
    return _pay(order, placed.attempt)


def _pay(order: Order, prepared=None):
    if bank_transfers.is_bank_transfer(order):
        # Nothing to pay online: the shopper wires the money with the reference shown.
        return redirect(bank_transfer_page_url(order), 303)
    try:
        url = payment_sessions.start(order, return_urls(order), prepared=prepared)
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
        if order is not None:
            refuse_expired_link(order, request.args.get("t"))
        abort(404, "We could not find that order.")
    return order


def _order_to_act_on(number: str) -> Order:
    """The order behind a shopper's button, for its owner or whoever holds its link.

    Staff may look at any order, but these buttons act as the shopper (the items go to the
    presser's cart, the timeline names the shopper): staff change orders from the back office.
    """
    order = _order_for_shopper(number)
    owner = current_user.is_authenticated and current_user.id == order.user_id
    if not owner and not orders.may_view(order, request.args.get("t"), None):
        abort(403, "Only the shopper can change or pay this order here: staff change orders "
                   "from the back office.")
    return order


@bp.get("/orders/<number>/pay")
def payment(number: str):
    """Show an unpaid order with "resume payment" and "cancel order" (Stripe's cancel_url)."""
    order = _order_for_shopper(number)
    if not order.awaiting_payment:
        return redirect(order_link(order))
    if bank_transfers.is_bank_transfer(order):
        return redirect(bank_transfer_page_url(order))
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
    order = _order_to_act_on(number)
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    return _pay(order)


@bp.post("/orders/<number>/cancel")
def cancel(number: str):
    """Cancel an unpaid order and put its items back in the cart."""
    order = _order_to_act_on(number)
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
    left_out = [line.title for line in order.lines
                if line.product_id is None or catalog.product_for_sale(line.product_id) is None]
    if left_out:
        # Taken off sale since the order was placed: saying "its items are back" would be false.
        flash(f"Order {order.number} was cancelled. No longer for sale, so not put back: "
              f"{', '.join(left_out)}.", "info")
    else:
        flash(f"Order {order.number} was cancelled and its items are back in your cart.",
              "success")
    return redirect(url_for("cart.show"), 303)


@bp.get("/orders/<number>/bank-transfer")
def bank_transfer(number: str):
    """Show how to pay an order by bank transfer: account, amount, reference and deadline."""
    order = _order_for_shopper(number)
    if not bank_transfers.is_bank_transfer(order):
        abort(404, "This order is not paid by bank transfer.")
    return render_template(
        "checkout/bank_transfer.html",
        order=order,
        account=bank_transfers.bank_account(),
        reference=bank_transfers.payment_reference(order),
        deadline=inventory.current_hold_expiry(order) if order.awaiting_payment else None,
        form=EmptyForm(),
        token=request.args.get("t"),
    )


def _order_to_restore(number: str) -> Order:
    try:
        return reminders.order_to_restore(number, request.args.get("t"))
    except RestoreLinkInvalid as exc:
        abort(404, str(exc))
    except RestoreLinkExpired as exc:
        abort(410, str(exc))
    except OrderNotRestorable as exc:
        abort(409, str(exc))


@bp.get("/orders/<number>/restore")
def restore(number: str):
    """Show what the recovery e-mail's link would put back in the cart, with its button."""
    order = _order_to_restore(number)
    return render_template(
        "checkout/restore.html", order=order, token=request.args.get("t"), form=EmptyForm()
    )


@bp.post("/orders/<number>/restore")
def restore_items(number: str):
    """Put an expired order's items still for sale back in this browser's cart."""
    order = _order_to_restore(number)
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    try:
        restored = reminders.restore_order(order, current_cart(), user_id())
    except OrderNotRestorable as exc:
        # Paid in the moment between the link's check and the order's lock.
        abort(409, str(exc))
    remember_cart(restored.cart)
    if restored.already:
        flash(f"The items of order {order.number} were already put back in a cart.", "info")
    if restored.returned:
        flash(f"Back in your cart: {', '.join(restored.returned)}.", "success")
    if restored.unavailable:
        flash(f"No longer for sale: {', '.join(restored.unavailable)}.", "info")
    return redirect(url_for("cart.show"), 303)


def _placed_here(order: Order) -> bool:
    if current_user.is_authenticated and current_user.id == order.user_id:
        return True
    # The browser's list names orders placed while signed in too: those are the account's,
    # shown only while it is signed in, not to whoever opens the history after a sign-out.
    return order.user_id is None and order.number in placed_here()


@bp.get("/success")
@writes
def success():
    """Confirm the payment from the session right away, or wait for it to be confirmed."""
    session_id = request.args.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        abort(404, "We could not find that checkout.")
    order = checkouts.confirm_return(
        session_id, ask_provider=may_ask_provider("checkout session", session_id))
    if order is None:
        abort(404, "We could not find that checkout.")
    if not _placed_here(order):
        # A session id can leak through history, a shared screen or logs: anyone else is
        # thanked and pointed to the e-mail, and learns neither the order nor the address.
        return render_template("checkout/success_elsewhere.html")
    status = OrderStatus(order.status)
    waiting = status in UNPAID_STATUSES
    return render_template(
        "checkout/success.html",
        order=order,
        paid=status in PAID_STATUSES,
        processing=status == OrderStatus.PAYMENT_PROCESSING,
        waiting=waiting,
        order_url=order_link(order),
    )
