"""Checkout Sessions: create, read, list, line items, expire, and the page's redirect."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select

from stripe_sandbox import clock, price_objects, records
from stripe_sandbox import objects as build
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.events import CUSTOMER_ACTION, RequestInfo, emit
from stripe_sandbox.ids import new_id
from stripe_sandbox.money import MINIMUM_CHARGE, format_amount, is_currency
from stripe_sandbox.params import (
    as_int,
    as_metadata,
    as_str,
    expand_list,
    reject_unknown,
    reject_unknown_nested,
)
from stripe_sandbox.store import dumps, objects

MIN_TTL = 30 * 60
MAX_TTL = 24 * 60 * 60
# expires_at is computed by the caller before the request travels; allow for that trip.
EXPIRES_GRACE = 10
MAX_LINE_ITEMS = 100
SESSION_PARAMS = {
    # Implemented.
    "mode", "line_items", "customer_email", "client_reference_id", "metadata", "success_url",
    "cancel_url", "expires_at", "payment_intent_data", "expand", "currency", "locale",
    # Accepted and ignored: they change nothing a sandbox payment can show.
    "allow_promotion_codes", "billing_address_collection", "customer_creation", "submit_type",
    "ui_mode", "allowed_payment_method_types", "payment_method_options", "automatic_tax",
    "phone_number_collection", "custom_text", "integration_identifier",
    # Priced by price_objects (coupons, tax rates, shipping rates).
    "shipping_options", "discounts",
}
KIND = "checkout.session"
EXPANDABLE = ("line_items", "line_items.data.discounts", "line_items.data.taxes",
              "payment_intent", "total_details.breakdown")


def page_url(ctx: Context, session_id: str) -> str:
    """Return the hosted payment page of a session."""
    return f"{ctx.public_url}/pay/{session_id}"


def create(ctx: Context, params: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
    """Create an open payment-mode Checkout Session."""
    reject_unknown(params, SESSION_PARAMS)
    mode = params.get("mode")
    if mode is None:
        raise StripeError.missing_param("mode")
    if mode != "payment":
        raise StripeError.invalid(
            f"Invalid mode: the sandbox supports only mode=payment, got {mode!r}.",
            param="mode")
    metadata = as_metadata(params.get("metadata", {}), "metadata")
    strings = {}
    for name, limit in (("customer_email", 800), ("client_reference_id", 200),
                        ("success_url", 5000), ("cancel_url", 5000)):
        if params.get(name) not in (None, ""):
            strings[name] = as_str(params[name], name, max_length=limit)
    for name in ("success_url", "cancel_url"):
        if name in strings:
            _check_redirect_url(strings[name], name)
    pi_data = params.get("payment_intent_data", {})
    if not isinstance(pi_data, dict):
        raise StripeError.invalid("Invalid hash", param="payment_intent_data")
    reject_unknown_nested(pi_data, {"metadata", "description", "receipt_email",
                                    "capture_method", "statement_descriptor",
                                    "statement_descriptor_suffix"},
                          "payment_intent_data")
    pi_metadata = as_metadata(pi_data.get("metadata", {}), "payment_intent_data[metadata]")
    raw_items = params.get("line_items")
    if raw_items in (None, "", []):
        raise StripeError.missing_param("line_items")
    if not isinstance(raw_items, list):
        raise StripeError.invalid("Invalid array", param="line_items")
    if len(raw_items) > MAX_LINE_ITEMS:
        raise StripeError.invalid(
            f"You may only specify up to {MAX_LINE_ITEMS} line items in payment mode.",
            param="line_items")
    parsed = [_parse_line_item(item, i) for i, item in enumerate(raw_items)]
    currencies = {currency for currency, _, _, _ in parsed}
    if len(currencies) > 1:
        raise StripeError.invalid("All line items must use the same currency.",
                                  param="line_items")
    currency = currencies.pop()
    if "currency" in params and str(params["currency"]).lower() != currency:
        raise StripeError.invalid("currency must match the line items' currency.",
                                  param="currency")

    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        expires_at = now + MAX_TTL
        if params.get("expires_at") not in (None, ""):
            expires_at = as_int(params["expires_at"], "expires_at")
            _check_expires_at(expires_at, now)
        session_id = new_id("cs")
        priced = price_objects.price_session(
            conn, params, session_id=session_id, currency=currency, now=now,
            lines=[(unit_amount, quantity) for _, _, unit_amount, quantity in parsed])
        _check_charge_range(priced.fields["amount_total"], currency)
        items = [{**build.line_item(created=now, currency=currency, price_data=price_data,
                                    unit_amount=unit_amount, quantity=quantity), **amounts}
                 for (currency, price_data, unit_amount, quantity), amounts
                 in zip(parsed, priced.line_amounts, strict=True)]
        body = build.session_body(
            session_id=session_id, created=now, expires_at=expires_at, currency=currency,
            amount=priced.fields["amount_total"], params={**strings, "metadata": metadata},
            url=page_url(ctx, session_id))
        body.update(priced.fields)
        extra = {"line_items": items, "pi_metadata": pi_metadata, "payment_intent": None,
                 **priced.expandable}
        conn.execute(insert(objects).values(
            id=session_id, kind=KIND, created=now, status="open",
            expires_at=expires_at, body=dumps(body), extra=dumps(extra)))
    return expand(ctx, body, expand_list(params))


def _parse_line_item(item: Any, index: int) -> tuple[str, dict[str, Any], int, int]:
    where = f"line_items[{index}]"
    if not isinstance(item, dict):
        raise StripeError.invalid("Invalid hash", param=where)
    reject_unknown_nested(item, {"price_data", "quantity", "price", "adjustable_quantity",
                                 "tax_rates"}, where)
    if "price" in item:
        raise StripeError(404, "invalid_request_error",
                          f"No such price: '{item['price']}' (the sandbox takes price_data)",
                          code="resource_missing", param=f"{where}[price]")
    price_data = item.get("price_data")
    if not isinstance(price_data, dict):
        raise StripeError.missing_param(f"{where}[price_data]")
    reject_unknown_nested(price_data, {"currency", "unit_amount", "product_data",
                                       "tax_behavior", "unit_amount_decimal"},
                          f"{where}[price_data]")
    currency = price_data.get("currency")
    if not currency:
        raise StripeError.missing_param(f"{where}[price_data][currency]")
    currency = as_str(currency, f"{where}[price_data][currency]").lower()
    if not is_currency(currency):
        raise StripeError.invalid(f"Invalid currency: {currency}.",
                                  param=f"{where}[price_data][currency]")
    if "unit_amount" not in price_data:
        raise StripeError.missing_param(f"{where}[price_data][unit_amount]")
    unit_amount = as_int(price_data["unit_amount"], f"{where}[price_data][unit_amount]",
                         minimum=0, maximum=MAXIMUM_CHARGE)
    product = price_data.get("product_data")
    if not isinstance(product, dict) or not product.get("name"):
        raise StripeError.missing_param(f"{where}[price_data][product_data][name]")
    reject_unknown_nested(product, {"name", "description", "images", "metadata",
                                    "tax_code", "unit_label"},
                          f"{where}[price_data][product_data]")
    name = as_str(product["name"], f"{where}[price_data][product_data][name]")
    if "quantity" not in item:
        raise StripeError.missing_param(f"{where}[quantity]")
    quantity = as_int(item["quantity"], f"{where}[quantity]", minimum=1, maximum=999_999)
    return currency, {"product_data": {"name": name}}, unit_amount, quantity


# The most Stripe charges at once: eight digits of minor units, as for one price.
MAXIMUM_CHARGE = 99_999_999


def _check_charge_range(amount_total: int, currency: str) -> None:
    if amount_total > MAXIMUM_CHARGE:
        raise StripeError.invalid(
            "The Checkout Session's total amount due must be no more than "
            f"{format_amount(MAXIMUM_CHARGE, currency)} {currency.lower()}",
            code="amount_too_large")
    # Zero is allowed: Stripe completes it as no_payment_required.
    minimum = MINIMUM_CHARGE.get(currency.upper())
    if minimum is not None and 0 < amount_total < minimum:
        raise StripeError.invalid(
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency.lower()}", code="amount_too_small")


def _check_expires_at(expires_at: int, now: int) -> None:
    # Measured on the sandbox clock alone (the wall clock until advance_clock moves it), as
    # Stripe measures it on its own clock; the grace covers the request's travel time.
    if not now + MIN_TTL - EXPIRES_GRACE <= expires_at <= now + MAX_TTL + EXPIRES_GRACE:
        raise StripeError.invalid(
            "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours "
            "after the Checkout Session is created.", param="expires_at")


def _check_redirect_url(url: str, param: str) -> None:
    """Accept only an absolute http(s) URL, as Stripe does for success_url and cancel_url.

    The hosted page renders these as links and redirects to them, so `javascript:` and the
    like must never get in.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if (host is None or parts.scheme.lower() not in ("http", "https")
            or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url)):
        raise StripeError.invalid("Not a valid URL", param=param, code="url_invalid")


