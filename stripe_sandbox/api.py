"""Stripe's HTTP API (`/v1/…`) for the endpoints a Checkout integration uses."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from stripe_sandbox.errors import StripeError
from stripe_sandbox.events import RequestInfo
from stripe_sandbox.ids import new_id
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.params import expand_list, parse_form, parse_query, reject_unknown
from stripe_sandbox.sandbox import Sandbox
from stripe_sandbox.store import dumps

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

Handler = Callable[[dict[str, Any], RequestInfo], Any]


def sandbox() -> Sandbox:
    """Return this app's sandbox."""
    return current_app.extensions["sandbox"]


def json_response(status: int, text: str, headers: dict[str, str]) -> Response:
    return Response(text, status=status, headers=headers,
                    content_type="application/json")


def authenticate() -> None:
    """Accept exactly the configured Bearer key, as Stripe answers a wrong one."""
    auth = request.headers.get("Authorization", "")
    if not auth:
        raise StripeError(401, "invalid_request_error",
                          "You did not provide an API key. You need to provide your API key in "
                          "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                          "Bearer YOUR_SECRET_KEY').")
    scheme, _, key = auth.partition(" ")
    expected = sandbox().api_key
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(),
                                                             expected.encode()):
        shown = key.strip()
        masked = shown[:8] + "*" * max(0, len(shown) - 12) + shown[-4:] if shown else ""
        raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {masked}")


def _params() -> dict[str, Any]:
    if request.method == "POST":
        return parse_form(request.get_data(cache=True))
    return parse_query(request.query_string.decode("latin-1"))


def dispatch(handler: Handler) -> Response:
    """Run one API call with Stripe's auth, errors, headers and idempotency."""
    sb = sandbox()
    request_id = new_id("req")
    headers = {"Request-Id": request_id,
               "Stripe-Version": request.headers.get("Stripe-Version") or API_VERSION}
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    if key:
        headers["Idempotency-Key"] = key
    try:
        authenticate()
        params = _params()
        if key and len(key) > 255:
            raise StripeError.invalid("Idempotency keys can be at most 255 characters long.",
                                      code=None)
        # Printable: a NUL cannot even be looked up in PostgreSQL.
        if key and not key.isprintable():
            raise StripeError.invalid("Idempotency keys must be printable characters.",
                                      code=None)
        stored = (sb.idempotency_begin(key, f"POST {request.path}",
                                       params) if key else None)
    except StripeError as error:
        if error.status == 409:
            headers["Stripe-Should-Retry"] = "true"
        return json_response(error.status, dumps(error.body()), headers)
    except ValueError as error:  # input the parser could not read at all; never an HTML 500
        return json_response(400, dumps(StripeError.invalid(f"Invalid request: {error}",
                                                    code=None).body()), headers)
    if stored is not None:
        status, text, original = stored
        headers["Idempotent-Replayed"] = "true"
        if original:
            headers["Original-Request"] = original
        return json_response(status, text, headers)

    try:
        status, text = 200, dumps(handler(params, RequestInfo(request_id, key)))
    except StripeError as error:
        status, text = error.status, dumps(error.body())
    except ValueError as error:  # input no validator caught: the caller's fault, not a retry
        log.warning("sandbox API %s %s: unreadable input", request.method, request.path,
                    exc_info=True)
        status, text = 400, dumps(StripeError.invalid(f"Invalid request: {error}",
                                                      code=None).body())
    except Exception:
        log.exception("sandbox API %s %s failed", request.method, request.path)
        status = 500
        text = dumps(StripeError(500, "api_error", "An unknown error occurred in the sandbox."
                                 ).body())
        headers["Stripe-Should-Retry"] = "true"
    if key:
        # Stripe saves the response once the endpoint ran (5xx included) but nothing for a
        # request that failed validation, so a corrected retry can reuse the key.
        keep = status < 400 or status >= 500 or status == 402
        sb.idempotency_finish(key, status if keep else None, text, request_id)
    return json_response(status, text, headers)


def _get_only(params: dict[str, Any], *allowed: str) -> list[str]:
    reject_unknown(params, {"expand", *allowed})
    return expand_list(params)


@bp.post("/v1/checkout/sessions")
def create_session() -> Response:
    """Create a Checkout Session."""
    return dispatch(lambda params, req: sandbox().create_session(params, req))


@bp.get("/v1/checkout/sessions")
def list_sessions() -> Response:
    """List Checkout Sessions."""
    return dispatch(lambda params, req: sandbox().list_sessions(params))


