"""Reconciliation's rules: which window to read, and what Stripe and the shop must agree on.

Pure comparisons of plain facts; the service gathers the facts (Stripe's lists, our rows)
and applies what it can through the webhook handlers before asking these what is still wrong.
"""

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from checkout.domain.payment_status import refund_status_from_provider

# Stripe lets a list of events reach back 30 days; earlier events are gone.
EVENT_RETENTION = timedelta(days=30)

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """Read `--since`: an ISO 8601 date or time (UTC if no offset), or a duration like 3d.

    Durations count back from `now`: 90m, 12h, 3d, 2w. ValueError says what is wrong.
    """
    duration = _DURATION.match(text)
    if duration:
        amount, unit = int(duration.group(1)), duration.group(2).lower()
        if amount == 0:
            raise ValueError("the duration must be more than 0")
        back = timedelta(**{_UNITS[unit]: amount})
        if back > EVENT_RETENTION:
            # Refused before subtracting: 999999w back from now is before the year 1.
            raise ValueError("Stripe keeps events for 30 days: choose a moment within them")
        moment = now - back
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is neither an ISO 8601 date or time (2026-11-28, "
                "2026-11-28T09:00+00:00) nor a duration (90m, 12h, 3d, 2w)"
            ) from None
        try:
            moment = (moment.replace(tzinfo=UTC) if moment.tzinfo is None
                      else moment.astimezone(UTC))
        except OverflowError:
            # 9999-12-31T23:59-23:59 is valid ISO 8601 yet has no UTC moment a datetime holds.
            raise ValueError(f"{text!r} is out of range") from None
    if moment > now:
        raise ValueError(f"{moment.isoformat()} is in the future")
    if moment < now - EVENT_RETENTION:
        raise ValueError("Stripe keeps events for 30 days: choose a moment within them")
    return moment


class IssueKind(StrEnum):
    # Stripe took the money for a session no order of ours was made for.
    PAID_WITHOUT_ORDER = "paid_without_order"
    # A paid session's amount or currency is not its order's total.
    AMOUNT_MISMATCH = "amount_mismatch"
    # Stripe says paid, and after applying every event the order still is not.
    NOT_RECORDED = "not_recorded"
    # The shop counts a payment Stripe says never happened.
    PAID_HERE_ONLY = "paid_here_only"
    # A refund on Stripe that matches no payment of ours.
    UNKNOWN_REFUND = "unknown_refund"
    # A refund both sides know, whose amount or status they disagree on.
    REFUND_DIFFERS = "refund_differs"
    # Applying an event (or a session or refund Stripe lists) raised; a failed event was
    # stored as failed and staff were alerted.
    APPLY_FAILED = "apply_failed"
    # Applying an event flagged its order for staff (the event did not add up).
    FLAGGED = "flagged"
    # Stripe could not be asked: nothing was compared.
    PROVIDER_UNREACHABLE = "provider_unreachable"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    IssueKind.PAID_WITHOUT_ORDER: "Paid session with no order",
    IssueKind.AMOUNT_MISMATCH: "Amount mismatch",
    IssueKind.NOT_RECORDED: "Paid on Stripe, not here",
    IssueKind.PAID_HERE_ONLY: "Paid here, not on Stripe",
    IssueKind.UNKNOWN_REFUND: "Refund unknown here",
    IssueKind.REFUND_DIFFERS: "Refund differs",
    IssueKind.APPLY_FAILED: "Could not apply",
    IssueKind.FLAGGED: "Order flagged",
    IssueKind.PROVIDER_UNREACHABLE: "Stripe unreachable",
}


@dataclass(frozen=True)
class Issue:
    """Something reconciliation could not put right: a person must look."""

    kind: IssueKind
    detail: str
    stripe_id: str | None = None
    order_number: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fix:
    """Something Stripe knew and the shop did not, and what applying it did.

    `what` is the event's type for an event never handled here; "checkout.session" or
    "refund" for an object applied as Stripe lists it (its event was handled before there
    was anything to apply it to, or lies outside the window).
    """

    stripe_id: str
    what: str
    outcome: str
    order_number: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SessionFacts:
    """What Stripe says of one Checkout Session."""

    id: str
    status: str
    payment_status: str
    amount_total: int | None
    currency: str | None


@dataclass(frozen=True)
class LocalFacts:
    """What the shop holds for one session: its order and the payment recorded from it."""

    order_number: str | None = None
    order_total: int | None = None
    order_currency: str | None = None
    # None when no payment was recorded from this session.
    payment_status: str | None = None


# The shop's payment statuses that mean "the money was captured" (refunds included).
CAPTURED = frozenset({"succeeded", "partially_refunded", "refunded"})


def is_paid(session: SessionFacts) -> bool:
    """Say whether Stripe counts the session as paid (the money, or nothing, is due no more)."""
    return session.status == "complete" and session.payment_status in (
        "paid", "no_payment_required"
    )


def compare_session(session: SessionFacts, local: LocalFacts) -> list[Issue]:
    """What is wrong between a session and the shop's rows for it (nothing: [])."""
    number = local.order_number
    if is_paid(session):
        if number is None:
            return [Issue(IssueKind.PAID_WITHOUT_ORDER,
                          f"session {session.id} was paid ({session.amount_total} "
                          f"{(session.currency or '').upper()} minor units) and no order "
                          "of ours was made for it", session.id)]
        issues = []
        if session.amount_total != local.order_total or (
            (session.currency or "").lower() != (local.order_currency or "").lower()
        ):
            issues.append(Issue(
                IssueKind.AMOUNT_MISMATCH,
                f"session {session.id} took {session.amount_total} "
                f"{(session.currency or '').upper()} minor units; order {number} totals "
                f"{local.order_total} {local.order_currency}", session.id, number))
        if local.payment_status not in CAPTURED:
            issues.append(Issue(
                IssueKind.NOT_RECORDED,
                f"session {session.id} is paid on Stripe; order {number} has "
                f"{_payment_words(local.payment_status)}",
                session.id, number))
        return issues
    if local.payment_status in CAPTURED:
        return [Issue(
            IssueKind.PAID_HERE_ONLY,
            f"order {number} counts a payment from session {session.id}, which Stripe has "
            f"as {session.status}/{session.payment_status}", session.id, number)]
    return []


def _payment_words(status: str | None) -> str:
    return "no payment from it" if status is None else f"its payment {status}"


@dataclass(frozen=True)
class RefundFacts:
    """What Stripe says of one refund (its latest state), or what the shop holds of it."""

    id: str
    amount: int
    status: str
    payment_intent: str | None = None
    currency: str | None = None


def compare_refund(
    remote: RefundFacts, local: RefundFacts | None, order_number: str | None
) -> list[Issue]:
    """What is wrong between a refund on Stripe and the shop's row for it (nothing: [])."""
    if local is None:
        return [Issue(
            IssueKind.UNKNOWN_REFUND,
            f"refund {remote.id} of {remote.amount} {(remote.currency or '').upper()} minor "
            f"units on {remote.payment_intent or 'no payment intent'} ({remote.status}) is "
            "not recorded here", remote.id, order_number)]
    try:
        expected = str(refund_status_from_provider(remote.status))
    except ValueError:
        expected = remote.status
    if (remote.amount, expected) != (local.amount, local.status):
        return [Issue(
            IssueKind.REFUND_DIFFERS,
            f"refund {remote.id}: Stripe has {remote.amount} {remote.status}, the shop "
            f"{local.amount} {local.status}", remote.id, order_number)]
    return []
