"""The hosted payment page a Checkout Session's `url` points to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from stripe_sandbox.errors import StripeError
from stripe_sandbox.money import format_amount
from stripe_sandbox.payments import PaymentResult
from stripe_sandbox.sandbox import Sandbox

bp = Blueprint("page", __name__)

TEST_CARDS = [
    ("4242 4242 4242 4242", "Succeeds"),
    ("4000 0000 0000 0002", "Declined"),
    ("4000 0000 0000 9995", "Insufficient funds"),
    ("4000 0025 0000 3155", "3-D Secure challenge"),
    ("4000 0000 0000 0259", "Succeeds, then disputed"),
    ("4000 0000 0000 5126", "Succeeds; refunds fail"),
]


def _sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


def _render(session: dict[str, Any], *, status: int = 200, result: PaymentResult | None = None,
            form: dict[str, str] | None = None) -> tuple[str, int]:
    sandbox = _sandbox()
    currency = session["currency"]
    _, extra_items = sandbox.line_items_for_page(session["id"])
    lines = [{"name": item["description"], "quantity": item["quantity"],
              "unit": format_amount(item["price"]["unit_amount"], currency),
              "amount": format_amount(item["amount_subtotal"], currency)}
             for item in extra_items]
    details = session["total_details"]
    # The rows between the items and the total, as Stripe's page shows them.
    rows = [("Subtotal", session["amount_subtotal"]),
            ("Discount", -details["amount_discount"]),
            ("Shipping", details["amount_shipping"]),
            ("Tax", details["amount_tax"])]
    summary = [(label, format_amount(amount, currency)) for label, amount in rows
               if amount or label == "Subtotal"] if any(a for _, a in rows[1:]) else []
    html = render_template(
        "pay.html",
        summary=summary,
        store_name=sandbox.display_name,
        session=session,
        lines=lines,
        total=format_amount(session["amount_total"], currency),
        currency=currency.upper(),
        result=result,
        errors=result.field_errors if result else {},
        form=form or {},
        test_cards=TEST_CARDS,
        success_link=sandbox.success_redirect(session),
        pay_url=url_for("page.pay_submit", session_id=session["id"]),
    )
    return html, status


@bp.get("/pay/<session_id>")
def pay_page(session_id: str) -> tuple[str, int]:
    """Show the payment page, or say the session is expired or complete."""
    sandbox = _sandbox()
    try:
        session = sandbox.refresh_session(session_id)
    except StripeError:
        return render_template("missing.html", store_name=sandbox.display_name), 404
    return _render(session)


@bp.post("/pay/<session_id>")
def pay_submit(session_id: str) -> tuple[str, int] | WerkzeugResponse:
    """Take the card (or bank debit) the shopper submitted and pay the session."""
    sandbox = _sandbox()
    form = {name: request.form.get(name, "") for name in ("email", "name", "number", "exp")}
    try:
        result = sandbox.pay(
            session_id, form["number"], form["name"],
            method="bank_debit" if request.form.get("method") == "bank_debit" else "card",
            exp=form["exp"], cvc=request.form.get("cvc", ""), email=form["email"] or None)
    except StripeError:
        return render_template("missing.html", store_name=sandbox.display_name), 404
    if result.outcome == "requires_action":
        return redirect(url_for("page.challenge", session_id=session_id), code=303)
    if result.ok:
        if result.redirect_url:
            return redirect(result.redirect_url, code=303)
        return redirect(url_for("page.pay_page", session_id=session_id), code=303)
    # Never echo the card number or CVC back into the page.
    form["number"] = ""
    status = {"invalid": 422, "declined": 402}.get(result.outcome, 200)
    return _render(result.session, status=status, result=result, form=form)



@bp.get("/pay/<session_id>/authenticate")
def challenge(session_id: str) -> tuple[str, int] | WerkzeugResponse:
    """Show the 3-D Secure challenge step of a payment waiting for it."""
    sandbox = _sandbox()
    try:
        session = sandbox.refresh_session(session_id)
        pending = sandbox.challenge_pending(session_id)
    except StripeError:
        return render_template("missing.html", store_name=sandbox.display_name), 404
    if not pending:
        return redirect(url_for("page.pay_page", session_id=session_id), code=303)
    return _render_challenge(session), 200


def _render_challenge(session: dict[str, Any]) -> str:
    return render_template(
        "challenge.html", store_name=_sandbox().display_name, session=session,
        total=format_amount(session["amount_total"], session["currency"]),
        action=url_for("page.challenge_submit", session_id=session["id"]))


@bp.post("/pay/<session_id>/authenticate")
def challenge_submit(session_id: str) -> tuple[str, int] | WerkzeugResponse:
    """Complete or fail the challenge, then pay or go back to the card form."""
    sandbox = _sandbox()
    outcome = request.form.get("outcome")
    if outcome not in ("complete", "fail"):
        return redirect(url_for("page.challenge", session_id=session_id), code=303)
    try:
        result = sandbox.authenticate(session_id, outcome == "complete")
    except StripeError as error:
        if error.status == 404:
            return render_template("missing.html", store_name=sandbox.display_name), 404
        # Nothing waits for authentication (answered already, in another tab): show the page.
        return redirect(url_for("page.pay_page", session_id=session_id), code=303)
    if result.ok or result.outcome == "closed":
        return redirect(result.redirect_url
                        or url_for("page.pay_page", session_id=session_id), code=303)
    status = 402 if result.outcome == "declined" else 200
    return _render(result.session, status=status, result=result)