@bp.get("/v1/checkout/sessions/<session_id>")
def retrieve_session(session_id: str) -> Response:
    """Retrieve a Checkout Session."""
    return dispatch(lambda params, req: sandbox().retrieve_session(
        session_id, _get_only(params)))


@bp.get("/v1/checkout/sessions/<session_id>/line_items")
def list_line_items(session_id: str) -> Response:
    """List a Checkout Session's line items."""
    return dispatch(lambda params, req: sandbox().list_line_items(session_id, params))


@bp.post("/v1/checkout/sessions/<session_id>/expire")
def expire_session(session_id: str) -> Response:
    """Expire an open Checkout Session."""
    return dispatch(lambda params, req: sandbox().expire_session(
        session_id, req, _get_only(params)))


@bp.get("/v1/payment_intents/<pi_id>")
def retrieve_payment_intent(pi_id: str) -> Response:
    """Retrieve a PaymentIntent."""
    return dispatch(lambda params, req: sandbox().retrieve_payment_intent(
        pi_id, _get_only(params, "client_secret")))


@bp.post("/v1/refunds")
def create_refund() -> Response:
    """Create a Refund."""
    return dispatch(lambda params, req: sandbox().create_refund(params, req))


@bp.get("/v1/refunds")
def list_refunds() -> Response:
    """List Refunds."""
    return dispatch(lambda params, req: sandbox().list_refunds(params))


@bp.get("/v1/charges/<charge_id>")
def retrieve_charge(charge_id: str) -> Response:
    """Retrieve a Charge."""
    return dispatch(lambda params, req: sandbox().retrieve_charge(
        charge_id, _get_only(params)))


@bp.get("/v1/disputes/<dispute_id>")
def retrieve_dispute(dispute_id: str) -> Response:
    """Retrieve a Dispute."""
    return dispatch(lambda params, req: sandbox().retrieve_dispute(
        dispute_id, _get_only(params)))


@bp.get("/v1/refunds/<refund_id>")
def retrieve_refund(refund_id: str) -> Response:
    """Retrieve a Refund."""
    return dispatch(lambda params, req: sandbox().retrieve_refund(
        refund_id, _get_only(params)))


@bp.post("/v1/coupons")
def create_coupon() -> Response:
    """Create a Coupon."""
    return dispatch(lambda params, req: sandbox().create_coupon(params))


@bp.get("/v1/coupons/<coupon_id>")
def retrieve_coupon(coupon_id: str) -> Response:
    """Retrieve a Coupon."""
    return dispatch(lambda params, req: sandbox().retrieve_coupon(coupon_id, params))


@bp.post("/v1/tax_rates")
def create_tax_rate() -> Response:
    """Create a Tax Rate."""
    return dispatch(lambda params, req: sandbox().create_tax_rate(params))


@bp.get("/v1/tax_rates/<tax_rate_id>")
def retrieve_tax_rate(tax_rate_id: str) -> Response:
    """Retrieve a Tax Rate."""
    return dispatch(lambda params, req: sandbox().retrieve_tax_rate(tax_rate_id, params))


@bp.post("/v1/shipping_rates")
def create_shipping_rate() -> Response:
    """Create a Shipping Rate."""
    return dispatch(lambda params, req: sandbox().create_shipping_rate(params))


@bp.get("/v1/shipping_rates/<shipping_rate_id>")
def retrieve_shipping_rate(shipping_rate_id: str) -> Response:
    """Retrieve a Shipping Rate."""
    return dispatch(lambda params, req: sandbox().retrieve_shipping_rate(
        shipping_rate_id, params))


@bp.get("/v1/events")
def list_events() -> Response:
    """List Events."""
    return dispatch(lambda params, req: sandbox().list_events(params))


@bp.get("/v1/events/<event_id>")
def retrieve_event(event_id: str) -> Response:
    """Retrieve an Event."""
    return dispatch(lambda params, req: _no_expand(params) or sandbox().retrieve_event(event_id))


def _no_expand(params: dict[str, Any]) -> None:
    if _get_only(params):
        raise StripeError.invalid("This property cannot be expanded.", param="expand", code=None)


@bp.route("/v1/<path:rest>", methods=["GET", "POST", "DELETE"])
def unknown_endpoint(rest: str) -> Response:
    """Answer an endpoint the sandbox does not serve the way Stripe answers an unknown URL."""

    def fail(params: dict[str, Any], req: RequestInfo) -> Any:
        raise StripeError(404, "invalid_request_error",
                          f"Unrecognized request URL ({request.method}: /v1/{rest}). The "
                          "sandbox serves only the Checkout endpoints.")

    return dispatch(fail)
