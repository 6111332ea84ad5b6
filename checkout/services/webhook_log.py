"""The webhook log for staff: every Stripe event received, and replaying one that failed."""

import json
import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from checkout.db import now_utc
from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.models import WebhookEvent
from checkout.payments import InvalidWebhook, gateway
from checkout.services import webhooks

log = logging.getLogger(__name__)

PAGE_SIZE = 50


@dataclass(frozen=True)
class LogPage:
    events: list[WebhookEvent]
    page: int
    has_next: bool


@dataclass(frozen=True)
class Replayed:
    outcome: Outcome
    # What the handler said, or the error that made it fail again.
    detail: str


def events(outcome: str | None = None, type_: str | None = None, page: int = 1) -> LogPage:
    """One page of received events, newest first, filtered by outcome and type."""
    query = select(WebhookEvent)
    if outcome:
        query = query.where(WebhookEvent.outcome == outcome)
    if type_:
        query = query.where(WebhookEvent.type == type_)
    rows = list(
        db.session.scalars(
            query.order_by(WebhookEvent.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return LogPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def event_types() -> list[str]:
    """The event types received so far, for the filter."""
    types = select(WebhookEvent.type).distinct().order_by(WebhookEvent.type)
    return list(db.session.scalars(types))


def find(event_id: str) -> WebhookEvent | None:
    """The stored event with this Stripe id, if any."""
    return db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))


def pretty(payload: str | None) -> str:
    """The payload indented for reading (as received when it is not JSON)."""
    if payload is None:
        return ""
    try:
        shown = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        shown = payload
    # A lone surrogate (JSON's \ud800, valid in a signed body) cannot be sent in a page: it is
    # shown as its escape, and every other character as it came.
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def _record_replay(event_id: str, by: str) -> None:
    """Name the staff member on the event, whatever the handler did (its own transaction)."""
    db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.event_id == event_id)
        .values(replayed_by=by, replayed_at=now_utc())
    )
    db.session.commit()


def replay(event_id: str, *, by: str) -> Replayed:
    """Run the handler again on a failed event's stored payload, exactly as a redelivery would.

    The payload was verified when it arrived, so no signature is needed. An event that did
    not fail is left alone (DUPLICATE): replaying can never apply anything twice. A handler
    failing again is recorded and alerted by `webhooks.handle_event` and reported here.
    """
    stored = find(event_id)
    outcome, payload = (stored.outcome, stored.payload) if stored else (None, None)
    # Preparing the event may ask the provider: no transaction may stay open across that.
    db.session.commit()
    if outcome != Outcome.FAILED:
        return Replayed(Outcome.DUPLICATE, "only a failed event is replayed")
    if payload is None:
        return Replayed(Outcome.FAILED, "no payload was stored for this event")
    log.info("staff %s replays stripe event %s", by, event_id)
    try:
        event = gateway().parse_stored_event(payload.encode())
        outcome = webhooks.handle_event(event, payload)
    except InvalidWebhook as exc:
        _record_replay(event_id, by)
        return Replayed(Outcome.FAILED, f"the stored payload is unusable: {exc}")
    except Exception as exc:  # recorded and alerted by handle_event; staff see why here
        db.session.rollback()
        _record_replay(event_id, by)
        return Replayed(Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    _record_replay(event_id, by)
    replayed = find(event_id)
    detail = replayed.detail if replayed is not None else ""
    db.session.commit()
    return Replayed(outcome, detail)
