"""One gateway interface over Stripe (or the sandbox), translating SDK errors to ours."""

import logging
import re
import time
from collections.abc import Callable, Iterator
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
    # When the session stops being payable (unix time), if the provider said.
    expires_at: int | None = None
    # The PaymentIntent's own status when the provider expanded it (a retrieve does).
    payment_intent_status: str | None = None


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


class UnknownToProvider(GatewayRequestRejected):
    """The provider has no object under the id we asked for."""


class PaymentGateway(Protocol):
    def now(self) -> int:
        ...

    def create_checkout(self, params: dict[str, Any], idempotency_key: str) -> CheckoutSessionInfo:
        ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSessionInfo:
        ...

    def expire_checkout(self, session_id: str) -> CheckoutSessionInfo:
        ...

    def retrieve_dispute(self, dispute_id: str) -> dict[str, Any]:
        ...

    def checkout_of_payment(self, payment_intent: str) -> CheckoutSessionInfo | None:
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
    # Printable: a NUL or a lone surrogate (JSON's \ud800) can be neither stored nor sent on.
    if not usable_text(value):
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
    metadata = getattr(refund, "metadata", None) or {}
    if isinstance(metadata, stripe.StripeObject):
        metadata = metadata.to_dict()
    if not isinstance(metadata, dict):
        raise InvalidWebhook("refund metadata is not an object")
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


def _fields(obj: Any, what: str) -> dict[str, Any]:
    """An SDK object (or plain dict) as a dict; InvalidWebhook if it is no object at all."""
    fields = obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj
    if not isinstance(fields, dict):
        raise InvalidWebhook(f"{what} is not an object")
    return fields


def usable_text(value: Any, limit: int = 255) -> bool:
    """Say whether `value` is text the shop can store and show: printable, 1 to `limit` long."""
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


# What Stripe's ids are made of. An id the shop puts in the path of a provider call must be
# one: "cs_../../v1/refunds" would ask for another resource with the shop's secret key.
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def usable_id(value: Any) -> bool:
    """Say whether `value` could be a Stripe object's id (letters, digits, underscores)."""
    return isinstance(value, str) and _STRIPE_ID.fullmatch(value) is not None


# The longest event type the webhook log stores.
MAX_EVENT_TYPE = 100


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# No timestamp of a real event or session lies beyond the year 9999 (datetime's last one).
MAX_TIMESTAMP = 253_402_300_799
# Stripe's clock and ours may differ a little; an event stamped further ahead than this was
# not made by Stripe (and would sort after everything real in the webhook log).
MAX_EVENT_AHEAD_SECONDS = 300


def check_event(event: Any, now: int) -> None:
    """Refuse an event whose envelope no handler could read, or stamped in the future.

    Raises InvalidWebhook. The object inside is checked by the handler's own reader; here
    only that there is one and that its id, if any, could be stored.
    """
    fields = _fields(event, "the event")
    if not usable_text(fields.get("id")):
        raise InvalidWebhook("event without a usable id")
    if not usable_text(fields.get("type"), MAX_EVENT_TYPE):
        raise InvalidWebhook("event without a usable type")
    created = fields.get("created")
    if not _whole(created) or not 0 < created <= MAX_TIMESTAMP:
        raise InvalidWebhook(f"event created {created!r} is not a unix time")
    if created > now + MAX_EVENT_AHEAD_SECONDS:
        raise InvalidWebhook(f"event created {created - now} s in the future")
    data = fields.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidWebhook("event without a data object")
    object_id = data["object"].get("id")
    if object_id is not None and not usable_text(object_id):
        raise InvalidWebhook("event object without a usable id")


def _optional(fields: dict[str, Any], key: str, check, what: str) -> Any:
    value = fields.get(key)
    if value is not None and not check(value):
        raise InvalidWebhook(f"checkout session {key} is not {what}")
    return value


def _required(fields: dict[str, Any], key: str, check, what: str) -> Any:
    if key not in fields:
        raise InvalidWebhook(f"checkout session without {key}")
    return _optional(fields, key, check, what)


