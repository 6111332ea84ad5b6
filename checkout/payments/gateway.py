"""One gateway interface over Stripe (or the sandbox), translating SDK errors to ours."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import stripe

from checkout.domain.errors import GatewayUnavailable, PaymentDeclined

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutSessionInfo:
    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    amount_total: int | None
    currency: str | None
    client_reference_id: str | None
    payment_intent: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class RefundInfo:
    id: str
    amount: int
    status: str  # pending | requires_action | succeeded | failed | canceled
    payment_intent: str | None
    failure_reason: str | None
    # The shop's own key for the request, when the shop asked for this refund.
    request_key: str | None
    currency: str | None = None


class InvalidWebhook(ValueError):
    """The webhook body or signature cannot be trusted."""


class GatewayRequestRejected(GatewayUnavailable):
    """The provider refused our request as invalid (a bug on our side, or a stale parameter)."""

    def __init__(self, message: str, param: str | None):
        super().__init__(message)
        self.param = param


class PaymentGateway(Protocol):
    def create_checkout(self, params: dict[str, Any], idempotency_key: str) -> CheckoutSessionInfo:
        ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSessionInfo:
        ...

    def expire_checkout(self, session_id: str) -> CheckoutSessionInfo:
        ...

    def refund(
        self, payment_intent: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundInfo:
        ...

    def list_refunds(self, payment_intent: str) -> list[RefundInfo]:
        ...

    def list_events(self, since: datetime) -> Iterator[stripe.Event]:
        ...

    def list_checkout_sessions(self, since: datetime) -> Iterator[CheckoutSessionInfo]:
        ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> stripe.Event:
        ...

    def parse_stored_event(self, payload: bytes) -> stripe.Event:
        ...

    def create_coupon(self, params: dict[str, Any], idempotency_key: str) -> str:
        ...

    def create_tax_rate(self, params: dict[str, Any], idempotency_key: str) -> str:
        ...


def _id_of(value: Any) -> str | None:
    """An expandable field's id, whether the id or the expanded object came back."""
    if value is None or isinstance(value, str):
        return value
    return value.id


# No refund is larger than this many minor units (Stripe's own ceiling is far lower).
MAX_AMOUNT = 10**12


