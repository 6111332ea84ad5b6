"""Stripe's HTTP API for the endpoints the shop uses, plus the sandbox-only controls."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from checkout.sandbox.core import PREFIX, RequestInfo, Sandbox, control_seconds
from checkout.sandbox.errors import StripeError
from checkout.sandbox.ids import new_id
from checkout.sandbox.objects import API_VERSION
from checkout.sandbox.params import expand_list, parse_form, parse_query, reject_unknown
from checkout.sandbox.store import dumps

log = logging.getLogger(__name__)

bp = Blueprint("sandbox_api", __name__, url_prefix=PREFIX)

Handler = Callable[[dict[str, Any], RequestInfo], Any]


def sandbox() -> Sandbox:
    """Return this app's sandbox."""
    return current_app.extensions["sandbox"]


def _json(status: int, text: str, headers: dict[str, str]) -> Response:
    return Response(text, status=status, headers=headers,
                    content_type="application/json")


def _authenticate() -> None:
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
        _authenticate()
        params = _params()
        if key and len(key) > 255:
            raise StripeError.invalid("Idempotency keys can be at most 255 characters long.",
                                      code=None)
        stored = (sb.idempotency_begin(key, f"POST {request.path.removeprefix(PREFIX)}",
                                       params) if key else None)
    except StripeError as error:
        if error.status == 409:
            headers["Stripe-Should-Retry"] = "true"
        return _json(error.status, dumps(error.body()), headers)
    except ValueError as error:  # input the parser could not read at all; never an HTML 500
        return _json(400, dumps(StripeError.invalid(f"Invalid request: {error}",
                                                    code=None).body()), headers)
    if stored is not None:
        status, text, original = stored
        headers["Idempotent-Replayed"] = "true"
        if original:
            headers["Original-Request"] = original
        return _json(status, text, headers)

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
    return _json(status, text, headers)


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


@bp.get("/v1/refunds/<refund_id>")
def retrieve_refund(refund_id: str) -> Response:
    """Retrieve a Refund."""
    return dispatch(lambda params, req: sandbox().retrieve_refund(
        refund_id, _get_only(params)))


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
                          "sandbox serves only the endpoints the shop uses.")

    return dispatch(fail)


# Controls: sandbox-only, in the spirit of `stripe trigger` and `stripe events resend`. --------


def control(handler: Callable[[dict[str, Any]], Any]) -> Response:
    """Run one control call behind the same Bearer key; answer JSON."""
    try:
        _authenticate()
        params = {**parse_query(request.query_string.decode("latin-1")),
                  **(request.get_json(silent=True) or {}),
                  **(parse_form(request.get_data(cache=True))
                     if request.mimetype == "application/x-www-form-urlencoded" else {})}
        result = handler(params)
    except StripeError as error:
        return _json(error.status, dumps(error.body()), {})
    except (ValueError, TypeError, OverflowError) as error:
        return _json(400, dumps(StripeError.invalid(str(error)).body()), {})
    return _json(200, dumps(result), {})


def _seconds(params: dict[str, Any], default: int) -> int:
    """Read a control's `seconds` from JSON (an integer) or a form/query (ASCII digits)."""
    value = params.get("seconds", default)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        value = int(value)
    return control_seconds(value)


def _flag(value: Any) -> bool:
    return value in (True, "true", "1", 1, "yes")


@bp.post("/_controls/deliver")
def control_deliver() -> Response:
    """Deliver every due event now."""
    return control(lambda p: [r.as_dict() for r in sandbox().deliver_pending()])


@bp.get("/_controls/clock")
def control_clock() -> Response:
    """Show the sandbox clock."""
    return control(lambda p: {"now": sandbox().now()})


@bp.post("/_controls/clock/advance")
def control_advance_clock() -> Response:
    """Move the sandbox clock forward by `seconds`."""
    return control(lambda p: {"now": sandbox().advance_clock(_seconds(p, 0))})


@bp.post("/_controls/clock/reset")
def control_reset_clock() -> Response:
    """Put the sandbox clock back on the wall clock."""
    return control(lambda p: {"now": sandbox().reset_clock()})


@bp.post("/_controls/sessions/<session_id>/pay")
def control_pay(session_id: str) -> Response:
    """Pay a session as the hosted page would (card or bank_debit)."""

    def pay(p: dict[str, Any]) -> dict[str, Any]:
        result = sandbox().pay(session_id, p.get("card", "4242424242424242"),
                               p.get("name", "Test Shopper"), method=p.get("method", "card"),
                               exp=p.get("exp"), cvc=p.get("cvc", "123"), email=p.get("email"))
        return {"outcome": result.outcome, "message": result.message,
                "field_errors": result.field_errors, "redirect_url": result.redirect_url,
                "session": result.session}

    return control(pay)


@bp.post("/_controls/settle")
def control_settle() -> Response:
    """Settle a bank-debit payment as succeeded (default) or failed."""
    return control(lambda p: sandbox().settle_async(
        str(p.get("target", "")), _flag(p.get("succeeded", True))))


@bp.post("/_controls/endpoint_down")
def control_endpoint_down() -> Response:
    """Make the webhook endpoints answer 503 for `seconds`."""
    return control(lambda p: {"down_until": sandbox().set_endpoint_down(_seconds(p, 60))})


@bp.post("/_controls/events/<event_id>/resend")
def control_resend(event_id: str) -> Response:
    """Queue an event for delivery again."""
    return control(lambda p: {"resent": sandbox().resend(event_id)})


@bp.get("/_controls/events")
def control_events() -> Response:
    """List every event, oldest first."""
    return control(lambda p: sandbox().events(p.get("type")))


@bp.get("/_controls/attempts")
def control_attempts() -> Response:
    """Show the delivery attempt log."""
    return control(lambda p: [a.as_dict() for a in sandbox().delivery_attempts(
        p.get("event_id"))])