def session_info(session: Any) -> CheckoutSessionInfo:
    """Copy the fields the shop uses out of an SDK Checkout Session; InvalidWebhook if nonsense.

    Every field a session always carries (null or not) must be there with the right type,
    whether it came from an event or from the provider's answer.
    """
    fields = _fields(session, "the checkout session")
    if not usable_id(fields.get("id")):
        raise InvalidWebhook("checkout session without a usable id")
    status = _required(fields, "status", usable_text, "text")
    payment_status = _required(fields, "payment_status", usable_text, "text")
    if status is None or payment_status is None:
        raise InvalidWebhook("checkout session without a status")
    amount = _required(fields, "amount_total", lambda v: _whole(v) and 0 <= v <= MAX_AMOUNT,
                       "an amount")
    currency = _required(fields, "currency", usable_text, "text")
    intent = _required(fields, "payment_intent",
                       lambda v: usable_text(v) or (isinstance(v, dict)
                                                     and usable_text(v.get("id"))),
                       "a PaymentIntent")
    intent_status = None
    if isinstance(intent, dict):
        intent_status = intent.get("status") if usable_text(intent.get("status")) else None
        intent = intent["id"]
    metadata = _optional(fields, "metadata", lambda v: isinstance(v, dict), "an object") or {}
    return CheckoutSessionInfo(
        id=fields["id"],
        url=_optional(fields, "url", lambda v: isinstance(v, str), "text"),
        status=status,
        payment_status=payment_status,
        amount_total=amount,
        currency=currency,
        client_reference_id=_optional(fields, "client_reference_id", usable_text, "text"),
        payment_intent=intent,
        metadata={str(k): str(v) for k, v in metadata.items()},
        expires_at=_optional(fields, "expires_at",
                             lambda v: _whole(v) and 0 < v <= MAX_TIMESTAMP, "a unix time"),
        payment_intent_status=intent_status,
    )


# Stripe's objects nest a few levels deep; a body nested deeper is no event. Parsing one (json,
# then the SDK's objects) recurses once per level, and RecursionError is no ValueError.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _too_deep(payload: bytes) -> bool:
    """Say whether JSON text nests arrays and objects deeper than MAX_JSON_DEPTH."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", payload)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


class StripeGateway:
    """Stripe through the official SDK; the sandbox differs only in base URL and keys."""

    def __init__(
        self, client: stripe.StripeClient, webhook_secret: str,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        self.webhook_secret = webhook_secret
        self.clock = clock

    def now(self) -> int:
        """The provider's unix time (the sandbox's may run ahead of ours)."""
        return int(self.clock())

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or "The card was declined.") from exc
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise UnknownToProvider(str(exc.user_message), exc.param) from exc
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
        # The PaymentIntent's status tells a debit still processing from one that failed.
        session = self._call(
            "checkout session retrieve", self.client.v1.checkout.sessions.retrieve, session_id,
            params={"expand": ["payment_intent"]},
        )
        return session_info(session)

    def checkout_of_payment(self, payment_intent: str) -> CheckoutSessionInfo | None:
        """The Checkout Session that took a payment, or None when none did."""
        page = self._call(
            "checkout session list", self.client.v1.checkout.sessions.list,
            params={"payment_intent": payment_intent, "limit": 1,
                    "expand": ["data.payment_intent"]},
        )
        return session_info(page.data[0]) if page.data else None

    def expire_checkout(self, session_id: str) -> CheckoutSessionInfo:
        session = self._call(
            "checkout session expire", self.client.v1.checkout.sessions.expire, session_id
        )
        return session_info(session)

    def retrieve_dispute(self, dispute_id: str) -> dict[str, Any]:
        """The provider's own copy of a dispute, as a dict (the webhook handler reads it)."""
        dispute = self._call(
            "dispute retrieve", self.client.v1.disputes.retrieve, dispute_id
        )
        return _fields(dispute, "the dispute")

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
        if _too_deep(payload):
            raise InvalidWebhook(f"malformed payload: nested deeper than {MAX_JSON_DEPTH}")
        try:
            return self.client.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook(f"bad signature: {exc.user_message or exc}") from exc
        except (ValueError, AttributeError, TypeError, KeyError) as exc:
            # Valid JSON that is no object (a list, a number) fails inside the SDK's parser.
            raise InvalidWebhook(f"malformed payload: {exc}") from exc

    def parse_stored_event(self, payload: bytes) -> stripe.Event:
        """Parse an event body verified when it arrived (a replay), as parse_webhook does."""
        if _too_deep(payload):
            raise InvalidWebhook(f"malformed payload: nested deeper than {MAX_JSON_DEPTH}")
        try:
            return self.client.construct_event_without_verification(payload)
        except (ValueError, AttributeError, TypeError, KeyError) as exc:
            raise InvalidWebhook(f"malformed payload: {exc}") from exc
