"""Rate limits on the forms attackers hammer: sign-in, sign-up, password reset, placing an order
and discount codes (Flask-Limiter).

One Limiter per app rather than a module global: its switch and its storage belong to the app,
so a test can build an app with limits on beside the suite's app, which has them off.
"""

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, render_template, request
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

# endpoint → the setting with its per-address limit; only POSTs (attempts) count.
LIMITED_POSTS = {
    "account.login": "RATE_LIMIT_SIGN_IN",
    "account.register": "RATE_LIMIT_REGISTER",
    "account.forgot_password": "RATE_LIMIT_PASSWORD_RESET",
    # Each may mail the buyer, like a password reset.
    "order_links.request_new_link": "RATE_LIMIT_PASSWORD_RESET",
    "checkout.place": "RATE_LIMIT_CHECKOUT",
    "cart.apply_discount": "RATE_LIMIT_DISCOUNT",
}
CHANGE_PASSWORD = "account.change_password"
EXTENSION = "rate_limiter"
# Seconds to wait for the limits' Redis before counting in memory instead.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
# How often one Checkout Session may be looked up at Stripe for a page that shows it: the
# waiting page refreshes every 3 s; reloads beyond that are answered from the database.
PROVIDER_CHECK = parse("1 per 2 seconds")


# An IPv6 host gets a whole /64 from its provider: one address per attempt would be free.
IPV6_CLIENT_PREFIX = 64


def client_key(address: str | None) -> str:
    """The client a limit counts `address` as: an IPv4 address, or an IPv6 address's /64.

    An IPv4 peer seen through a dual-stack socket (::ffff:a.b.c.d) is that IPv4 address.
    """
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


def client_address() -> str:
    """The client a limit counts against: the peer, or what TRUSTED_PROXY_COUNT proxies said."""
    return client_key(request.remote_addr)


def sign_in_address() -> str:
    """The e-mail address a sign-in tries, folded as accounts are looked up, as a digest.

    A digest, not the address: the key is stored in Redis and named in the limiter's log line
    when the limit trips, and neither should hold who tried to sign in.
    """
    email = request.form.get("email", "").strip().lower()
    return "email:" + hashlib.sha256(email.encode(errors="replace")).hexdigest()[:32]


def signed_in_account() -> str:
    """The account a password change is made on (signed out: nobody, and never counted)."""
    return f"account:{current_user.get_id() or '-'}"


def _right_current_password(response: Response) -> bool:
    # The change form answers 422 to a wrong current password (and to a bad new one).
    return response.status_code != 422


def _signed_in(response: Response) -> bool:
    # A sign-in that worked redirects (303); every other answer is a failed attempt.
    return response.status_code == 303


def _give_back_when(worked: Callable[[Response], bool], view: Callable) -> Callable:
    """Let `view`'s limits count only failures: an attempt that worked is given back.

    Every attempt is counted before it runs (one atomic increment per limit), so a burst of
    requests sent at once meets the limit one by one. Counting failures only after the
    answer, as Flask-Limiter's deduct_when does, checked each request of a burst against the
    count from before it: twenty guesses at once were twenty guesses.
    """

    @functools.wraps(view)
    def run(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))
        if request.method == "POST" and worked(response):
            _give_back_this_attempt()
        return response

    return run


def _give_back_this_attempt() -> None:
    limiter = current_app.extensions[EXTENSION]
    if not limiter.enabled:
        return
    try:
        storage = limiter.limiter.storage
        for counted in limiter.current_limits:
            # Fixed windows (the limiter's strategy) are counters: take this request's one off.
            storage.incr(counted.key, counted.limit.get_expiry(), amount=-1)
    except Exception:
        log.exception("the rate-limit store failed; a successful attempt stays counted")


def init_rate_limits(app: Flask) -> None:
    """Trust the configured proxies, bind a Limiter, limit the forms, add the 429 page."""
    proxies = app.config.get("TRUSTED_PROXY_COUNT", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    # An unreachable Redis must not turn sign-in into a 500: count in memory until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "checkout")
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("redis"):
        # With redis-py's 5 s timeouts a Redis that stops answering (stuck, its host gone)
        # held every limited form 5 to 10 s, every time: fail fast, count in memory.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", REDIS_TIMEOUTS)
    # Giving an attempt back takes one off a counter: fixed windows are counters.
    app.config["RATELIMIT_STRATEGY"] = "fixed-window"
    limiter = Limiter(client_address, app=app)
    app.extensions[EXTENSION] = limiter

    for endpoint, setting in LIMITED_POSTS.items():
        view = app.view_functions[endpoint]
        view = limiter.limit(app.config[setting], methods=["POST"])(view)
        if endpoint == "account.login":
            view = limiter.limit(
                app.config["RATE_LIMIT_SIGN_IN_EMAIL"], key_func=sign_in_address,
                methods=["POST"], scope="sign-in-email",
            )(view)
            view = _give_back_when(_signed_in, view)
        app.view_functions[endpoint] = view

    # Whoever finds a signed-in browser could guess its owner's password on the change form
    # (and use it elsewhere): it gets the sign-in limits, per address and per account.
    view = app.view_functions[CHANGE_PASSWORD]
    view = limiter.limit(app.config["RATE_LIMIT_SIGN_IN"], methods=["POST"])(view)
    view = limiter.limit(
        app.config["RATE_LIMIT_SIGN_IN_EMAIL"], key_func=signed_in_account, methods=["POST"],
        scope="change-password-account",
    )(view)
    app.view_functions[CHANGE_PASSWORD] = _give_back_when(_right_current_password, view)

    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def may_ask_provider(what: str, secret: str) -> bool:
    """Say whether a page may ask Stripe about `secret` (a session id) now, and count it.

    Stripe limits requests per account: a page that asked on every load would let one
    visitor's reloads starve everyone's checkouts. Kept under a digest (a session id is a
    bearer secret); limits switched off or their store failing: yes.
    """
    limiter = current_app.extensions[EXTENSION]
    if not limiter.enabled:
        return True
    key = hashlib.sha256(secret.encode(errors="replace")).hexdigest()[:32]
    try:
        return limiter.limiter.hit(PROVIDER_CHECK, "provider-check", what, key)
    except Exception:
        log.exception("the rate-limit store failed; asking Stripe anyway")
        return True


def _wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(minutes / 60)} hours"


def seconds_until_retry() -> int:
    """How long until the limit this request broke lets the next attempt through."""
    limit = current_app.extensions[EXTENSION].current_limit
    reset_at = limit.reset_at if limit is not None else time.time() + 60
    return max(1, math.ceil(reset_at - time.time()))


def _too_many_requests(error: RateLimitExceeded):
    """Answer a broken limit with the shop's page saying when to try again, and Retry-After."""
    wait = seconds_until_retry()
    retry_at = datetime.fromtimestamp(time.time() + wait, UTC)
    page = render_template(
        "errors/rate_limited.html", wait=_wait_words(wait), retry_at=retry_at,
    )
    return page, 429, {"Retry-After": str(wait)}
