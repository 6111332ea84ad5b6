"""Reconciliation: what Stripe knows and the shop never heard is applied, the rest reported.

Webhooks get lost (an endpoint down for longer than Stripe retries, a secret rotated
badly, a deploy at the wrong moment). This walks Stripe's events and Checkout Sessions of a
window, applies every event the shop has not handled through the very handler a webhook
runs (`webhooks.handle_event`: exactly once per event id, so reconciling and a late
delivery never apply anything twice), then compares each session and refund with the
shop's rows and reports what is still wrong. Every run is stored; the staff dashboard
shows the last one.
"""

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import stripe
from flask import current_app
from sqlalchemy import delete, select

from checkout import metrics
from checkout.db import now_utc
from checkout.domain.errors import GatewayUnavailable
from checkout.domain.outcomes import Outcome
from checkout.domain.reconciliation import (
    CAPTURED,
    Fix,
    Issue,
    IssueKind,
    LocalFacts,
    RefundFacts,
    SessionFacts,
    compare_refund,
    compare_session,
    is_paid,
)
from checkout.extensions import db
from checkout.models import Order, Payment, ReconciliationRun, Refund, WebhookEvent
from checkout.payments import (
    CheckoutSessionInfo,
    InvalidWebhook,
    RefundInfo,
    gateway,
    refund_info,
)
from checkout.services import fulfilment, payment_sessions, refunds, webhooks

log = logging.getLogger(__name__)
# Who the order timeline names for what reconciliation applied outside an event's handler.
ACTOR = "reconciliation"

T = TypeVar("T")
# Wraps each step's items to show progress: (items, what they are, how many if known).
Progress = Callable[[Iterable[T], str, int | None], Iterable[T]]

# Outcomes of an event that changed nothing here: not counted as fixes.
CHANGED_NOTHING = frozenset({
    Outcome.DUPLICATE, Outcome.IGNORED, Outcome.STALE, Outcome.UNMATCHED, Outcome.NOT_COMPLETE,
})
# Outcomes of applying a listed session or refund that put nothing right (a flag is the
# comparison's to report).
NOT_A_FIX = CHANGED_NOTHING | {Outcome.FLAGGED}
# Runs kept for the record; older ones are deleted as new ones are stored.
KEEP_RUNS = 200
# Event ids looked up per query (SQLite caps the parameters of one statement).
ID_BATCH = 500


def _quiet(items: Iterable[T], what: str, total: int | None) -> Iterable[T]:
    return items


def reconcile_recent() -> int:
    """Reconcile the last RECONCILE_WINDOW_DAYS (the periodic job); return the issues left."""
    since = now_utc() - timedelta(days=current_app.config["RECONCILE_WINDOW_DAYS"])
    return len(reconcile(since, trigger="job").issues)


def latest_run() -> ReconciliationRun | None:
    """The last stored reconciliation run, if any."""
    return db.session.scalar(
        select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(1)
    )


def reconcile(
    since: datetime, *, trigger: str, progress: Progress = _quiet
) -> ReconciliationRun:
    """Compare Stripe with the shop since `since`, apply what never arrived, store the report.

    No database transaction is open while Stripe is asked (the lists first, then each
    handler's own calls). Safe to run while webhooks arrive and on several machines at once:
    every event is claimed under its id before it is applied.
    """
    started = now_utc()
    db.session.rollback()
    try:
        events = list(progress(gateway().list_events(since), "Stripe events", None))
        sessions = list(progress(gateway().list_checkout_sessions(since), "Stripe sessions", None))
    except GatewayUnavailable as exc:
        issue = Issue(IssueKind.PROVIDER_UNREACHABLE, f"Stripe could not be asked: {exc}")
        return _store(trigger, since, started, [], [issue], counts=(0, 0, 0))
    # Stripe lists newest first; apply in the order things happened.
    events.reverse()
    fixes, issues = _apply_missing(events, progress)
    stripe_refunds = _latest_refunds(events)
    # An event handled before there was anything to apply it to (a refund whose payment's
    # event came later, say) counts as handled: apply what Stripe lists now, through the
    # same idempotent services, before comparing.
    for session in progress(sessions, "Comparing sessions", len(sessions)):
        fixes_, issues_ = _settle_session(session)
        fixes += fixes_
        issues += issues_
    for info in progress(list(stripe_refunds.values()), "Comparing refunds",
                         len(stripe_refunds)):
        fixes_, issues_ = _settle_refund(info)
        fixes += fixes_
        issues += issues_
    db.session.rollback()
    run = _store(trigger, since, started, fixes, issues,
                 counts=(len(events), len(sessions), len(stripe_refunds)))
    for kind, count in Counter(_kind_of(fix) for fix in fixes).items():
        metrics.count_reconciliation_fixes(kind, count)
    log.log(
        logging.WARNING if issues else logging.INFO,
        "reconciliation since %s: %d events, %d sessions, %d fixed, %d need a person",
        since.isoformat(), len(events), len(sessions), len(fixes), len(issues),
    )
    return run


