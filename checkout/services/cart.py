"""Carts: add, change and remove lines, checked against what is free to sell."""

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from checkout.domain.errors import (
    DiscountRefused,
    OutOfStock,
    ProductUnavailable,
    QuantityInvalid,
    ShippingUnavailable,
    Shortage,
    UnchargeableTotal,
)
from checkout.domain.money import refuse_unchargeable
from checkout.domain.pricing import (
    MAX_QUANTITY_PER_LINE,
    Breakdown,
    PricedLine,
    PricingContext,
    price,
)
from checkout.extensions import db
from checkout.models import Cart, CartLine, DiscountCode, Product
from checkout.services import catalog, discounts
from checkout.services.pricing import store_context

# Every page shows the cart's count and most read its lines: one statement loads them all.
# Built once, as the catalog's are (services/catalog.py says why).
_CART_OF_USER = (select(Cart).options(joinedload(Cart.lines))
                 .where(Cart.user_id == bindparam("user_id")))
_GUEST_CART = (select(Cart).options(joinedload(Cart.lines))
               .where(Cart.token == bindparam("token"), Cart.user_id.is_(None)))


def find_cart(token: str | None, user_id: int | None) -> Cart | None:
    """Return the signed-in shopper's cart, else the guest cart the cookie names."""
    if user_id is None and not token:
        return None  # a guest without a cart: every catalog visitor's first page
    if user_id is not None:
        cart = db.session.scalars(_CART_OF_USER, {"user_id": user_id}).unique().one_or_none()
        if cart is not None:
            return cart
    if token and "\x00" not in token:  # a forged cookie PostgreSQL could not compare
        return db.session.scalars(_GUEST_CART, {"token": token}).unique().one_or_none()
    return None


def take_lines(cart: Cart) -> set[tuple[int, int, int]]:
    """Delete every line of the cart in one statement; return what was deleted (flush only).

    (line id, product id, quantity) of each row the DELETE removed: on PostgreSQL a concurrent
    DELETE of the same rows waits for this transaction, then finds them gone.
    """
    taken = db.session.execute(
        delete(CartLine)
        .where(CartLine.cart_id == cart.id)
        .returning(CartLine.id, CartLine.product_id, CartLine.quantity)
        .execution_options(synchronize_session=False)
    ).tuples().all()
    # The deleted rows must not linger in the session as if they were still in the cart.
    for line in list(cart.lines):
        db.session.expunge(line)
    set_committed_value(cart, "lines", [])
    return set(taken)


def _new_cart(user_id: int | None) -> Cart:
    cart = Cart(token=secrets.token_urlsafe(32), user_id=user_id)
    db.session.add(cart)
    db.session.flush()
    return cart


