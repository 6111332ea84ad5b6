"""Refunds: create against a PaymentIntent or charge, read, list, and settle the slow ones."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select

from stripe_sandbox import clock, records
from stripe_sandbox import objects as build
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.events import CUSTOMER_ACTION, RequestInfo, emit
from stripe_sandbox.ids import new_id
from stripe_sandbox.params import as_int, as_metadata, as_str, expand_list, reject_unknown
from stripe_sandbox.store import dumps, objects

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
EXPANDABLE = {"charge": "charge", "payment_intent": "payment_intent"}


def retrieve(ctx: Context, refund_id: str, expand: list[str] | None = None) -> dict[str, Any]:
    """Return a Refund, optionally with charge/payment_intent expanded."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, "refund", refund_id, "refund")
        return records.expand_ids(conn, body, expand or [], EXPANDABLE)


def list_page(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """List Refunds, newest first, filtered by payment_intent or charge."""
    reject_unknown(params, {"charge", "created", "ending_before", "expand", "limit",
                            "payment_intent", "starting_after"})
    where = [objects.c.kind == "refund"]
    if params.get("payment_intent"):
        where.append(objects.c.payment_intent == as_str(params["payment_intent"],
                                                        "payment_intent"))
    if params.get("charge"):
        with ctx.store.read() as conn:
            charge, _ = records.load(conn, "charge", params["charge"], "charge")
        # Only a succeeded charge can be refunded and a PaymentIntent has at most one, so the
        # charge's refunds are exactly its PaymentIntent's.
        where.append(objects.c.payment_intent == charge["payment_intent"])
    where += records.created_filter(objects.c.created, params.get("created"))
    paths = [path.removeprefix("data.") for path in expand_list(params)]
    page = records.page(ctx.store, objects, where, params, "/v1/refunds", "refund")
    if paths:
        with ctx.store.read() as conn:
            page["data"] = [records.expand_ids(conn, body, paths, EXPANDABLE)
                            for body in page["data"]]
    return page


def create(ctx: Context, params: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
    """Refund all or part of what a PaymentIntent (or charge) captured."""
    reject_unknown(params, {"payment_intent", "charge", "amount", "reason", "metadata",
                            "expand", "instructions_email"})
    metadata = as_metadata(params.get("metadata", {}), "metadata")
    reason = params.get("reason") or None
    if reason is not None and reason not in REASONS:
        raise StripeError.invalid(
            f"Invalid reason: must be one of {', '.join(REASONS)}", param="reason")
    amount = None
    if params.get("amount") not in (None, ""):
        amount = as_int(params["amount"], "amount", minimum=1)
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        charge, charge_extra = _refundable_charge(conn, params)
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeError.invalid(f"Charge {charge['id']} has already been refunded.",
                                      code="charge_already_refunded")
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeError.invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})", param="amount", code="amount_too_large")
        is_card = charge["payment_method_details"]["type"] == "card"
        refund = build.refund_body(
            refund_id=new_id("re"), created=now, amount=amount, charge=charge,
            reason=reason, metadata=metadata,
            # Bank refunds take a while; card refunds succeed at once in test mode.
            status="succeeded" if is_card else "pending")
        refund_extra: dict[str, Any] = {}
        if not is_card:
            refund_extra["settle_to"] = "succeeded"
        elif charge_extra.get("refund_fails"):
            refund_extra["settle_to"] = "failed"
        conn.execute(insert(objects).values(
            id=refund["id"], kind="refund", created=now, status=refund["status"],
            payment_intent=charge["payment_intent"], body=dumps(refund),
            extra=dumps(refund_extra)))
        refunded = charge["amount_refunded"] + amount
        charge = {**charge, "amount_refunded": refunded,
                  "refunded": refunded >= charge["amount_captured"]}
        records.save(conn, charge, charge_extra)
        emit(ctx, conn, "refund.created", refund, request)
        emit(ctx, conn, "charge.refunded", charge, request)
    return refund


def from_dashboard(ctx: Context, target: Any, amount: int | None = None) -> dict[str, Any]:
    """Refund a payment as someone in the Dashboard does: no idempotency key, no metadata."""
    if not isinstance(target, str) or not target.startswith(("pi_", "ch_")):
        raise StripeError.invalid("Give a PaymentIntent (pi_…) or charge (ch_…) id to refund.",
                                  param="payment_intent")
    params: dict[str, Any] = {"charge" if target.startswith("ch_") else "payment_intent": target}
    if amount is not None:
        params["amount"] = amount
    # A Dashboard action is an API request of Stripe's own, so its events carry a request id
    # but never the shop's idempotency key.
    return create(ctx, params, RequestInfo(new_id("req"), None))


def _refundable_charge(conn: Connection, params: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    if params.get("payment_intent"):
        pi, _ = records.load(conn, "payment_intent", params["payment_intent"], "payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise StripeError.invalid(
                f"This PaymentIntent ({pi['id']}) does not have a successful charge "
                "to refund.", param="payment_intent", code="payment_intent_unexpected_state")
        return records.load(conn, "charge", pi["latest_charge"], "charge")
    if params.get("charge"):
        charge, charge_extra = records.load(conn, "charge", params["charge"], "charge")
        if charge["status"] != "succeeded":
            raise StripeError.invalid(
                f"Charge {charge['id']} has not succeeded and cannot be refunded.",
                param="charge", code="charge_not_refundable")
        return charge, charge_extra
    raise StripeError.invalid(
        "One of the following params should be provided for this request: "
        "payment_intent or charge.", param="payment_intent", code="parameter_missing")


def settle_due(ctx: Context, conn: Connection) -> None:
    """Move refunds waiting to settle to their final status, emitting refund.updated."""
    rows = conn.execute(select(objects).where(
        objects.c.kind == "refund", objects.c.status.in_(("pending", "succeeded")),
        objects.c.extra.like('%"settle_to"%'))).all()
    for row in rows:
        refund, extra = json.loads(row.body), json.loads(row.extra)
        target = extra.pop("settle_to")
        previous = {"status": refund["status"]}
        refund = {**refund, "status": target}
        if target == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
            refund["failure_balance_transaction"] = new_id("txn")
            charge, charge_extra = records.load(conn, "charge", refund["charge"], "charge")
            refunded = charge["amount_refunded"] - refund["amount"]
            charge = {**charge, "amount_refunded": refunded,
                      "refunded": refunded >= charge["amount_captured"] > 0}
            records.save(conn, charge, charge_extra)
        records.save(conn, refund, extra)
        emit(ctx, conn, "refund.updated", refund, CUSTOMER_ACTION, previous=previous)
        if target == "failed":
            emit(ctx, conn, "refund.failed", refund, CUSTOMER_ACTION)