def _kind_of(fix: Fix) -> str:
    """What a fix applied, as /metrics counts it: an event, a session or a refund."""
    return {"checkout.session": "session", "refund": "refund"}.get(fix.what, "event")


def _apply_missing(
    events: list[stripe.Event], progress: Progress
) -> tuple[list[Fix], list[Issue]]:
    """Run the webhook handler on every listed event the shop has not handled."""
    missing = _unhandled([event.id for event in events])
    todo = [event for event in events if event.id in missing]
    fixes: list[Fix] = []
    issues: list[Issue] = []
    for event in progress(todo, "Applying events", len(todo)):
        object_id = getattr(event.data.object, "id", None)
        try:
            # Fetched from Stripe's API with our secret key: authentic, no signature to check.
            outcome = webhooks.handle_event(event, json.dumps(event.to_dict(for_json=True)))
        except Exception as exc:
            # handle_event rolled back, stored the failure and alerted staff; go on.
            log.warning("reconciliation could not apply %s %s: %s", event.id, event.type, exc)
            issues.append(Issue(
                IssueKind.APPLY_FAILED, f"{event.type} {event.id}: {type(exc).__name__}: {exc}",
                object_id, _order_number_of(event)))
            continue
        if outcome in CHANGED_NOTHING:
            continue
        number = _order_number_of(event)
        if outcome == Outcome.FLAGGED:
            # Applied, but nothing put right: the order waits for staff.
            issues.append(Issue(
                IssueKind.FLAGGED, f"{event.type} {event.id} did not add up: the order is "
                "flagged for review", object_id, number))
        else:
            fixes.append(Fix(event.id, event.type, str(outcome), number))
    return fixes, issues


def _unhandled(ids: list[str]) -> set[str]:
    """Those of `ids` the shop never handled (unseen, or failed and waiting for a retry)."""
    done: set[str] = set()
    for start in range(0, len(ids), ID_BATCH):
        done.update(db.session.scalars(
            select(WebhookEvent.event_id).where(
                WebhookEvent.event_id.in_(ids[start:start + ID_BATCH]),
                WebhookEvent.outcome != Outcome.FAILED,
            )
        ))
    db.session.rollback()
    return set(ids) - done


