"""Disputes: opened by the dispute test card or a control on any succeeded charge, and read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from stripe_sandbox import clock, records
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.events import RequestInfo, emit
from stripe_sandbox.ids import new_id
from stripe_sandbox.store import dumps, objects

Document = dict[str, Any]
# Stripe gives the merchant about a week (in test mode too) to answer a dispute.
RESPONSE_WINDOW = 7 * 24 * 3600
# Visa's reason code for "fraud, card absent": what Stripe's fraudulent test card reports.
FRAUD_REASON_CODE = "10.4"
EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)


def dispute_body(*, dispute_id: str, created: int, charge: Document) -> Document:
    """Return a fresh fraudulent dispute of the whole of `charge`, awaiting a response."""
    body: Document = {
        "id": dispute_id,
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**{name: None for name in EVIDENCE_FIELDS}, "enhanced_evidence": {}},
        "evidence_details": {"due_by": created + RESPONSE_WINDOW, "enhanced_eligibility": {},
                             "has_evidence": False, "past_due": False,
                             "submission_count": 0, "submission_method": "not_submitted"},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": FRAUD_REASON_CODE,
        "payment_intent": charge["payment_intent"],
        "reason": "fraudulent",
        "status": "needs_response",
    }
    details = charge["payment_method_details"]
    if details["type"] == "card":
        brand = details["card"]["brand"]
        body["payment_method_details"] = {
            "type": "card",
            "card": {"brand": brand, "case_type": "chargeback", "network": brand,
                     "network_reason_code": FRAUD_REASON_CODE}}
    return body


def open_on(ctx: Context, conn: Connection, charge_id: str, request: RequestInfo) -> Document:
    """Open a dispute on a succeeded, undisputed charge; emit charge.dispute.created."""
    charge, charge_extra = records.load(conn, "charge", charge_id, "charge")
    if charge["status"] != "succeeded":
        raise StripeError.invalid(f"Charge {charge['id']} has not succeeded and cannot be "
                                  "disputed.", param="charge")
    if charge["disputed"]:
        raise StripeError.invalid(f"Charge {charge['id']} has already been disputed.",
                                  param="charge", code="charge_disputed")
    now = clock.now(ctx, conn)
    dispute = dispute_body(dispute_id=new_id("dp"), created=now, charge=charge)
    conn.execute(insert(objects).values(
        id=dispute["id"], kind="dispute", created=now, status=dispute["status"],
        payment_intent=charge["payment_intent"], body=dumps(dispute), extra=dumps({})))
    records.save(conn, {**charge, "disputed": True}, charge_extra)
    emit(ctx, conn, "charge.dispute.created", dispute, request)
    return dispute


def open_for(ctx: Context, target: Any, request: RequestInfo) -> Document:
    """Open a dispute on a charge, or on a PaymentIntent's latest charge (a control)."""
    if not isinstance(target, str) or not target.startswith(("pi_", "ch_")):
        raise StripeError.invalid("Give a PaymentIntent (pi_…) or charge (ch_…) id to dispute.",
                                  param="charge")
    with ctx.store.write() as conn:
        charge_id = target
        if target.startswith("pi_"):
            pi, _ = records.load(conn, "payment_intent", target, "payment_intent")
            if not pi["latest_charge"]:
                raise StripeError.invalid(f"PaymentIntent {pi['id']} has no charge to dispute.",
                                          param="payment_intent")
            charge_id = pi["latest_charge"]
        return open_on(ctx, conn, charge_id, request)


def retrieve(ctx: Context, dispute_id: str, expand: list[str] | None = None) -> Document:
    """Return a Dispute, optionally with charge/payment_intent expanded."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, "dispute", dispute_id, "dispute")
        return records.expand_ids(conn, body, expand or [],
                                  {"charge": "charge", "payment_intent": "payment_intent"})
