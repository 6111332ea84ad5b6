"""The Python control API: one object per sandbox app, delegating to the resource modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from stripe_sandbox import (
    clock,
    delivery,
    disputes,
    events,
    idempotency,
    payments,
    price_objects,
    refunds,
    sessions,
)
from stripe_sandbox.config import endpoints_of
from stripe_sandbox.context import Context
from stripe_sandbox.delivery import Deliverer, DeliveryResult
from stripe_sandbox.events import CUSTOMER_ACTION, RequestInfo
from stripe_sandbox.payments import PaymentResult
from stripe_sandbox.store import Store, metadata
from stripe_sandbox.worker import Worker
from stripe_sandbox.wsgi import WSGIApp

Document = dict[str, Any]


class Sandbox:
    """A Stripe-compatible payment backend kept in its own database."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.api_key: str = config["API_KEY"]
        self.webhook_secret: str = config["WEBHOOK_SECRET"]
        self.display_name: str = config["DISPLAY_NAME"]
        self.background: bool = bool(config["BACKGROUND"])
        self.store = Store(config["DATABASE_URL"])
        self.ctx = Context(store=self.store, public_url=config["PUBLIC_URL"],
                           endpoints=endpoints_of(config["WEBHOOK_URL"]), wall=config["CLOCK"])
        self.local_apps: dict[str, WSGIApp] = {}
        self._worker = Worker(self.deliver_pending, float(config["WORKER_INTERVAL"]))

    @property
    def api_base(self) -> str:
        """Return the base URL to give the stripe SDK."""
        return self.ctx.public_url

    @property
    def endpoints(self) -> list[str]:
        """Return the webhook endpoint URLs events are delivered to."""
        return self.ctx.endpoints

    def deliver_in_process(self, base_url: str, app: WSGIApp) -> None:
        """Deliver webhooks for URLs under `base_url` by calling `app` in this thread."""
        self.local_apps[base_url.rstrip("/")] = app

    # Clock --------------------------------------------------------------------------------

    def now(self) -> int:
        """Return the sandbox's unix time (wall clock plus every advance_clock)."""
        with self.store.read() as conn:
            return clock.now(self.ctx, conn)

    def advance_clock(self, seconds: int) -> int:
        """Move the sandbox clock forward for every process; expire what is now due."""
        clock.advance(self.ctx, seconds)
        self.run_due()
        return self.now()

    def reset_clock(self) -> int:
        """Put the sandbox clock back on the wall clock (after a demo moved it forward).

        Sessions already expired stay expired; new ones are again measured from real time,
        which is how a shop computes expires_at.
        """
        clock.reset(self.ctx)
        return self.now()

    def reset(self) -> None:
        """Forget every object, event, delivery and the clock offset (between tests)."""
        with self.store.write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())

    # Resources ----------------------------------------------------------------------------

    def create_session(self, params: Document, request: RequestInfo = CUSTOMER_ACTION
                       ) -> Document:
        """Create an open payment-mode Checkout Session."""
        return sessions.create(self.ctx, params, request)

    def retrieve_session(self, session_id: str, expand: list[str] | None = None) -> Document:
        """Return a Checkout Session, optionally expanded."""
        return sessions.retrieve(self.ctx, session_id, expand)

    def refresh_session(self, session_id: str) -> Document:
        """Return a session, expiring it first if its expires_at has passed."""
        body, due = sessions.is_due(self.ctx, session_id)
        if due:
            self.run_due()
            return self.retrieve_session(session_id)
        return body

    def line_items_for_page(self, session_id: str) -> tuple[Document, list[Document]]:
        """Return a session and all its line items."""
        return sessions.with_line_items(self.ctx, session_id)

    def list_sessions(self, params: Document) -> Document:
        """List Checkout Sessions."""
        return sessions.list_page(self.ctx, params)

    def list_line_items(self, session_id: str, params: Document) -> Document:
        """List a session's line items."""
        return sessions.list_line_items(self.ctx, session_id, params)

    def expire_session(self, session_id: str, request: RequestInfo = CUSTOMER_ACTION,
                       expand: list[str] | None = None) -> Document:
        """Expire an open session now."""
        return sessions.expire_now(self.ctx, session_id, request, expand)

    def retrieve_payment_intent(self, pi_id: str, expand: list[str] | None = None
                                ) -> Document:
        """Return a PaymentIntent."""
        return payments.retrieve_intent(self.ctx, pi_id, expand)

    def create_refund(self, params: Document, request: RequestInfo = CUSTOMER_ACTION
                      ) -> Document:
        """Refund all or part of a payment."""
        return refunds.create(self.ctx, params, request)

    def retrieve_refund(self, refund_id: str, expand: list[str] | None = None) -> Document:
        """Return a Refund."""
        return refunds.retrieve(self.ctx, refund_id, expand)

    def create_coupon(self, params: Document) -> Document:
        """Create a coupon."""
        return price_objects.create_coupon_object(self.ctx, params)

    def retrieve_coupon(self, coupon_id: str, params: Document | None = None) -> Document:
        """Return a coupon (params may carry `expand`)."""
        return price_objects.retrieve_coupon(self.ctx, coupon_id, params or {})

    def create_tax_rate(self, params: Document) -> Document:
        """Create a tax rate."""
        return price_objects.create_tax_rate_object(self.ctx, params)

    def retrieve_tax_rate(self, tax_rate_id: str, params: Document | None = None) -> Document:
        """Return a tax rate."""
        return price_objects.retrieve(self.ctx, price_objects.TAX_RATE, tax_rate_id,
                                      params or {})

    def create_shipping_rate(self, params: Document) -> Document:
        """Create a shipping rate."""
        return price_objects.create_shipping_rate_object(self.ctx, params)

    def retrieve_shipping_rate(self, shipping_rate_id: str,
                               params: Document | None = None) -> Document:
        """Return a shipping rate."""
        return price_objects.retrieve(self.ctx, price_objects.SHIPPING_RATE,
                                      shipping_rate_id, params or {})

    def list_refunds(self, params: Document) -> Document:
        """List Refunds (by payment_intent or charge)."""
        return refunds.list_page(self.ctx, params)

    def retrieve_charge(self, charge_id: str, expand: list[str] | None = None) -> Document:
        """Return a Charge."""
        return payments.retrieve_charge(self.ctx, charge_id, expand)

    def retrieve_dispute(self, dispute_id: str, expand: list[str] | None = None) -> Document:
        """Return a Dispute."""
        return disputes.retrieve(self.ctx, dispute_id, expand)

    def retrieve_event(self, event_id: str) -> Document:
        """Return an Event."""
        return events.retrieve(self.ctx, event_id)

    def list_events(self, params: Document) -> Document:
        """List Events."""
        return events.list_page(self.ctx, params)

    # Paying and settling --------------------------------------------------------------------

    def pay(self, session_id: str, card: str = "4242424242424242", name: str = "Test Shopper",
            *, method: Literal["card", "bank_debit"] = "card", exp: str | None = None,
            cvc: str = "123", email: str | None = None,
            three_d_secure: Literal["complete", "fail"] | None = None) -> PaymentResult:
        """Pay a session exactly as submitting the hosted page does.

        `method="bank_debit"` pays by the sandbox's test bank account: the session completes
        with payment_status "unpaid" and settles later through `settle_async`.
        A 3-D Secure challenge card (4000 0025 0000 3155) answers the challenge as
        `three_d_secure` says; left None it stops at outcome "requires_action" until
        `authenticate` is called, as the hosted page's challenge step does.
        """
        self.ensure_worker()
        return payments.pay(self.ctx, session_id, card, name, method=method, exp=exp, cvc=cvc,
                            email=email, three_d_secure=three_d_secure)

    def challenge_pending(self, session_id: str) -> bool:
        """Say whether a session's payment waits for a 3-D Secure challenge."""
        return payments.challenge_pending(self.ctx, session_id)

    def authenticate(self, session_id: str, complete: bool) -> PaymentResult:
        """Complete (pay) or fail a session's pending 3-D Secure challenge."""
        self.ensure_worker()
        return payments.authenticate(self.ctx, session_id, complete)

    def success_redirect(self, session: Document) -> str | None:
        """Return where the hosted page sends the shopper after paying."""
        return sessions.success_redirect(session)

    def dashboard_refund(self, payment_intent_or_charge: str, amount: int | None = None
                         ) -> Document:
        """Refund a payment as from the Stripe Dashboard (emits refund.created, charge.refunded)."""
        refund = refunds.from_dashboard(self.ctx, payment_intent_or_charge, amount)
        self.ensure_worker()
        return refund

    def open_dispute(self, payment_intent_or_charge: str) -> Document:
        """Open a fraudulent dispute on a succeeded charge (emits charge.dispute.created)."""
        dispute = disputes.open_for(self.ctx, payment_intent_or_charge, CUSTOMER_ACTION)
        self.ensure_worker()
        return dispute

    def settle_async(self, target: str, succeeded: bool) -> Document:
        """Settle a bank-debit payment (by session or PaymentIntent id); return the session."""
        return payments.settle(self.ctx, target, succeeded)

    # Events and delivery ----------------------------------------------------------------------

    def events(self, type: str | None = None) -> list[Document]:
        """Return every event (optionally of one type), oldest first."""
        return events.all_events(self.ctx, type)

    def resend(self, event_id: str) -> str:
        """Queue an event again for every endpoint, as `stripe events resend` does."""
        events.resend(self.ctx, event_id)
        self.ensure_worker()
        return event_id

    def delivery_attempts(self, event_id: str | None = None) -> list[DeliveryResult]:
        """Return the delivery attempt log, oldest first."""
        return delivery.attempt_log(self.ctx, event_id)

    def set_endpoint_down(self, seconds: int) -> int:
        """Make every endpoint answer 503 for `seconds` of sandbox time; return when it ends."""
        return delivery.set_endpoint_down(self.ctx, seconds)

    def run_due(self) -> None:
        """Expire sessions whose expires_at passed and settle refunds waiting to settle."""
        with self.store.write() as conn:
            sessions.expire_due(self.ctx, conn)
            refunds.settle_due(self.ctx, conn)

    def deliver_pending(self) -> list[DeliveryResult]:
        """Run due work, then deliver every due event delivery (and due retry) now."""
        self.run_due()
        with Deliverer(self.webhook_secret, self.local_apps) as deliverer:
            return delivery.deliver_due(self.ctx, deliverer)

    # Idempotency (the HTTP API's) ---------------------------------------------------------------

    def idempotency_begin(self, key: str, endpoint: str, params: Document
                          ) -> tuple[int, str, str | None] | None:
        """Reserve a key, or return the stored (status, body, request id)."""
        return idempotency.begin(self.ctx, key, endpoint, params)

    def idempotency_finish(self, key: str, status: int | None, body: str | None,
                           request_id: str) -> None:
        """Store the response for replays, or (status None) forget the key."""
        idempotency.finish(self.ctx, key, status, body, request_id)

    # Background worker ----------------------------------------------------------------------

    def ensure_worker(self) -> None:
        """Start the delivery thread in this process unless tests drive delivery themselves."""
        if self.background:
            self._worker.ensure_running()

    @property
    def worker_running(self) -> bool:
        """Say whether this process runs the delivery thread."""
        return self._worker.thread is not None

    def after_fork(self) -> None:
        """In a process forked from this one (a preloading server's worker): its own database
        connections. The delivery thread never crosses a fork; the child starts its own on
        its first request (ensure_worker)."""
        self.store.after_fork()

    def close(self) -> None:
        """Stop the worker and release the database."""
        self._worker.stop()
        self.store.dispose()