def _text(value: Any, what: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 255 or "\x00" in value:
        raise InvalidWebhook(f"refund {what} is not a usable string")
    return value


def refund_info(refund: Any) -> RefundInfo:
    """Copy the fields the shop uses out of an SDK Refund; InvalidWebhook if they make no sense.

    A refund comes from a signed event or from the provider's own answer, but the shop still
    refuses amounts and ids it could not store rather than fail on them half-way.
    """
    amount = getattr(refund, "amount", None)
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidWebhook(f"refund amount {amount!r} is not a positive whole number")
    intent = getattr(refund, "payment_intent", None)
    if intent is not None and not isinstance(intent, str):
        # An expanded PaymentIntent; anything else is no id at all.
        intent = getattr(intent, "id", None) or {"unusable": intent}
    metadata = refund.metadata.to_dict() if getattr(refund, "metadata", None) else {}
    key = metadata.get("refund_request")
    return RefundInfo(
        id=_text(getattr(refund, "id", None), "id", optional=False),
        amount=amount,
        status=_text(getattr(refund, "status", None), "status", optional=False),
        payment_intent=_text(intent, "payment_intent"),
        failure_reason=_text(getattr(refund, "failure_reason", None), "failure_reason"),
        request_key=key if isinstance(key, str) else None,
        currency=_text(getattr(refund, "currency", None), "currency"),
    )


def session_info(session: Any) -> CheckoutSessionInfo:
    """Copy the fields the shop uses out of an SDK Checkout Session."""
    metadata = session.metadata.to_dict() if session.metadata else {}
    return CheckoutSessionInfo(
        id=session.id,
        url=session.url,
        status=session.status,
        payment_status=session.payment_status,
        amount_total=session.amount_total,
        currency=session.currency,
        client_reference_id=session.client_reference_id,
        payment_intent=_id_of(session.payment_intent),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


class StripeGateway:
    """Stripe through the official SDK; the sandbox differs only in base URL and keys."""

    def __init__(self, client: stripe.StripeClient, webhook_secret: str):
        self.client = client
        self.webhook_secret = webhook_secret

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or "The card was declined.") from exc
        except stripe.InvalidRequestError as exc:
            log.error("Stripe rejected %s: %s (param %s)", what, exc.user_message, exc.param)
            raise GatewayRequestRejected(str(exc.user_message), exc.param) from exc
        except stripe.StripeError as exc:
            log.error("Stripe failed on %s: %s", what, exc)
            raise GatewayUnavailable("The payment provider could not be reached.") from exc

    def create_checkout(self, params: dict[str, Any], idempotency_key: str) -> CheckoutSessionInfo:
        session = self._call(
            "checkout session create",
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return session_info(session)

    def retrieve_checkout(self, session_id: str) -> CheckoutSessionInfo:
        session = self._call(
            "checkout session retrieve", self.client.v1.checkout.sessions.retrieve, session_id
        )
        return session_info(session)

    def expire_checkout(self, session_id: str) -> CheckoutSessionInfo:
        session = self._call(
            "checkout session expire", self.client.v1.checkout.sessions.expire, session_id
        )
        return session_info(session)

    def refund(
        self, payment_intent: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundInfo:
        refund = self._call(
            "refund create",
            self.client.v1.refunds.create,
            params={"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return refund_info(refund)

    def list_refunds(self, payment_intent: str) -> list[RefundInfo]:
        page = self._call(
            "refund list",
            self.client.v1.refunds.list,
            params={"payment_intent": payment_intent, "limit": 100},
        )
        return [refund_info(refund) for refund in page.auto_paging_iter()]

    def _walk(self, what: str, resource: Any, since: datetime) -> Iterator[Any]:
        """Every object `resource` lists created at or after `since`, newest first.

        The SDK's auto-pagination asks for each next page as the walk reaches it; a page
        that fails raises GatewayUnavailable like any other call.
        """
        page = self._call(
            what, resource.list,
            params={"created": {"gte": int(since.timestamp())}, "limit": 100},
        )
        items = page.auto_paging_iter()
        while (item := self._call(what, next, items, None)) is not None:
            yield item

    def list_events(self, since: datetime) -> Iterator[stripe.Event]:
        """Every event created at or after `since`, newest first (Stripe keeps 30 days)."""
        return self._walk("event list", self.client.v1.events, since)

    def list_checkout_sessions(self, since: datetime) -> Iterator[CheckoutSessionInfo]:
        """Every Checkout Session created at or after `since`, newest first."""
        return (
            session_info(session)
            for session in self._walk("checkout session list", self.client.v1.checkout.sessions,
                                      since)
        )

    def create_coupon(self, params: dict[str, Any], idempotency_key: str) -> str:
        """Make a coupon under the id in `params`; one that exists already is that coupon."""
        try:
            coupon = self._call(
                "coupon create", self.client.v1.coupons.create, params=params,
                options={"idempotency_key": idempotency_key},
            )
        except GatewayRequestRejected as exc:
            # The id names the coupon's terms, so a coupon made under it earlier (its
            # idempotency key since forgotten) is the very coupon wanted.
            if exc.param != "id" or "already exists" not in str(exc):
                raise
            return params["id"]
        return coupon.id

    def create_tax_rate(self, params: dict[str, Any], idempotency_key: str) -> str:
        """Make a tax rate; return its id."""
        rate = self._call(
            "tax rate create", self.client.v1.tax_rates.create, params=params,
            options={"idempotency_key": idempotency_key},
        )
        return rate.id

    def parse_webhook(self, payload: bytes, signature: str | None) -> stripe.Event:
        try:
            return self.client.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook(f"bad signature: {exc.user_message or exc}") from exc
        except ValueError as exc:
            raise InvalidWebhook(f"malformed payload: {exc}") from exc

    def parse_stored_event(self, payload: bytes) -> stripe.Event:
        """Parse an event body verified when it arrived (a replay), as parse_webhook does."""
        try:
            return self.client.construct_event_without_verification(payload)
        except ValueError as exc:
            raise InvalidWebhook(f"malformed payload: {exc}") from exc