def retrieve(ctx: Context, session_id: str, expand_paths: list[str] | None = None
             ) -> dict[str, Any]:
    """Return a Checkout Session, optionally with line_items/payment_intent expanded."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, KIND, session_id, "session")
    return expand(ctx, body, expand_paths or [])


def is_due(ctx: Context, session_id: str) -> tuple[dict[str, Any], bool]:
    """Return a session and whether it is open past its expires_at."""
    with ctx.store.read() as conn:
        body, _ = records.load(conn, KIND, session_id, "session")
        return body, body["status"] == "open" and body["expires_at"] <= clock.now(ctx, conn)


def with_line_items(ctx: Context, session_id: str) -> tuple[dict[str, Any], list[dict]]:
    """Return a session and all its line items."""
    with ctx.store.read() as conn:
        body, extra = records.load(conn, KIND, session_id, "session")
    return body, extra["line_items"]


def list_page(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """List Checkout Sessions, newest first, filtered by payment_intent or status."""
    reject_unknown(params, {"created", "ending_before", "expand", "limit", "payment_intent",
                            "starting_after", "status"})
    where = [objects.c.kind == KIND]
    if params.get("payment_intent"):
        where.append(objects.c.payment_intent == as_str(params["payment_intent"],
                                                        "payment_intent"))
    if params.get("status"):
        where.append(objects.c.status == as_str(params["status"], "status"))
    where += records.created_filter(objects.c.created, params.get("created"))
    paths = [path.removeprefix("data.") for path in expand_list(params)]
    page = records.page(ctx.store, objects, where, params, "/v1/checkout/sessions", KIND)
    page["data"] = [expand(ctx, body, paths) for body in page["data"]]
    return page


def list_line_items(ctx: Context, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """List a session's line items in the order they were given."""
    reject_unknown(params, {"ending_before", "expand", "limit", "starting_after"})
    paths = expand_list(params)
    unknown = [path for path in paths if path not in price_objects.LINE_EXPANDS]
    if unknown:
        raise StripeError.invalid(f"This property cannot be expanded ({unknown[0]}).",
                                  param="expand", code=None)
    with ctx.store.read() as conn:
        _, extra = records.load(conn, KIND, session_id, "session")
    items = price_objects.expand_line_items(extra["line_items"], extra, paths)
    limit = records.limit_of(params)
    ids = [item["id"] for item in items]
    start, stop = 0, len(items)
    if params.get("starting_after"):
        start = _cursor_index(ids, params["starting_after"], "starting_after") + 1
        stop = min(len(items), start + limit)
    elif params.get("ending_before"):
        stop = _cursor_index(ids, params["ending_before"], "ending_before")
        start = max(0, stop - limit)
    else:
        stop = min(len(items), limit)
    return {"object": "list", "data": items[start:stop],
            "has_more": stop < len(items) if not params.get("ending_before") else start > 0,
            "url": f"/v1/checkout/sessions/{session_id}/line_items"}


