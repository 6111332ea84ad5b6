"""Build Stripe-shaped resources exactly as API 2026-10-28.endive returns them."""

from __future__ import annotations

from typing import Any

from stripe_sandbox.ids import new_id

API_VERSION = "2026-10-28.endive"


def session_body(*, session_id: str, created: int, expires_at: int, currency: str,
                 amount: int, params: dict[str, Any], url: str) -> dict[str, Any]:
    """Return a new open checkout.session."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {"account_tax_ids": None, "custom_fields": None, "description": None,
                             "footer": None, "issuer": None, "metadata": {},
                             "rendering_options": None},
        },
        "livemode": False,
        "locale": None,
        "managed_payments": None,
        "metadata": params.get("metadata", {}),
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card", "us_bank_account"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


def customer_details(*, email: str | None, name: str) -> dict[str, Any]:
    """Return the customer_details a completed session carries."""
    return {
        "address": {"city": None, "country": None, "line1": None, "line2": None,
                    "postal_code": None, "state": None},
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def line_item(*, created: int, currency: str, price_data: dict[str, Any],
              unit_amount: int, quantity: int) -> dict[str, Any]:
    """Return a checkout line `item` with its inline (inactive) price."""
    product = price_data["product_data"]
    subtotal = unit_amount * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": subtotal,
        "amount_tax": 0,
        "amount_total": subtotal,
        "currency": currency,
        "description": product["name"],
        "metadata": {},
        "price": {
            "id": new_id("price"),
            "object": "price",
            # price_data makes a one-off price that cannot be reused: Stripe marks it inactive.
            "active": False,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": new_id("prod"),
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
    }


def payment_intent_body(*, pi_id: str, created: int, amount: int, currency: str,
                        metadata: dict[str, str], method: str) -> dict[str, Any]:
    """Return a new payment_intent awaiting its first confirmation."""
    options: dict[str, Any] = (
        {"card": {"installments": None, "mandate_options": None, "network": None,
                  "request_three_d_secure": "automatic"}}
        if method == "card" else {}
    )
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_{new_id('x')[2:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": options,
        "payment_method_types": ["card"] if method == "card" else ["us_bank_account"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_body(*, charge_id: str, created: int, amount: int, currency: str, pi_id: str,
                pm_id: str, metadata: dict[str, str], name: str, email: str | None,
                details: dict[str, Any], status: str) -> dict[str, Any]:
    """Return a charge; `details` is payment_method_details (brand/last4 only for cards)."""
    succeeded = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn") if succeeded else None,
        "billing_details": {
            "address": {"city": None, "country": None, "line1": None, "line2": None,
                        "postal_code": None, "state": None},
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "SANDBOX",
        "captured": succeeded,
        "created": created,
        "currency": currency,
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": metadata,
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": succeeded,
        "payment_intent": pi_id,
        "payment_method": pm_id,
        "payment_method_details": details,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


# Stripe's charge schema requires a card's expiry; the sandbox never keeps the one the shopper
# typed (the page checks it, then drops it), so every card charge shows this fixed test value.
CARD_EXP_MONTH, CARD_EXP_YEAR = 12, 2034


def card_details(*, brand: str, last4: str) -> dict[str, Any]:
    """Return payment_method_details for a card: brand and last4 only; no number, CVC, expiry."""
    return {
        "card": {
            "amount_authorized": None,
            "brand": brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None,
                       "cvc_check": "pass"},
            "country": "US",
            "exp_month": CARD_EXP_MONTH,
            "exp_year": CARD_EXP_YEAR,
            "fingerprint": None,
            "funding": "credit",
            "installments": None,
            "last4": last4,
            "mandate": None,
            "network": brand if brand != "unknown" else None,
            "network_token": {"used": False},
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def bank_debit_details() -> dict[str, Any]:
    """Return payment_method_details for the sandbox's test bank account."""
    return {
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "fingerprint": None,
            "last4": "6789",
            "payment_reference": None,
            "routing_number": "110000000",
        },
    }


def refund_body(*, refund_id: str, created: int, amount: int, charge: dict[str, Any],
                reason: str | None, metadata: dict[str, str], status: str) -> dict[str, Any]:
    """Return a refund of `charge`."""
    is_card = charge["payment_method_details"]["type"] == "card"
    destination = (
        {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                  "type": "refund"}, "type": "card"}
        if is_card
        else {"type": "us_bank_transfer",
              "us_bank_transfer": {"reference": None, "reference_status": "pending"}}
    )
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "customer": None,
        "customer_account": None,
        "destination_details": destination,
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def event_body(*, event_id: str, created: int, type_: str, obj: dict[str, Any],
               previous: dict[str, Any] | None, request_id: str | None,
               idempotency_key: str | None) -> dict[str, Any]:
    """Return an event envelope; pending_webhooks is filled in when it is read or sent."""
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }
