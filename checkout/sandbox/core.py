"""The sandbox's behaviour: Stripe's resources, their lifecycle, its events and its clock."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from checkout.domain.money import is_currency
from checkout.sandbox import cards
from checkout.sandbox import objects as build
from checkout.sandbox.errors import StripeError
from checkout.sandbox.ids import new_id
from checkout.sandbox.params import (
    as_int,
    as_metadata,
    as_str,
    expand_list,
    reject_unknown,
    reject_unknown_nested,
)
from checkout.sandbox.store import (
    Store,
    attempts,
    deliveries,
    dumps,
    events,
    idempotency,
    metadata,
    objects,
)

log = logging.getLogger(__name__)

PREFIX = "/sandbox/stripe"
MIN_TTL = 30 * 60
MAX_TTL = 24 * 60 * 60
# expires_at is computed by the caller before the request travels; allow for that trip.
EXPIRES_GRACE = 10
MAX_LINE_ITEMS = 100
IDEMPOTENCY_TTL = 24 * 60 * 60
# An in-flight idempotency row older than this belongs to a request that died.
IN_FLIGHT_STALE = 60
# Compressed "test mode" schedule: retry after 2, 4, 8, 16 and 32 s, then give up.
RETRY_DELAYS = (2, 4, 8, 16, 32)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DELIVERY_TIMEOUT = 10.0
CLAIM_LEASE = 60.0
# The most the clock and endpoint-down controls take at once; more is a typo, and beyond 64 bits
# it would break every later query.
MAX_CONTROL_SECONDS = 10 * 365 * 24 * 60 * 60
TICK_SECONDS = 1.0

SESSION_PARAMS = {
    # Implemented.
    "mode", "line_items", "customer_email", "client_reference_id", "metadata", "success_url",
    "cancel_url", "expires_at", "payment_intent_data", "expand", "currency", "locale",
    # Accepted and ignored: they change nothing a sandbox payment can show.
    "allow_promotion_codes", "billing_address_collection", "customer_creation", "submit_type",
    "ui_mode", "allowed_payment_method_types", "payment_method_options", "automatic_tax",
    "phone_number_collection", "custom_text", "integration_identifier",
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


@dataclass
class RequestInfo:
    """What an event records about the API request that caused it."""

    request_id: str | None = None
    idempotency_key: str | None = None


CUSTOMER_ACTION = RequestInfo()


@dataclass
class PaymentResult:
    """What paying on the hosted page did; the page and `Sandbox.pay` callers read it."""

    outcome: Literal["succeeded", "processing", "declined", "invalid", "expired", "closed"]
    session: dict[str, Any]
    message: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    redirect_url: str | None = None
    decline_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "processing")


@dataclass
class DeliveryResult:
    """One logged delivery attempt of one event to one endpoint."""

    event_id: str
    event_type: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    ok: bool
    sandbox_time: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Sandbox:
    """A Stripe-compatible payment backend kept in its own database."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        config = app.config
        self.api_key: str = config["STRIPE_SECRET_KEY"]
        self.webhook_secret: str = config["STRIPE_WEBHOOK_SECRET"]
        self.public_base_url: str = config["PUBLIC_BASE_URL"].rstrip("/")
        self.store_name: str = config.get("STORE_NAME", "Sandbox store")
        self.background: bool = bool(config.get("SANDBOX_BACKGROUND", True))
        raw = config.get("SANDBOX_WEBHOOK_URL") or []
        if isinstance(raw, str):
            raw = raw.split(",")
        self.endpoints: list[str] = [url.strip() for url in raw if url and url.strip()]
        self.store = Store(config["SANDBOX_DATABASE_URL"])
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def api_base(self) -> str:
        """Return the base URL to give the stripe SDK."""
        return self.public_base_url + PREFIX

    # Clock --------------------------------------------------------------------------------

    def now(self) -> int:
        """Return the sandbox's unix time (wall clock plus every advance_clock)."""
        with self.store.read() as conn:
            return self._now(conn)

    def _now(self, conn: Connection) -> int:
        return int(time.time()) + int(self.store.get_state(conn, "clock_offset", "0"))

    def advance_clock(self, seconds: int) -> int:
        """Move the sandbox clock forward for every process; expire what is now due."""
        seconds = control_seconds(seconds)
        with self.store.write() as conn:
            offset = int(self.store.get_state(conn, "clock_offset", "0")) + seconds
            self.store.set_state(conn, "clock_offset", str(offset))
        self.run_due()
        return self.now()

    def reset_clock(self) -> int:
        """Put the sandbox clock back on the wall clock (after a demo moved it forward).

        Sessions already expired stay expired; new ones are again measured from real time,
        which is how a shop computes expires_at.
        """
        with self.store.write() as conn:
            self.store.set_state(conn, "clock_offset", "0")
        return self.now()

    def reset(self) -> None:
        """Forget every object, event, delivery and the clock offset (between tests)."""
        with self.store.write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())

    # Checkout Sessions ----------------------------------------------------------------------

    def create_session(self, params: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
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
        parsed = [self._parse_line_item(item, i) for i, item in enumerate(raw_items)]
        currencies = {currency for currency, _, _, _ in parsed}
        if len(currencies) > 1:
            raise StripeError.invalid("All line items must use the same currency.",
                                      param="line_items")
        currency = currencies.pop()
        if "currency" in params and str(params["currency"]).lower() != currency:
            raise StripeError.invalid("currency must match the line items' currency.",
                                      param="currency")

        with self.store.write() as conn:
            now = self._now(conn)
            expires_at = now + MAX_TTL
            if params.get("expires_at") not in (None, ""):
                expires_at = as_int(params["expires_at"], "expires_at")
                self._check_expires_at(expires_at, now)
            items = [build.line_item(created=now, currency=currency, price_data=price_data,
                                     unit_amount=unit_amount, quantity=quantity)
                     for currency, price_data, unit_amount, quantity in parsed]
            amount = sum(item["amount_total"] for item in items)
            session_id = new_id("cs")
            body = build.session_body(
                session_id=session_id, created=now, expires_at=expires_at, currency=currency,
                amount=amount, params={**strings, "metadata": metadata},
                url=f"{self.api_base}/pay/{session_id}")
            extra = {"line_items": items, "pi_metadata": pi_metadata, "payment_intent": None}
            conn.execute(insert(objects).values(
                id=session_id, kind="checkout.session", created=now, status="open",
                expires_at=expires_at, body=dumps(body), extra=dumps(extra)))
        return self._expand_session(body, expand_list(params))

    @staticmethod
    def _parse_line_item(item: Any, index: int) -> tuple[str, dict[str, Any], int, int]:
        where = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise StripeError.invalid("Invalid hash", param=where)
        reject_unknown_nested(item, {"price_data", "quantity", "price", "adjustable_quantity"},
                              where)
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
                             minimum=0, maximum=99_999_999)
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

    @staticmethod
    def _check_expires_at(expires_at: int, now: int) -> None:
        # Measured on the sandbox clock alone (the wall clock until advance_clock moves it), as
        # Stripe measures it on its own clock; the grace covers the request's travel time.
        if not now + MIN_TTL - EXPIRES_GRACE <= expires_at <= now + MAX_TTL + EXPIRES_GRACE:
            raise StripeError.invalid(
                "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours "
                "after the Checkout Session is created.", param="expires_at")

    def retrieve_session(self, session_id: str, expand: list[str] | None = None
                         ) -> dict[str, Any]:
        """Return a Checkout Session, optionally with line_items/payment_intent expanded."""
        with self.store.read() as conn:
            body, _ = self._load(conn, "checkout.session", session_id, "session")
        return self._expand_session(body, expand or [])

    def refresh_session(self, session_id: str) -> dict[str, Any]:
        """Return a session, expiring it first if its expires_at has passed."""
        with self.store.read() as conn:
            body, _ = self._load(conn, "checkout.session", session_id, "session")
            due = body["status"] == "open" and body["expires_at"] <= self._now(conn)
        if due:
            self.run_due()
            return self.retrieve_session(session_id)
        return body

    def line_items_for_page(self, session_id: str) -> tuple[dict[str, Any], list[dict]]:
        """Return a session and all its line items."""
        with self.store.read() as conn:
            body, extra = self._load(conn, "checkout.session", session_id, "session")
        return body, extra["line_items"]

    def list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        """List Checkout Sessions, newest first, filtered by payment_intent or status."""
        reject_unknown(params, {"created", "ending_before", "expand", "limit", "payment_intent",
                                "starting_after", "status"})
        where = [objects.c.kind == "checkout.session"]
        if params.get("payment_intent"):
            where.append(objects.c.payment_intent == as_str(params["payment_intent"],
                                                            "payment_intent"))
        if params.get("status"):
            where.append(objects.c.status == as_str(params["status"], "status"))
        where += self._created_filter(objects.c.created, params.get("created"))
        expand = [path.removeprefix("data.") for path in expand_list(params)]
        page = self._page(objects, where, params, "/v1/checkout/sessions", "checkout.session")
        page["data"] = [self._expand_session(body, expand) for body in page["data"]]
        return page

    def list_line_items(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """List a session's line items in the order they were given."""
        reject_unknown(params, {"ending_before", "expand", "limit", "starting_after"})
        with self.store.read() as conn:
            _, extra = self._load(conn, "checkout.session", session_id, "session")
        items = extra["line_items"]
        limit = self._limit(params)
        ids = [item["id"] for item in items]
        start, stop = 0, len(items)
        if params.get("starting_after"):
            start = self._cursor_index(ids, params["starting_after"], "starting_after") + 1
            stop = min(len(items), start + limit)
        elif params.get("ending_before"):
            stop = self._cursor_index(ids, params["ending_before"], "ending_before")
            start = max(0, stop - limit)
        else:
            stop = min(len(items), limit)
        return {"object": "list", "data": items[start:stop],
                "has_more": stop < len(items) if not params.get("ending_before") else start > 0,
                "url": f"/v1/checkout/sessions/{session_id}/line_items"}

    @staticmethod
    def _cursor_index(ids: list[str], cursor: Any, param: str) -> int:
        cursor = as_str(cursor, param)
        if cursor not in ids:
            raise StripeError.no_such("item", cursor, param)
        return ids.index(cursor)

    def expire_session(self, session_id: str, request: RequestInfo,
                       expand: list[str] | None = None) -> dict[str, Any]:
        """Expire an open session now, as `POST /v1/checkout/sessions/{id}/expire` does."""
        with self.store.write() as conn:
            body, extra = self._load(conn, "checkout.session", session_id, "session")
            if body["status"] != "open":
                raise StripeError.invalid(
                    f"Only Checkout Sessions with a status in [\"open\"] can be expired. This "
                    f"Checkout Session has a status of \"{body['status']}\".", code=None)
            body = self._expire(conn, body, extra, request)
        return self._expand_session(body, expand or [])

    def _expire(self, conn: Connection, body: dict[str, Any], extra: dict[str, Any],
                request: RequestInfo) -> dict[str, Any]:
        body = {**body, "status": "expired", "url": None}
        self._save(conn, body, extra)
        self._emit(conn, "checkout.session.expired", body, request)
        return body

    def _expand_session(self, body: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        unknown = [path for path in expand if path not in ("line_items", "payment_intent")]
        if unknown:
            raise StripeError.invalid(
                f"This property cannot be expanded ({unknown[0]}).", param="expand", code=None)
        if not expand:
            return body
        body = dict(body)
        with self.store.read() as conn:
            if "line_items" in expand:
                _, extra = self._load(conn, "checkout.session", body["id"], "session")
                items = extra["line_items"]
                body["line_items"] = {"object": "list", "data": items[:10],
                                      "has_more": len(items) > 10,
                                      "url": f"/v1/checkout/sessions/{body['id']}/line_items"}
            if "payment_intent" in expand and body["payment_intent"]:
                body["payment_intent"], _ = self._load(
                    conn, "payment_intent", body["payment_intent"], "intent")
        return body

    # Payment Intents, Refunds ---------------------------------------------------------------

    def retrieve_payment_intent(self, pi_id: str, expand: list[str] | None = None
                                ) -> dict[str, Any]:
        """Return a PaymentIntent, optionally with latest_charge expanded."""
        with self.store.read() as conn:
            body, _ = self._load(conn, "payment_intent", pi_id, "intent")
            return self._expand_ids(conn, body, expand or [], {"latest_charge": "charge"})

    def retrieve_refund(self, refund_id: str, expand: list[str] | None = None
                        ) -> dict[str, Any]:
        """Return a Refund, optionally with charge/payment_intent expanded."""
        with self.store.read() as conn:
            body, _ = self._load(conn, "refund", refund_id, "refund")
            return self._expand_ids(conn, body, expand or [],
                                    {"charge": "charge", "payment_intent": "payment_intent"})

    def _expand_ids(self, conn: Connection, body: dict[str, Any], expand: list[str],
                    fields: dict[str, str]) -> dict[str, Any]:
        body = dict(body)
        for path in expand:
            if path not in fields:
                raise StripeError.invalid(f"This property cannot be expanded ({path}).",
                                          param="expand", code=None)
            if body[path]:
                body[path], _ = self._load(conn, fields[path], body[path], path)
        return body

    def create_refund(self, params: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
        """Refund all or part of what a PaymentIntent (or charge) captured."""
        reject_unknown(params, {"payment_intent", "charge", "amount", "reason", "metadata",
                                "expand", "instructions_email"})
        metadata = as_metadata(params.get("metadata", {}), "metadata")
        reason = params.get("reason") or None
        if reason is not None and reason not in REFUND_REASONS:
            raise StripeError.invalid(
                f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}", param="reason")
        amount = None
        if params.get("amount") not in (None, ""):
            amount = as_int(params["amount"], "amount", minimum=1)
        with self.store.write() as conn:
            now = self._now(conn)
            if params.get("payment_intent"):
                pi, _ = self._load(conn, "payment_intent", params["payment_intent"],
                                   "payment_intent")
                if pi["status"] != "succeeded" or not pi["latest_charge"]:
                    raise StripeError.invalid(
                        f"This PaymentIntent ({pi['id']}) does not have a successful charge "
                        "to refund.", param="payment_intent",
                        code="payment_intent_unexpected_state")
                charge, charge_extra = self._load(conn, "charge", pi["latest_charge"], "charge")
            elif params.get("charge"):
                charge, charge_extra = self._load(conn, "charge", params["charge"], "charge")
                if charge["status"] != "succeeded":
                    raise StripeError.invalid(
                        f"Charge {charge['id']} has not succeeded and cannot be refunded.",
                        param="charge", code="charge_not_refundable")
            else:
                raise StripeError.invalid(
                    "One of the following params should be provided for this request: "
                    "payment_intent or charge.", param="payment_intent",
                    code="parameter_missing")
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
            self._save(conn, charge, charge_extra)
            self._emit(conn, "refund.created", refund, request)
            self._emit(conn, "charge.refunded", charge, request)
        return refund

    def _settle_refunds(self, conn: Connection) -> None:
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
                charge, charge_extra = self._load(conn, "charge", refund["charge"], "charge")
                refunded = charge["amount_refunded"] - refund["amount"]
                charge = {**charge, "amount_refunded": refunded,
                          "refunded": refunded >= charge["amount_captured"] > 0}
                self._save(conn, charge, charge_extra)
            self._save(conn, refund, extra)
            self._emit(conn, "refund.updated", refund, CUSTOMER_ACTION, previous=previous)

    # Paying (the hosted page and the controls) -------------------------------------------------

    def pay(self, session_id: str, card: str = "4242424242424242", name: str = "Test Shopper",
            *, method: Literal["card", "bank_debit"] = "card", exp: str | None = None,
            cvc: str = "123", email: str | None = None) -> PaymentResult:
        """Pay a session exactly as submitting the hosted page does.

        `method="bank_debit"` pays by the sandbox's test bank account: the session completes
        with payment_status "unpaid" and settles later through `settle_async`.
        """
        self.ensure_worker()
        with self.store.write() as conn:
            now = self._now(conn)
            session, extra = self._load(conn, "checkout.session", session_id, "session")
            if session["status"] == "open" and session["expires_at"] <= now:
                session = self._expire(conn, session, extra, CUSTOMER_ACTION)
            if session["status"] == "expired":
                return PaymentResult("expired", session, "This checkout session has expired.")
            if session["status"] != "open":
                return PaymentResult("closed", session, "This checkout session is complete.",
                                     redirect_url=self.success_redirect(session))
            email = (email or session["customer_email"] or "").strip() or None
            if method == "bank_debit":
                errors = {} if (name or "").strip() else {"name": "Enter the account holder name."}
                if not email:
                    errors["email"] = "Enter your email address."
                if errors:
                    return PaymentResult("invalid", session, "Check the highlighted fields.",
                                         field_errors=errors)
                if session["amount_total"] == 0:
                    return self._complete_free(conn, session, extra, name.strip(), email)
                return self._pay_bank_debit(conn, session, extra, name.strip(), email, now)
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
                return self._complete_free(conn, session, extra, name.strip(), email)
            return self._pay_card(conn, session, extra, checked, name.strip(), email, now)

    def _complete_free(self, conn: Connection, session: dict[str, Any], extra: dict[str, Any],
                       name: str, email: str | None) -> PaymentResult:
        # Nothing to charge: as Stripe, no PaymentIntent and payment_status no_payment_required.
        session = self._complete(conn, session, extra, None, name, email, "no_payment_required")
        self._emit(conn, "checkout.session.completed", session, CUSTOMER_ACTION)
        return PaymentResult("succeeded", session, redirect_url=self.success_redirect(session))

    def _intent_for(self, conn: Connection, session: dict[str, Any], extra: dict[str, Any],
                    method: str, now: int) -> tuple[dict[str, Any], dict[str, Any]]:
        if extra.get("payment_intent"):
            pi, pi_extra = self._load(conn, "payment_intent", extra["payment_intent"], "intent")
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
        self._save(conn, session, extra)
        return pi, {"session": session["id"]}

    def _pay_card(self, conn: Connection, session: dict[str, Any], extra: dict[str, Any],
                  card: cards.CardInput, name: str, email: str | None, now: int
                  ) -> PaymentResult:
        pi, pi_extra = self._intent_for(conn, session, extra, "card", now)
        decline = cards.outcome_of(card.number)
        if decline is not None:
            error = {"type": "card_error", "code": decline.code, "message": decline.message,
                     "doc_url": "https://stripe.com/docs/error-codes/"
                     + decline.code.replace("_", "-")}
            if decline.decline_code:
                error["decline_code"] = decline.decline_code
            pi = {**pi, "status": "requires_payment_method", "last_payment_error": error}
            self._save(conn, pi, pi_extra)
            # The session stays open for another try; Stripe sends no checkout.session event.
            self._emit(conn, "payment_intent.payment_failed", pi, CUSTOMER_ACTION)
            return PaymentResult("declined", session, decline.message,
                                 decline_code=decline.decline_code or decline.code)
        details = build.card_details(brand=card.brand, last4=card.last4)
        charge = self._new_charge(conn, pi, name, email, details, "succeeded", now,
                                  refund_fails=card.number == cards.REFUND_FAILS)
        pi = {**pi, "status": "succeeded", "amount_received": pi["amount"],
              "latest_charge": charge["id"], "payment_method": charge["payment_method"],
              "last_payment_error": None}
        self._save(conn, pi, pi_extra)
        session = self._complete(conn, session, extra, pi, name, email, "paid")
        self._emit(conn, "checkout.session.completed", session, CUSTOMER_ACTION)
        self._emit(conn, "payment_intent.succeeded", pi, CUSTOMER_ACTION)
        return PaymentResult("succeeded", session, redirect_url=self.success_redirect(session))

    def _pay_bank_debit(self, conn: Connection, session: dict[str, Any], extra: dict[str, Any],
                        name: str, email: str, now: int) -> PaymentResult:
        pi, pi_extra = self._intent_for(conn, session, extra, "bank_debit", now)
        charge = self._new_charge(conn, pi, name, email, build.bank_debit_details(), "pending",
                                  now)
        pi = {**pi, "status": "processing", "latest_charge": charge["id"],
              "payment_method": charge["payment_method"], "last_payment_error": None}
        self._save(conn, pi, pi_extra)
        session = self._complete(conn, session, extra, pi, name, email, "unpaid")
        self._emit(conn, "checkout.session.completed", session, CUSTOMER_ACTION)
        return PaymentResult("processing", session, redirect_url=self.success_redirect(session))

    def _new_charge(self, conn: Connection, pi: dict[str, Any], name: str, email: str | None,
                    details: dict[str, Any], status: str, now: int, *,
                    refund_fails: bool = False) -> dict[str, Any]:
        charge = build.charge_body(
            charge_id=new_id("ch"), created=now, amount=pi["amount"], currency=pi["currency"],
            pi_id=pi["id"], pm_id=new_id("pm"), metadata=pi["metadata"], name=name,
            email=email, details=details, status=status)
        conn.execute(insert(objects).values(
            id=charge["id"], kind="charge", created=now, status=status,
            payment_intent=pi["id"], body=dumps(charge),
            extra=dumps({"refund_fails": refund_fails})))
        return charge

    def _complete(self, conn: Connection, session: dict[str, Any], extra: dict[str, Any],
                  pi: dict[str, Any] | None, name: str, email: str | None,
                  payment_status: str) -> dict[str, Any]:
        session = {
            **session, "status": "complete", "payment_status": payment_status, "url": None,
            "payment_intent": pi["id"] if pi else None,
            "customer_details": build.customer_details(email=email, name=name),
            "collected_information": {"business_name": None, "individual_name": None,
                                      "shipping_details": None},
        }
        self._save(conn, session, extra)
        return session

    def success_redirect(self, session: dict[str, Any]) -> str | None:
        """Return the success_url with {CHECKOUT_SESSION_ID} filled in, as Stripe redirects."""
        url = session.get("success_url")
        return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None

    def settle_async(self, target: str, succeeded: bool) -> dict[str, Any]:
        """Settle a bank-debit payment (by session or PaymentIntent id); return the session."""
        with self.store.write() as conn:
            if target.startswith("cs_"):
                session, extra = self._load(conn, "checkout.session", target, "session")
                if not session["payment_intent"]:
                    raise StripeError.invalid(f"Checkout Session {target} has no payment yet.")
                pi, pi_extra = self._load(conn, "payment_intent", session["payment_intent"],
                                          "intent")
            else:
                pi, pi_extra = self._load(conn, "payment_intent", target, "intent")
                session, extra = self._load(conn, "checkout.session", pi_extra["session"],
                                            "session")
            if pi["status"] != "processing":
                raise StripeError.invalid(
                    f"PaymentIntent {pi['id']} is {pi['status']}, not processing: only a "
                    "bank-debit payment waiting to settle can be settled.",
                    code="payment_intent_unexpected_state")
            charge, charge_extra = self._load(conn, "charge", pi["latest_charge"], "charge")
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
            self._save(conn, charge, charge_extra)
            self._save(conn, pi, pi_extra)
            self._save(conn, session, extra)
            self._emit(conn, kinds[0], session, CUSTOMER_ACTION)
            self._emit(conn, kinds[1], pi, CUSTOMER_ACTION)
        return session

    # Events ---------------------------------------------------------------------------------

    def _emit(self, conn: Connection, type_: str, obj: dict[str, Any], request: RequestInfo,
              previous: dict[str, Any] | None = None) -> str:
        now = self._now(conn)
        body = build.event_body(event_id=new_id("evt"), created=now, type_=type_, obj=obj,
                                previous=previous, request_id=request.request_id,
                                idempotency_key=request.idempotency_key)
        conn.execute(insert(events).values(id=body["id"], type=type_, created=now,
                                           body=dumps(body)))
        for url in self.endpoints:
            conn.execute(insert(deliveries).values(
                event_id=body["id"], url=url, state="pending", attempts=0, next_attempt_at=now))
        return body["id"]

    def _event_body(self, conn: Connection, body: dict[str, Any]) -> dict[str, Any]:
        pending = conn.execute(
            select(func.count(func.distinct(deliveries.c.url))).where(
                deliveries.c.event_id == body["id"], deliveries.c.state != "delivered")).scalar()
        return {**body, "pending_webhooks": int(pending or 0)}

    def retrieve_event(self, event_id: str) -> dict[str, Any]:
        """Return an Event."""
        with self.store.read() as conn:
            row = conn.execute(select(events.c.body).where(events.c.id == event_id)).first()
            if row is None:
                raise StripeError.no_such("event", event_id, "id")
            return self._event_body(conn, json.loads(row.body))

    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """List events, newest first, by type(s) and created range."""
        reject_unknown(params, {"created", "ending_before", "expand", "limit",
                                "starting_after", "type", "types"})
        where = []
        if params.get("type"):
            pattern = as_str(params["type"], "type")
            # Stripe accepts one `*` wildcard, as in checkout.session.*.
            where.append(events.c.type.like(pattern.replace("*", "%"))
                         if "*" in pattern else events.c.type == pattern)
        if params.get("types"):
            types = params["types"]
            if not isinstance(types, list):
                raise StripeError.invalid("Invalid array", param="types")
            where.append(events.c.type.in_([as_str(item, "types") for item in types]))
        where += self._created_filter(events.c.created, params.get("created"))
        page = self._page(events, where, params, "/v1/events", "event")
        with self.store.read() as conn:
            page["data"] = [self._event_body(conn, body) for body in page["data"]]
        return page

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Return every event (optionally of one type), oldest first, for tests."""
        query = select(events.c.body).order_by(events.c.seq)
        if type:
            query = query.where(events.c.type == type)
        with self.store.read() as conn:
            return [self._event_body(conn, json.loads(row.body))
                    for row in conn.execute(query).all()]

    def delivery_attempts(self, event_id: str | None = None) -> list[DeliveryResult]:
        """Return the delivery attempt log, oldest first."""
        query = select(attempts).order_by(attempts.c.id)
        if event_id:
            query = query.where(attempts.c.event_id == event_id)
        with self.store.read() as conn:
            return [DeliveryResult(
                event_id=row.event_id, event_type=row.event_type, url=row.url,
                attempt=row.attempt, status_code=row.status_code, error=row.error,
                duration_ms=row.duration_ms, ok=bool(row.ok), sandbox_time=row.sandbox_time)
                for row in conn.execute(query).all()]

    def resend(self, event_id: str) -> str:
        """Queue an event again for every endpoint, as `stripe events resend` does."""
        with self.store.write() as conn:
            if conn.execute(select(events.c.id).where(events.c.id == event_id)).first() is None:
                raise StripeError.no_such("event", event_id, "id")
            now = self._now(conn)
            for url in self.endpoints:
                conn.execute(insert(deliveries).values(
                    event_id=event_id, url=url, state="pending", attempts=0,
                    next_attempt_at=now))
        self.ensure_worker()
        return event_id

    def set_endpoint_down(self, seconds: int) -> int:
        """Make every endpoint answer 503 for `seconds` of sandbox time; return when it ends."""
        seconds = control_seconds(seconds)
        with self.store.write() as conn:
            until = self._now(conn) + seconds
            self.store.set_state(conn, "endpoint_down_until", str(until))
        return until

    # Due work: expiry, refund settlement, delivery -----------------------------------------

    def run_due(self) -> None:
        """Expire sessions whose expires_at passed and settle refunds waiting to settle."""
        with self.store.write() as conn:
            now = self._now(conn)
            rows = conn.execute(select(objects).where(
                objects.c.kind == "checkout.session", objects.c.status == "open",
                objects.c.expires_at <= now)).all()
            for row in rows:
                self._expire(conn, json.loads(row.body), json.loads(row.extra), CUSTOMER_ACTION)
            self._settle_refunds(conn)

    def deliver_pending(self) -> list[DeliveryResult]:
        """Run due work, then deliver every due event delivery (and due retry) now."""
        from checkout.sandbox.delivery import Deliverer

        self.run_due()
        results: list[DeliveryResult] = []
        with Deliverer(self) as deliverer:
            while True:
                with self.store.read() as conn:
                    now = self._now(conn)
                    due = conn.execute(select(deliveries.c.id).where(
                        deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now
                    ).order_by(deliveries.c.id).limit(100)).scalars().all()
                done = [result for delivery_id in due
                        if (result := self._deliver_one(deliverer, delivery_id)) is not None]
                results += done
                if not done:
                    return results

    def _deliver_one(self, deliverer: Any, delivery_id: int) -> DeliveryResult | None:
        token = new_id("claim")
        wall = time.time()
        with self.store.write() as conn:
            now = self._now(conn)
            # The conditional UPDATE is the claim: two workers never send the same attempt.
            claimed = conn.execute(update(deliveries).where(
                deliveries.c.id == delivery_id, deliveries.c.state == "pending",
                deliveries.c.next_attempt_at <= now,
                or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < wall),
            ).values(claim_token=token, claimed_until=wall + CLAIM_LEASE)).rowcount
            if claimed != 1:
                return None
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
            event_row = conn.execute(select(events).where(events.c.id == row.event_id)).one()
            body = self._event_body(conn, json.loads(event_row.body))
            down_until = int(self.store.get_state(conn, "endpoint_down_until", "0"))
        attempt_no = row.attempts + 1
        if now < down_until:
            status, error, duration = 503, "endpoint down (sandbox control)", 0
        else:
            status, error, duration = deliverer.post(row.url, dumps(body))
        ok = status is not None and 200 <= status < 300
        log.info("sandbox webhook %s %s -> %s attempt %d %s", body["type"], row.url,
                 status, attempt_no, error or "")
        with self.store.write() as conn:
            now = self._now(conn)
            if ok:
                values: dict[str, Any] = {"state": "delivered"}
            elif attempt_no >= MAX_ATTEMPTS:
                values = {"state": "failed"}
            else:
                values = {"next_attempt_at": now + RETRY_DELAYS[attempt_no - 1]}
            conn.execute(update(deliveries).where(
                and_(deliveries.c.id == delivery_id, deliveries.c.claim_token == token)
            ).values(attempts=attempt_no, claim_token=None, claimed_until=None, **values))
            conn.execute(insert(attempts).values(
                delivery_id=delivery_id, event_id=row.event_id, event_type=body["type"],
                url=row.url, attempt=attempt_no, sandbox_time=now, status_code=status,
                error=error, duration_ms=duration, ok=int(ok)))
        return DeliveryResult(event_id=row.event_id, event_type=body["type"], url=row.url,
                              attempt=attempt_no, status_code=status, error=error,
                              duration_ms=duration, ok=ok, sandbox_time=now)

    # Idempotency ----------------------------------------------------------------------------

    def idempotency_begin(self, key: str, endpoint: str, params: dict[str, Any]
                          ) -> tuple[int, str, str | None] | None:
        """Reserve a key for this request, or return the stored (status, body, request id).

        Raises the 400 idempotency_error or 409 conflict that Stripe answers.
        """
        fingerprint = hashlib.sha256(dumps_sorted(params).encode()).hexdigest()
        with self.store.write() as conn:
            now = self._now(conn)
            row = conn.execute(select(idempotency).where(idempotency.c.key == key)).first()
            if row is not None and (row.created + IDEMPOTENCY_TTL <= now or (
                    row.state == "in_flight" and row.created + IN_FLIGHT_STALE <= now)):
                conn.execute(delete(idempotency).where(idempotency.c.key == key))
                row = None
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(idempotency).values(
                            key=key, endpoint=endpoint, fingerprint=fingerprint, created=now,
                            state="in_flight"))
                except IntegrityError:
                    raise _in_use(key) from None
                return None
        if row.endpoint != endpoint:
            raise StripeError(400, "idempotency_error",
                              "Keys for idempotent requests can only be used for the same "
                              f"endpoint they were first used for ('{row.endpoint}'). Try "
                              "using a key other than '" + key + "' if you meant to execute "
                              "a different request.")
        if row.fingerprint != fingerprint:
            raise StripeError(400, "idempotency_error",
                              "Keys for idempotent requests can only be used with the same "
                              "parameters they were first used with. Try using a key other "
                              f"than '{key}' if you meant to execute a different request.")
        if row.state == "in_flight":
            raise _in_use(key)
        return row.status_code, row.response, row.request_id

    def idempotency_finish(self, key: str, status: int | None, body: str | None,
                           request_id: str) -> None:
        """Store the response for replays, or (status None) forget the key."""
        with self.store.write() as conn:
            if status is None:
                conn.execute(delete(idempotency).where(idempotency.c.key == key))
            else:
                conn.execute(update(idempotency).where(idempotency.c.key == key).values(
                    state="done", status_code=status, response=body, request_id=request_id))

    # Storage helpers ------------------------------------------------------------------------

    _NAMES = {"checkout.session": "checkout.session", "payment_intent": "payment_intent",
              "charge": "charge", "refund": "refund"}

    def _load(self, conn: Connection, kind: str, object_id: Any, param: str
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(object_id, str):
            raise StripeError.invalid("Invalid string", param=param)
        row = conn.execute(select(objects.c.body, objects.c.extra).where(
            objects.c.id == object_id, objects.c.kind == kind)).first()
        if row is None:
            raise StripeError.no_such(self._NAMES[kind], object_id, param)
        return json.loads(row.body), json.loads(row.extra)

    @staticmethod
    def _save(conn: Connection, body: dict[str, Any], extra: dict[str, Any]) -> None:
        conn.execute(update(objects).where(objects.c.id == body["id"]).values(
            status=body.get("status"), payment_intent=(
                body.get("payment_intent") if body["object"] != "payment_intent" else None),
            body=dumps(body), extra=dumps(extra)))

    @staticmethod
    def _limit(params: dict[str, Any]) -> int:
        if params.get("limit") in (None, ""):
            return 10
        return as_int(params["limit"], "limit", minimum=1, maximum=100)

    @staticmethod
    def _created_filter(column: Any, created: Any) -> list[Any]:
        if created in (None, ""):
            return []
        if not isinstance(created, dict):
            return [column == as_int(created, "created")]
        ops = {"gt": column.__gt__, "gte": column.__ge__, "lt": column.__lt__,
               "lte": column.__le__}
        reject_unknown_nested(created, ops, "created")
        return [ops[op](as_int(value, f"created[{op}]")) for op, value in created.items()]

    def _page(self, table: Any, where: list[Any], params: dict[str, Any], url: str,
              object_name: str) -> dict[str, Any]:
        limit = self._limit(params)
        with self.store.read() as conn:
            query = select(table.c.body).where(*where)
            for cursor_param in ("starting_after", "ending_before"):
                cursor = params.get(cursor_param)
                if cursor:
                    cursor = as_str(cursor, cursor_param)
                    seq = conn.execute(select(table.c.seq).where(table.c.id == cursor)).scalar()
                    if seq is None:
                        raise StripeError.no_such(object_name, cursor, cursor_param)
                    before = cursor_param == "starting_after"
                    query = query.where(table.c.seq < seq if before else table.c.seq > seq)
            if params.get("ending_before") and not params.get("starting_after"):
                rows = conn.execute(query.order_by(table.c.seq).limit(limit + 1)).all()
                has_more = len(rows) > limit
                rows = list(reversed(rows[:limit]))
            else:
                rows = conn.execute(query.order_by(table.c.seq.desc()).limit(limit + 1)).all()
                has_more = len(rows) > limit
                rows = rows[:limit]
        return {"object": "list", "data": [json.loads(row.body) for row in rows],
                "has_more": has_more, "url": url}

    # Background worker ----------------------------------------------------------------------

    def ensure_worker(self) -> None:
        """Start the delivery thread in this process unless tests drive delivery themselves."""
        if not self.background:
            return
        if self._worker is not None and self._worker.is_alive():
            return
        with self._worker_lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self._stop.clear()
            self._worker = threading.Thread(target=self._work, name="sandbox-webhooks",
                                            daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.deliver_pending()
            except Exception:  # the loop must outlive one bad tick; the log says what broke
                log.exception("sandbox background tick failed")

    def close(self) -> None:
        """Stop the worker and release the database."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        self.store.dispose()


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


def control_seconds(seconds: Any) -> int:
    """Check a control's `seconds`: a whole number from 0 to MAX_CONTROL_SECONDS (10 years)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"seconds must be a whole number, not {seconds!r}")
    if not 0 <= seconds <= MAX_CONTROL_SECONDS:
        raise ValueError(f"seconds must be between 0 and {MAX_CONTROL_SECONDS} (10 years); "
                         "the sandbox clock only moves forward")
    return seconds


def _in_use(key: str) -> StripeError:
    return StripeError(409, "invalid_request_error",
                       f"There is currently another in-progress request using this "
                       f"Idempotency-Key ('{key}'). Please try again later.",
                       code="idempotency_key_in_use")


def dumps_sorted(data: Any) -> str:
    """Serialise parameters canonically so equal requests compare equal."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