def _check_quantity(product: Product, quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY_PER_LINE:
        raise QuantityInvalid(f"Quantity must be between 1 and {MAX_QUANTITY_PER_LINE}.")
    if quantity > product.available:
        raise OutOfStock([Shortage(product.sku, product.title, quantity, product.available)])


def _product_for_sale(product_id: int) -> Product:
    product = catalog.product_for_sale(product_id)
    if product is None:
        raise ProductUnavailable("That product is not for sale.")
    return product


def retired_lines(cart: Cart, lines: list[CartLine] | None = None) -> list[Shortage]:
    """The cart's lines (or `lines` taken from it) whose product is no longer for sale, as
    shortages of everything."""
    return [
        Shortage(line.product.sku, line.product.title, line.quantity, 0)
        for line in (cart.lines if lines is None else lines)
        if not line.product.for_sale
    ]


def short_lines(cart: Cart | None) -> dict[int, Shortage]:
    """The lines checkout would refuse now, by product id: fewer units free than the line asks.

    A product taken off sale counts as none left. Another shopper's hold counts against the
    line, so a cart that lost the race for the last units says so before the form is filled.
    """
    if cart is None:
        return {}
    short = {}
    for line in cart.lines:
        left = max(line.product.available, 0) if line.product.for_sale else 0
        if left < line.quantity:
            short[line.product_id] = Shortage(line.product.sku, line.product.title,
                                              line.quantity, left)
    return short


# An order placed from the cart in another tab takes its lines with one DELETE (take_lines);
# a change to one of them waiting on that DELETE finds the row gone when the order commits.
_LINE_TAKEN = "That item is no longer in your cart: an order you placed took it."


def add_item(cart: Cart | None, user_id: int | None, product_id: int, quantity: int,
             *, again: bool = True) -> Cart:
    """Add units of a product (creating the cart if needed); commit and return the cart."""
    try:
        product = _product_for_sale(product_id)
        cart = cart or _new_cart(user_id)
        line = next((line for line in cart.lines if line.product_id == product.id), None)
        _check_quantity(product, quantity + (line.quantity if line else 0))
        if line is None:
            cart.lines.append(CartLine(product_id=product.id, quantity=quantity))
        else:
            line.quantity += quantity
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        if not again:
            raise
        # The line was taken by an order placed meanwhile: add to the cart as it is now.
        return add_item(cart, user_id, product_id, quantity, again=False)
    except Exception:
        db.session.rollback()
        raise
    return cart


def set_quantity(cart: Cart, product_id: int, quantity: int) -> None:
    """Set a line's quantity; zero removes it."""
    line = next((line for line in cart.lines if line.product_id == product_id), None)
    if line is None:
        raise ProductUnavailable("That item is not in your cart.")
    if quantity == 0:
        cart.lines.remove(line)
    else:
        _check_quantity(line.product, quantity)  # raises before anything changed
        line.quantity = quantity
    _commit_unless_taken()


def _commit_unless_taken() -> None:
    """Commit a change to the cart's lines; ProductUnavailable if an order took them meanwhile."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise ProductUnavailable(_LINE_TAKEN) from None


def remove_item(cart: Cart, product_id: int) -> bool:
    """Take a product out of the cart; say whether it was there (gone already is no error)."""
    kept = [line for line in cart.lines if line.product_id != product_id]
    removed = len(kept) != len(cart.lines)
    cart.lines[:] = kept
    try:
        db.session.commit()
    except StaleDataError:
        # An order placed meanwhile took the lines: the item is out of the cart either way.
        db.session.rollback()
    return removed


def adopt_guest_cart(token: str | None, user_id: int) -> None:
    """On sign-in, fold the guest cart into the account's cart, keeping the larger quantities."""
    guest = find_cart(token, None)
    if guest is None:
        return
    own = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    if own is None:
        guest.user_id = user_id
    else:
        quantities = {line.product_id: line for line in own.lines}
        for line in guest.lines:
            mine = quantities.get(line.product_id)
            if mine is None:
                own.lines.append(CartLine(product_id=line.product_id, quantity=line.quantity))
            else:
                mine.quantity = max(mine.quantity, line.quantity)
        db.session.delete(guest)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def put_back(cart: Cart | None, user_id: int | None, items: list[tuple[int, int]]) -> Cart:
    """Return (product_id, quantity) pairs to a cart, as far as the products are still sold."""
    cart = cart or _new_cart(user_id)
    existing = {line.product_id: line for line in cart.lines}
    for product_id, quantity in items:
        if catalog.product_for_sale(product_id) is None:
            continue
        line = existing.get(product_id)
        if line is None:
            cart.lines.append(CartLine(product_id=product_id, quantity=quantity))
        else:
            line.quantity = min(line.quantity + quantity, MAX_QUANTITY_PER_LINE)
    db.session.flush()
    return cart


def apply_discount(cart: Cart, code: str, email: str | None = None) -> DiscountCode:
    """Put a code on the cart when it applies to its items now; DiscountRefused says why not."""
    subtotal = sum(line.line_total for line in priced_lines(cart))
    return discounts.apply_to_cart(cart, code, subtotal, store_context().currency, email)


def remove_discount(cart: Cart) -> bool:
    """Take the code off the cart; say whether there was one."""
    return discounts.remove_from_cart(cart)


@dataclass(frozen=True)
class CartSummary:
    """A cart as the pages show it: each line with its price, and the totals."""

    rows: list[tuple[CartLine, PricedLine]]
    totals: Breakdown | None
    # Why the code on the cart gives nothing right now ("expired"), when it does not.
    discount_note: str | None = None
    # The context the totals were priced in (the discount's code, the shipping method's name).
    context: PricingContext | None = None
    # Why Stripe would refuse to charge this total (above zero, below its minimum), if it would.
    minimum_note: str | None = None

    @property
    def lines(self) -> list[PricedLine]:
        return [priced for _, priced in self.rows]


def summarize(
    cart: Cart | None,
    context: PricingContext | None = None,
    *,
    country: str | None = None,
    shipping_code: str | None = None,
    email: str | None = None,
) -> CartSummary:
    """Price a cart (possibly none) at today's database prices, in the shop's context.

    The code on the cart is checked again each time: one that no longer applies is left out
    of the totals and `discount_note` says why; a shipping method that does not serve the
    country is left out too (the checkout form says so).
    """
    if cart is None or not cart.lines:
        return CartSummary(rows=[], totals=None)
    lines = priced_lines(cart)
    note = None
    if context is None:
        subtotal = sum(line.line_total for line in lines)
        if shipping_code:
            try:
                store_context(country, shipping_code, subtotal=subtotal)
            except ShippingUnavailable:
                shipping_code = None
        try:
            context = store_context(country, shipping_code, cart.discount_code, email,
                                    subtotal=subtotal)
        except DiscountRefused as exc:
            note = f"The code {cart.discount_code} does not apply: {exc}."
            context = store_context(country, shipping_code, subtotal=subtotal)
    totals = price(lines, context)
    try:
        refuse_unchargeable(totals.total, totals.currency, "cart",
                                    discounted=totals.discount > 0)
        minimum_note = None
    except UnchargeableTotal as exc:
        minimum_note = str(exc)
    return CartSummary(
        rows=list(zip(cart.lines, lines, strict=True)), totals=totals,
        discount_note=note, context=context, minimum_note=minimum_note,
    )


def priced_lines(cart: Cart, lines: list[CartLine] | None = None) -> list[PricedLine]:
    """The cart's lines (or `lines` taken from it) at today's database prices."""
    return [
        PricedLine(line.product.sku, line.product.title, line.product.price, line.quantity)
        for line in (cart.lines if lines is None else lines)
    ]
