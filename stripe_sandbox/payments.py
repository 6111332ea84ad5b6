"""Payment Intents and Charges: paying a session by card or bank debit, and settling debits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert

from stripe_sandbox import cards, clock, disputes, records, sessions
from stripe_sandbox import objects as build
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.events import CUSTOMER_ACTION, emit
from stripe_sandbox.ids import new_id
from stripe_sandbox.store import dumps, objects

Document = dict[str, Any]
ThreeDSecure = Literal["complete", "fail"] | None
AUTH_FAILED = ("The provided PaymentMethod has failed authentication. You can provide "
               "payment_method_data or a new PaymentMethod to attempt to fulfill this "
               "PaymentIntent again.")
AUTH_FAILED_SHOPPER = ("We are unable to authenticate your payment method. Please choose a "
                       "different payment method and try again.")


@dataclass
class PaymentResult:
    """What paying on the hosted page did; the page and `Sandbox.pay` callers read it."""

    outcome: Literal["succeeded", "processing", "requires_action", "declined", "invalid",
                     "expired", "closed"]
    session: Document
    message: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    redirect_url: str | None = None
    decline_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "processing")


def retrieve_intent(ctx: Context, pi_id: str, expand: list[str] | None = None) -> Document:
    """Return a PaymentIntent, optionally with latest_charge expanded."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, "payment_intent", pi_id, "intent")
        return records.expand_ids(conn, body, expand or [], {"latest_charge": "charge"})