def _id(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else getattr(value, "id", None)


def _order_of_intent(payment_intent: str | None) -> Order | None:
    payment = payment_intent and db.session.scalar(
        select(Payment).where(Payment.payment_intent_id == payment_intent)
    )
    return db.session.get(Order, payment.order_id) if payment else None


def _order_number_of(event: stripe.Event) -> str | None:
    """The number of the order an event is about, when the shop knows it."""
    obj = event.data.object
    if getattr(obj, "object", None) == "checkout.session":
        order = payment_sessions.find_order_by_session(obj.id)
    else:
        order = _order_of_intent(_id(getattr(obj, "payment_intent", None)))
    number = order.number if order else None
    db.session.rollback()
    return number


def _session_facts(session: CheckoutSessionInfo) -> SessionFacts:
    return SessionFacts(session.id, session.status, session.payment_status,
                        session.amount_total, session.currency)


def _local_facts(session: CheckoutSessionInfo) -> LocalFacts:
    order = payment_sessions.find_order_by_session(session.id)
    if order is None:
        return LocalFacts()
    payment = db.session.scalar(
        select(Payment).where(Payment.checkout_session_id == session.id)
    )
    local = LocalFacts(order.number, order.total, order.currency,
                       str(payment.status) if payment else None)
    db.session.rollback()
    return local


def _settle_session(session: CheckoutSessionInfo) -> tuple[list[Fix], list[Issue]]:
    """Apply a paid session its order never recorded, as the success page would; compare."""
    facts = _session_facts(session)
    local = _local_facts(session)
    fixes = []
    if is_paid(facts) and local.order_number and local.payment_status not in CAPTURED:
        order = payment_sessions.find_order_by_session(session.id)
        try:
            outcome = fulfilment.apply_checkout_session(order, session, actor=ACTOR)
        except Exception as exc:
            db.session.rollback()
            log.warning("reconciliation could not apply session %s: %s", session.id, exc)
            return [], [Issue(IssueKind.APPLY_FAILED, f"session {session.id}: "
                              f"{type(exc).__name__}: {exc}", session.id, local.order_number)]
        if outcome not in NOT_A_FIX:
            fixes.append(Fix(session.id, "checkout.session", str(outcome), local.order_number))
        local = _local_facts(session)
    return fixes, compare_session(facts, local)


def _latest_refunds(events: list[stripe.Event]) -> dict[str, RefundInfo]:
    """Each refund the events carry, as its latest event has it."""
    latest: dict[str, RefundInfo] = {}
    for event in events:  # oldest first: a later event overwrites an earlier one
        obj = event.data.object
        if getattr(obj, "object", None) != "refund":
            continue
        try:
            info = refund_info(obj)
        except InvalidWebhook:
            continue  # applying its event already reported it
        latest[info.id] = info
    return latest


def _local_refund(info: RefundInfo) -> tuple[RefundFacts | None, str | None]:
    """The shop's row for a Stripe refund (None if unknown) and the order it is on."""
    local = db.session.scalar(select(Refund).where(Refund.provider_refund_id == info.id))
    order = (db.session.get(Order, local.order_id) if local
             else _order_of_intent(info.payment_intent))
    facts = local and RefundFacts(info.id, local.amount, str(local.status))
    number = order.number if order else None
    db.session.rollback()
    return facts or None, number


def _settle_refund(info: RefundInfo) -> tuple[list[Fix], list[Issue]]:
    """Apply a refund the shop does not know or knows otherwise, when it can; compare."""
    remote = RefundFacts(info.id, info.amount, info.status, info.payment_intent, info.currency)
    local, number = _local_refund(info)
    fixes = []
    if compare_refund(remote, local, number) and number is not None:
        try:
            outcome = refunds.apply_refund(info, actor=ACTOR)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.warning("reconciliation could not apply refund %s: %s", info.id, exc)
            return [], [Issue(IssueKind.APPLY_FAILED, f"refund {info.id}: "
                              f"{type(exc).__name__}: {exc}", info.id, number)]
        if outcome not in NOT_A_FIX:
            fixes.append(Fix(info.id, "refund", str(outcome), number))
        local, number = _local_refund(info)
    return fixes, compare_refund(remote, local, number)


def _store(
    trigger: str, since: datetime, started: datetime, fixes: list[Fix], issues: list[Issue],
    *, counts: tuple[int, int, int],
) -> ReconciliationRun:
    """Store the run's report and forget the oldest runs beyond KEEP_RUNS; commit."""
    events_seen, sessions_seen, refunds_seen = counts
    run = ReconciliationRun(
        trigger=trigger, since=since, started_at=started, finished_at=now_utc(),
        events_seen=events_seen, sessions_seen=sessions_seen, refunds_seen=refunds_seen,
        fixes_json=json.dumps([fix.as_dict() for fix in fixes]),
        issues_json=json.dumps([issue.as_dict() for issue in issues]),
    )
    db.session.add(run)
    db.session.flush()
    db.session.execute(
        delete(ReconciliationRun).where(ReconciliationRun.id <= run.id - KEEP_RUNS)
    )
    db.session.commit()
    return run
