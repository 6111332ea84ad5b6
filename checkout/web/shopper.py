"""The shopper's cart as the browser knows it: a cookie for guests, the account otherwise."""

from flask import Flask, Response, g, request
from flask_login import current_user

from checkout.models import Cart
from checkout.services import cart as carts

CART_COOKIE = "cart"
CART_COOKIE_AGE = 60 * 60 * 24 * 30


def user_id() -> int | None:
    """The signed-in shopper's id, or None for a guest."""
    return current_user.id if current_user.is_authenticated else None


def current_cart() -> Cart | None:
    """The cart this request belongs to, if there is one."""
    if "cart" not in g:
        g.cart = carts.find_cart(request.cookies.get(CART_COOKIE), user_id())
    return g.cart


def remember_cart(cart: Cart | None) -> None:
    """Make sure the browser keeps pointing at this cart."""
    g.cart = cart
    if cart is not None and cart.user_id is None:
        g.cart_cookie = cart.token


def init_cart_cookie(app: Flask) -> None:
    """Keep the guest cart cookie set and the cart count in every template."""
    @app.after_request
    def _set_cart_cookie(response: Response) -> Response:
        token = g.pop("cart_cookie", None)
        if token and request.cookies.get(CART_COOKIE) != token:
            response.set_cookie(
                CART_COOKIE,
                token,
                max_age=CART_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
        return response

    @app.context_processor
    def _cart_count() -> dict:
        cart = current_cart()
        return {"cart_count": sum(line.quantity for line in cart.lines) if cart else 0}