def retrieve_charge(ctx: Context, charge_id: str, expand: list[str] | None = None) -> Document:
    """Return a Charge, optionally with payment_intent expanded."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, "charge", charge_id, "charge")
        return records.expand_ids(conn, body, expand or [], {"payment_intent": "payment_intent"})


def _open_session(ctx: Context, conn: Connection, session_id: str, now: int
                  ) -> tuple[Document, Document, PaymentResult | None]:
    """Load a session to pay, expiring it if due; the result says why it cannot be paid."""
    session, extra = records.load(conn, sessions.KIND, session_id, "session")
    if session["status"] == "open" and session["expires_at"] <= now:
        session = sessions.expire(ctx, conn, session, extra, CUSTOMER_ACTION)
    if session["status"] == "expired":
        return session, extra, PaymentResult("expired", session,
                                             "This checkout session has expired.")
    if session["status"] != "open":
        return session, extra, PaymentResult(
            "closed", session, "This checkout session is complete.",
            redirect_url=sessions.success_redirect(session))
    return session, extra, None


def pay(ctx: Context, session_id: str, card: str, name: str, *,
        method: Literal["card", "bank_debit"], exp: str | None, cvc: str,
        email: str | None, three_d_secure: ThreeDSecure = None) -> PaymentResult:
    """Pay a session exactly as submitting the hosted page does.

    A 3-D Secure challenge card stops at `requires_action` unless `three_d_secure` says how
    the shopper answers the challenge.
    """
    if three_d_secure not in (None, "complete", "fail"):
        raise ValueError("three_d_secure must be 'complete' or 'fail'")
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        session, extra, closed = _open_session(ctx, conn, session_id, now)
        if closed is not None:
            return closed
        email = (email or session["customer_email"] or "").strip() or None
        if method == "bank_debit":
            errors = {} if (name or "").strip() else {"name": "Enter the account holder name."}
            if not email:
                errors["email"] = "Enter your email address."
            if errors:
                return PaymentResult("invalid", session, "Check the highlighted fields.",
                                     field_errors=errors)
            if session["amount_total"] == 0:
                return _complete_free(ctx, conn, session, extra, name.strip(), email)
            return _pay_bank_debit(ctx, conn, session, extra, name.strip(), email, now)
        if method != "card":
            raise ValueError(f"unknown payment method {method!r}")
        today = datetime.fromtimestamp(now, UTC)
        if exp is None:
            exp = f"12 / {(today.year + 5) % 100:02d}"
        checked = cards.check_card(card, exp, cvc, name, today_year=today.year,
                                   today_month=today.month)
        if not email:
            checked.errors["email"] = "Enter your email address."
        if checked.errors:
            return PaymentResult("invalid", session, "Check the highlighted fields.",
                                 field_errors=checked.errors)
        if session["amount_total"] == 0:
            return _complete_free(ctx, conn, session, extra, name.strip(), email)
        return _pay_card(ctx, conn, session, extra, checked, name.strip(), email, now,
                         three_d_secure)


def _complete_free(ctx: Context, conn: Connection, session: Document, extra: Document,
                   name: str, email: str | None) -> PaymentResult:
    # Nothing to charge: as Stripe, no PaymentIntent and payment_status no_payment_required.
    session = sessions.complete(conn, session, extra, None, name, email, "no_payment_required")
    emit(ctx, conn, "checkout.session.completed", session, CUSTOMER_ACTION)
    return PaymentResult("succeeded", session, redirect_url=sessions.success_redirect(session))


def _intent_for(conn: Connection, session: Document, extra: Document, method: str, now: int
                ) -> tuple[Document, Document]:
    if extra.get("payment_intent"):
        pi, pi_extra = records.load(conn, "payment_intent", extra["payment_intent"], "intent")
        if method != "card":
            pi = {**pi, "payment_method_types": ["us_bank_account"],
                  "payment_method_options": {}}
        return pi, pi_extra
    pi = build.payment_intent_body(
        pi_id=new_id("pi"), created=now, amount=session["amount_total"],
        currency=session["currency"], metadata=extra.get("pi_metadata", {}), method=method)
    conn.execute(insert(objects).values(
        id=pi["id"], kind="payment_intent", created=now, status=pi["status"],
        body=dumps(pi), extra=dumps({"session": session["id"]})))
    extra["payment_intent"] = pi["id"]
    records.save(conn, session, extra)
    return pi, {"session": session["id"]}


def _pay_card(ctx: Context, conn: Connection, session: Document, extra: Document,
              card: cards.CardInput, name: str, email: str | None, now: int,
              three_d_secure: ThreeDSecure) -> PaymentResult:
    pi, pi_extra = _intent_for(conn, session, extra, "card", now)
    decline = cards.outcome_of(card.number)
    if decline is not None:
        error = {"type": "card_error", "code": decline.code, "message": decline.message,
                 "doc_url": "https://stripe.com/docs/error-codes/"
                 + decline.code.replace("_", "-")}
        if decline.decline_code:
            error["decline_code"] = decline.decline_code
        pi = {**pi, "status": "requires_payment_method", "last_payment_error": error}
        records.save(conn, pi, pi_extra)
        # The session stays open for another try; Stripe sends no checkout.session event.
        emit(ctx, conn, "payment_intent.payment_failed", pi, CUSTOMER_ACTION)
        return PaymentResult("declined", session, decline.message,
                             decline_code=decline.decline_code or decline.code)
    if card.number in cards.CHALLENGE:
        # Only brand and last4 wait for the challenge, as only they are ever kept.
        pi_extra = {**pi_extra, "challenge": {"brand": card.brand, "last4": card.last4,
                                              "name": name, "email": email}}
        pi = {**pi, "status": "requires_action", "last_payment_error": None,
              "next_action": {"type": "use_stripe_sdk",
                              "use_stripe_sdk": {"type": "three_d_secure_redirect"}}}
        records.save(conn, pi, pi_extra)
        emit(ctx, conn, "payment_intent.requires_action", pi, CUSTOMER_ACTION)
        if three_d_secure is None:
            return PaymentResult("requires_action", session)
        return _finish_challenge(ctx, conn, session, extra, pi, pi_extra,
                                 three_d_secure == "complete", now)
    return _charge_card(ctx, conn, session, extra, pi, pi_extra, card.brand, card.last4,
                        name, email, now, refund_fails=card.number == cards.REFUND_FAILS,
                        disputed=card.number == cards.DISPUTED)


def _charge_card(ctx: Context, conn: Connection, session: Document, extra: Document,
                 pi: Document, pi_extra: Document, brand: str, last4: str, name: str,
                 email: str | None, now: int, *, refund_fails: bool = False,
                 disputed: bool = False) -> PaymentResult:
    pi_extra.pop("challenge", None)
    details = build.card_details(brand=brand, last4=last4)
    charge = _new_charge(conn, pi, name, email, details, "succeeded", now,
                         refund_fails=refund_fails)
    pi = {**pi, "status": "succeeded", "amount_received": pi["amount"],
          "latest_charge": charge["id"], "payment_method": charge["payment_method"],
          "last_payment_error": None, "next_action": None}
    records.save(conn, pi, pi_extra)
    session = sessions.complete(conn, session, extra, pi, name, email, "paid")
    emit(ctx, conn, "checkout.session.completed", session, CUSTOMER_ACTION)
    emit(ctx, conn, "payment_intent.succeeded", pi, CUSTOMER_ACTION)
    if disputed:
        disputes.open_on(ctx, conn, charge["id"], CUSTOMER_ACTION)
    return PaymentResult("succeeded", session, redirect_url=sessions.success_redirect(session))


def _finish_challenge(ctx: Context, conn: Connection, session: Document, extra: Document,
                      pi: Document, pi_extra: Document, passed: bool, now: int
                      ) -> PaymentResult:
    if passed:
        held = pi_extra["challenge"]
        return _charge_card(ctx, conn, session, extra, pi, pi_extra, held["brand"],
                            held["last4"], held["name"], held["email"], now)
    pi_extra = {key: value for key, value in pi_extra.items() if key != "challenge"}
    pi = {**pi, "status": "requires_payment_method", "next_action": None,
          "last_payment_error": {
              "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
              "message": AUTH_FAILED,
              "doc_url": "https://stripe.com/docs/error-codes/"
                         "payment-intent-authentication-failure"}}
    records.save(conn, pi, pi_extra)
    # As with a decline, the session stays open for another try.
    emit(ctx, conn, "payment_intent.payment_failed", pi, CUSTOMER_ACTION)
    return PaymentResult("declined", session, AUTH_FAILED_SHOPPER,
                         decline_code="payment_intent_authentication_failure")


def _pending_intent(conn: Connection, extra: Document) -> tuple[Document, Document] | None:
    if not extra.get("payment_intent"):
        return None
    pi, pi_extra = records.load(conn, "payment_intent", extra["payment_intent"], "intent")
    waiting = pi["status"] == "requires_action" and pi_extra.get("challenge")
    return (pi, pi_extra) if waiting else None


def challenge_pending(ctx: Context, session_id: str) -> bool:
    """Say whether a session's payment waits for a 3-D Secure challenge."""
    with ctx.store.read() as conn:
        session, extra = records.load(conn, sessions.KIND, session_id, "session")
        return session["status"] == "open" and _pending_intent(conn, extra) is not None


