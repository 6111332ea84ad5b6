"""Sandbox-only controls over HTTP, in the spirit of `stripe trigger` / `stripe events resend`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from stripe_sandbox.api import authenticate, json_response, sandbox
from stripe_sandbox.clock import control_seconds
from stripe_sandbox.errors import StripeError
from stripe_sandbox.params import as_int, parse_form, parse_query
from stripe_sandbox.store import dumps

bp = Blueprint("controls", __name__, url_prefix="/_controls")


def control(handler: Callable[[dict[str, Any]], Any]) -> Response:
    """Run one control call behind the same Bearer key; answer JSON."""
    try:
        authenticate()
        params = {**parse_query(request.query_string.decode("latin-1")),
                  **(request.get_json(silent=True) or {}),
                  **(parse_form(request.get_data(cache=True))
                     if request.mimetype == "application/x-www-form-urlencoded" else {})}
        result = handler(params)
    except StripeError as error:
        return json_response(error.status, dumps(error.body()), {})
    except (ValueError, TypeError, OverflowError) as error:
        return json_response(400, dumps(StripeError.invalid(str(error)).body()), {})
    return json_response(200, dumps(result), {})


def _seconds(params: dict[str, Any], default: int) -> int:
    """Read a control's `seconds` from JSON (an integer) or a form/query (ASCII digits)."""
    value = params.get("seconds", default)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        value = int(value)
    return control_seconds(value)


def _flag(value: Any) -> bool:
    return value in (True, "true", "1", 1, "yes")


@bp.post("/deliver")
def control_deliver() -> Response:
    """Deliver every due event now."""
    return control(lambda p: [r.as_dict() for r in sandbox().deliver_pending()])


@bp.get("/clock")
def control_clock() -> Response:
    """Show the sandbox clock."""
    return control(lambda p: {"now": sandbox().now()})


@bp.post("/clock/advance")
def control_advance_clock() -> Response:
    """Move the sandbox clock forward by `seconds`."""
    return control(lambda p: {"now": sandbox().advance_clock(_seconds(p, 0))})


@bp.post("/clock/reset")
def control_reset_clock() -> Response:
    """Put the sandbox clock back on the wall clock."""
    return control(lambda p: {"now": sandbox().reset_clock()})


@bp.post("/sessions/<session_id>/pay")
def control_pay(session_id: str) -> Response:
    """Pay a session as the hosted page would (card or bank_debit)."""

    def pay(p: dict[str, Any]) -> dict[str, Any]:
        result = sandbox().pay(session_id, p.get("card", "4242424242424242"),
                               p.get("name", "Test Shopper"), method=p.get("method", "card"),
                               exp=p.get("exp"), cvc=p.get("cvc", "123"), email=p.get("email"),
                               three_d_secure=p.get("three_d_secure") or None)
        return {"outcome": result.outcome, "message": result.message,
                "field_errors": result.field_errors, "redirect_url": result.redirect_url,
                "session": result.session}

    return control(pay)


@bp.post("/sessions/<session_id>/authenticate")
def control_authenticate(session_id: str) -> Response:
    """Answer a pending 3-D Secure challenge: `outcome` complete or fail."""

    def authenticate(p: dict[str, Any]) -> dict[str, Any]:
        outcome = p.get("outcome")
        if outcome not in ("complete", "fail"):
            raise StripeError.invalid("outcome must be 'complete' or 'fail'", param="outcome")
        result = sandbox().authenticate(session_id, outcome == "complete")
        return {"outcome": result.outcome, "message": result.message,
                "redirect_url": result.redirect_url, "session": result.session}

    return control(authenticate)


@bp.post("/settle")
def control_settle() -> Response:
    """Settle a bank-debit payment as succeeded (default) or failed."""
    return control(lambda p: sandbox().settle_async(
        str(p.get("target", "")), _flag(p.get("succeeded", True))))


def _amount(params: dict[str, Any]) -> int | None:
    """Read an optional control amount from JSON (an integer) or a form/query (digits)."""
    value = params.get("amount")
    if value in (None, ""):
        return None
    return as_int(value, "amount", minimum=1)


@bp.post("/refunds")
def control_dashboard_refund() -> Response:
    """Refund a PaymentIntent or charge (`target`) as from the Dashboard, all or `amount`."""
    return control(lambda p: sandbox().dashboard_refund(p.get("target"), _amount(p)))


@bp.post("/disputes")
def control_open_dispute() -> Response:
    """Open a fraudulent dispute on a succeeded charge or PaymentIntent (`target`)."""
    return control(lambda p: sandbox().open_dispute(p.get("target")))


@bp.post("/endpoint_down")
def control_endpoint_down() -> Response:
    """Make the webhook endpoints answer 503 for `seconds`."""
    return control(lambda p: {"down_until": sandbox().set_endpoint_down(_seconds(p, 60))})


@bp.post("/events/<event_id>/resend")
def control_resend(event_id: str) -> Response:
    """Queue an event for delivery again."""
    return control(lambda p: {"resent": sandbox().resend(event_id)})


@bp.get("/events")
def control_events() -> Response:
    """List every event, oldest first."""
    return control(lambda p: sandbox().events(p.get("type")))


@bp.get("/attempts")
def control_attempts() -> Response:
    """Show the delivery attempt log."""
    return control(lambda p: [a.as_dict() for a in sandbox().delivery_attempts(
        p.get("event_id"))])