def _cursor_index(ids: list[str], cursor: Any, param: str) -> int:
    cursor = as_str(cursor, param)
    if cursor not in ids:
        raise StripeError.no_such("item", cursor, param)
    return ids.index(cursor)


def expire_now(ctx: Context, session_id: str, request: RequestInfo,
               expand_paths: list[str] | None = None) -> dict[str, Any]:
    """Expire an open session now, as `POST /v1/checkout/sessions/{id}/expire` does."""
    with ctx.store.write() as conn:
        body, extra = records.load(conn, KIND, session_id, "session")
        if body["status"] != "open":
            raise StripeError.invalid(
                f"Only Checkout Sessions with a status in [\"open\"] can be expired. This "
                f"Checkout Session has a status of \"{body['status']}\".", code=None)
        body = expire(ctx, conn, body, extra, request)
    return expand(ctx, body, expand_paths or [])


def expire(ctx: Context, conn: Connection, body: dict[str, Any], extra: dict[str, Any],
           request: RequestInfo) -> dict[str, Any]:
    """Mark a session expired and emit checkout.session.expired."""
    body = {**body, "status": "expired", "url": None}
    records.save(conn, body, extra)
    emit(ctx, conn, "checkout.session.expired", body, request)
    return body


def expire_due(ctx: Context, conn: Connection) -> None:
    """Expire every open session whose expires_at has passed."""
    rows = conn.execute(select(objects).where(
        objects.c.kind == KIND, objects.c.status == "open",
        objects.c.expires_at <= clock.now(ctx, conn))).all()
    for row in rows:
        expire(ctx, conn, json.loads(row.body), json.loads(row.extra), CUSTOMER_ACTION)