def authenticate(ctx: Context, session_id: str, passed: bool) -> PaymentResult:
    """Answer a session's pending 3-D Secure challenge: pay it, or fail the attempt."""
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        session, extra, closed = _open_session(ctx, conn, session_id, now)
        if closed is not None:
            return closed
        pending = _pending_intent(conn, extra)
        if pending is None:
            raise StripeError.invalid("No 3-D Secure authentication is pending for this "
                                      "checkout session.", param="session", code=None)
        return _finish_challenge(ctx, conn, session, extra, *pending, passed, now)


def _pay_bank_debit(ctx: Context, conn: Connection, session: Document, extra: Document,
                    name: str, email: str, now: int) -> PaymentResult:
    pi, pi_extra = _intent_for(conn, session, extra, "bank_debit", now)
    charge = _new_charge(conn, pi, name, email, build.bank_debit_details(), "pending", now)
    pi = {**pi, "status": "processing", "latest_charge": charge["id"],
          "payment_method": charge["payment_method"], "last_payment_error": None}
    records.save(conn, pi, pi_extra)
    session = sessions.complete(conn, session, extra, pi, name, email, "unpaid")
    emit(ctx, conn, "checkout.session.completed", session, CUSTOMER_ACTION)
    return PaymentResult("processing", session,
                         redirect_url=sessions.success_redirect(session))


def _new_charge(conn: Connection, pi: Document, name: str, email: str | None,
                details: Document, status: str, now: int, *,
                refund_fails: bool = False) -> Document:
    charge = build.charge_body(
        charge_id=new_id("ch"), created=now, amount=pi["amount"], currency=pi["currency"],
        pi_id=pi["id"], pm_id=new_id("pm"), metadata=pi["metadata"], name=name,
        email=email, details=details, status=status)
    conn.execute(insert(objects).values(
        id=charge["id"], kind="charge", created=now, status=status,
        payment_intent=pi["id"], body=dumps(charge),
        extra=dumps({"refund_fails": refund_fails})))
    return charge


def settle(ctx: Context, target: str, succeeded: bool) -> Document:
    """Settle a bank-debit payment (by session or PaymentIntent id); return the session."""
    with ctx.store.write() as conn:
        if target.startswith("cs_"):
            session, extra = records.load(conn, sessions.KIND, target, "session")
            if not session["payment_intent"]:
                raise StripeError.invalid(f"Checkout Session {target} has no payment yet.")
            pi, pi_extra = records.load(conn, "payment_intent", session["payment_intent"],
                                        "intent")
        else:
            pi, pi_extra = records.load(conn, "payment_intent", target, "intent")
            session, extra = records.load(conn, sessions.KIND, pi_extra["session"], "session")
        if pi["status"] != "processing":
            raise StripeError.invalid(
                f"PaymentIntent {pi['id']} is {pi['status']}, not processing: only a "
                "bank-debit payment waiting to settle can be settled.",
                code="payment_intent_unexpected_state")
        charge, charge_extra = records.load(conn, "charge", pi["latest_charge"], "charge")
        if succeeded:
            charge = {**charge, "status": "succeeded", "paid": True, "captured": True,
                      "amount_captured": charge["amount"],
                      "balance_transaction": new_id("txn")}
            pi = {**pi, "status": "succeeded", "amount_received": pi["amount"]}
            session = {**session, "payment_status": "paid"}
            kinds = ("checkout.session.async_payment_succeeded", "payment_intent.succeeded")
        else:
            failure = "The customer's bank account could not be debited."
            charge = {**charge, "status": "failed", "failure_code": "account_closed",
                      "failure_message": failure,
                      "outcome": {**charge["outcome"], "network_status": "declined_by_network",
                                  "seller_message": failure, "type": "issuer_declined"}}
            pi = {**pi, "status": "requires_payment_method", "last_payment_error": {
                "type": "invalid_request_error", "code": "payment_method_provider_decline",
                "message": failure}}
            kinds = ("checkout.session.async_payment_failed", "payment_intent.payment_failed")
        records.save(conn, charge, charge_extra)
        records.save(conn, pi, pi_extra)
        records.save(conn, session, extra)
        emit(ctx, conn, kinds[0], session, CUSTOMER_ACTION)
        emit(ctx, conn, kinds[1], pi, CUSTOMER_ACTION)
    return session
