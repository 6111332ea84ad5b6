"""The cart page and the forms that change it."""

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from checkout.domain.errors import DiscountRefused, DomainError, ProductUnavailable
from checkout.forms import EmptyForm
from checkout.forms.cart import AddToCartForm, DiscountForm, UpdateLineForm
from checkout.models import Product
from checkout.services import cart as carts
from checkout.services import catalog, pricing
from checkout.web.shopper import current_cart, remember_cart, user_id

bp = Blueprint("cart", __name__, url_prefix="/cart")
# The session key under which a refused add-to-cart leaves [product id, quantity typed].
KEPT_QUANTITY = "kept_quantity"


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form and try again."


@bp.get("/")
def show(discount_form: DiscountForm | None = None, discount_error: str | None = None):
    """Show the cart with today's prices and totals."""
    cart = current_cart()
    summary = carts.summarize(cart, email=_email())
    return render_template(
        "cart/show.html",
        rows=summary.rows,
        short=carts.short_lines(cart),
        totals=summary.totals,
        pricing_context=summary.context,
        discount_form=discount_form or DiscountForm(formdata=None),
        discount_code=cart.discount_code if cart else None,
        discount_note=summary.discount_note,
        minimum_note=summary.minimum_note,
        discount_error=discount_error,
        shipping_later=bool(pricing.shipping_choices()),
    )


def _email() -> str | None:
    return current_user.email if current_user.is_authenticated else None


@bp.post("/discount")
def apply_discount():
    """Put a discount code on the cart, or say plainly why it does not apply."""
    cart = current_cart()
    if cart is None or not cart.lines:
        abort(404, "Your cart is empty.")
    form = DiscountForm()
    if not form.validate():
        return show(form, _first_error(form)), 422
    try:
        row = carts.apply_discount(cart, form.code.data, _email())
    except DiscountRefused as exc:
        return show(form, f"That code cannot be used: {exc}."), 422
    flash(f"The code {row.code} was applied.", "success")
    return redirect(url_for("cart.show"), 303)


@bp.post("/discount/remove")
def remove_discount():
    """Take the discount code off the cart."""
    cart = current_cart()
    if cart is None:
        abort(404, "Your cart is empty.")
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    if carts.remove_discount(cart):
        flash("The discount code was removed.", "success")
    return redirect(url_for("cart.show"), 303)


@bp.post("/add")
def add():
    """Add a product to the cart, within what is in stock."""
    form = AddToCartForm()
    raw_id = form.product_id.data or ""
    is_id = raw_id.isdecimal() and len(raw_id) < 10
    product = catalog.product_for_sale(int(raw_id)) if is_id else None
    if product is None:
        abort(404, "That product is not for sale.")
    if not form.validate():
        return _back_to_product(product, _first_error(form))
    try:
        cart = carts.add_item(current_cart(), user_id(), product.id, form.quantity.data)
    except ProductUnavailable as exc:
        abort(404, str(exc))
    except DomainError as exc:
        return _back_to_product(product, str(exc))
    remember_cart(cart)
    flash(f"Added {form.quantity.data} × {product.title} to your cart.", "success")
    return redirect(url_for("cart.show"), 303)


@bp.post("/lines/<int:product_id>")
def update(product_id: int):
    """Change the quantity of a cart line; zero removes it."""
    cart = current_cart()
    if cart is None:
        abort(404, "Your cart is empty.")
    form = UpdateLineForm()
    if not form.validate():
        flash(_first_error(form), "error")
        return _cart_page(422)
    try:
        carts.set_quantity(cart, product_id, form.quantity.data)
    except ProductUnavailable as exc:
        abort(404, str(exc))
    except DomainError as exc:
        flash(str(exc), "error")
        return _cart_page(409)
    flash("Your cart was updated.", "success")
    return redirect(url_for("cart.show"), 303)


@bp.post("/lines/<int:product_id>/remove")
def remove(product_id: int):
    """Take a line out of the cart."""
    cart = current_cart()
    if cart is None:
        abort(404, "Your cart is empty.")
    form = EmptyForm()
    if not form.validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    if carts.remove_item(cart, product_id):
        flash("The item was removed from your cart.", "success")
    else:
        flash("That item was no longer in your cart.", "info")
    return redirect(url_for("cart.show"), 303)


def _back_to_product(product: Product, error: str):
    """Post/redirect/get: the product page says why, with the quantity typed kept to correct.

    Answering the page from here left the browser at /cart/add, where a reload posts again.
    """
    flash(error, "error")
    typed = (request.form.get("quantity") or "")[:20]
    session[KEPT_QUANTITY] = [product.id, typed if typed.isprintable() else ""]
    return redirect(url_for("catalog.product", slug=product.slug), 303)


def _cart_page(status: int):
    response = show()
    return response, status