def complete(conn: Connection, session: dict[str, Any], extra: dict[str, Any],
             pi: dict[str, Any] | None, name: str, email: str | None,
             payment_status: str) -> dict[str, Any]:
    """Close a session as paid (or waiting to settle) by this customer."""
    session = {
        **session, "status": "complete", "payment_status": payment_status, "url": None,
        "payment_intent": pi["id"] if pi else None,
        "customer_details": build.customer_details(email=email, name=name),
        "collected_information": {"business_name": None, "individual_name": None,
                                  "shipping_details": None},
    }
    records.save(conn, session, extra)
    return session


def success_redirect(session: dict[str, Any]) -> str | None:
    """Return the success_url with {CHECKOUT_SESSION_ID} filled in, as Stripe redirects."""
    url = session.get("success_url")
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None


def expand(ctx: Context, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Expand line_items (and their discounts/taxes), payment_intent, and
    total_details.breakdown on a session body."""
    unknown = [path for path in paths if path not in EXPANDABLE]
    if unknown:
        raise StripeError.invalid(
            f"This property cannot be expanded ({unknown[0]}).", param="expand", code=None)
    if not paths:
        return body
    body = dict(body)
    with ctx.store.read() as conn:
        _, extra = records.load(conn, KIND, body["id"], "session")
        if "total_details.breakdown" in paths:
            body["total_details"] = {**body["total_details"], "breakdown": extra.get(
                "breakdown", {"discounts": [], "taxes": []})}
        if "line_items" in paths or any(p.startswith("line_items.") for p in paths):
            items = price_objects.expand_line_items(
                extra["line_items"], extra,
                [p.removeprefix("line_items.") for p in paths if p.startswith("line_items.")])
            body["line_items"] = {"object": "list", "data": items[:10],
                                  "has_more": len(items) > 10,
                                  "url": f"/v1/checkout/sessions/{body['id']}/line_items"}
        if "payment_intent" in paths and body["payment_intent"]:
            body["payment_intent"], _ = records.load(
                conn, "payment_intent", body["payment_intent"], "intent")
    return body
