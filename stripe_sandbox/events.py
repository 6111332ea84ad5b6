"""Events: recorded as objects change, queued for every endpoint, listed and resent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from stripe_sandbox import clock, records
from stripe_sandbox import objects as build
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.ids import new_id
from stripe_sandbox.params import as_str, reject_unknown
from stripe_sandbox.store import deliveries, dumps, events


@dataclass
class RequestInfo:
    """What an event records about the API request that caused it."""

    request_id: str | None = None
    idempotency_key: str | None = None


# Events caused by the shopper on the hosted page, or by time passing, carry no request.
CUSTOMER_ACTION = RequestInfo()


def emit(ctx: Context, conn: Connection, type_: str, obj: dict[str, Any], request: RequestInfo,
         previous: dict[str, Any] | None = None) -> str:
    """Record an event and queue one delivery per endpoint; return its id."""
    now = clock.now(ctx, conn)
    body = build.event_body(event_id=new_id("evt"), created=now, type_=type_, obj=obj,
                            previous=previous, request_id=request.request_id,
                            idempotency_key=request.idempotency_key)
    conn.execute(insert(events).values(id=body["id"], type=type_, created=now,
                                       body=dumps(body)))
    queue(ctx, conn, body["id"], now)
    return body["id"]


def queue(ctx: Context, conn: Connection, event_id: str, now: int) -> None:
    """Queue a delivery of an event to every endpoint, due now."""
    for url in ctx.endpoints:
        conn.execute(insert(deliveries).values(
            event_id=event_id, url=url, state="pending", attempts=0, next_attempt_at=now))


def with_pending(conn: Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Return an event with `pending_webhooks` counted from its deliveries now."""
    pending = conn.execute(
        select(func.count(func.distinct(deliveries.c.url))).where(
            deliveries.c.event_id == body["id"], deliveries.c.state != "delivered")).scalar()
    return {**body, "pending_webhooks": int(pending or 0)}


def retrieve(ctx: Context, event_id: str) -> dict[str, Any]:
    """Return an Event."""
    with ctx.store.read() as conn:
        row = conn.execute(select(events.c.body).where(events.c.id == event_id)).first()
        if row is None:
            raise StripeError.no_such("event", event_id, "id")
        return with_pending(conn, json.loads(row.body))


def list_page(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
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
    where += records.created_filter(events.c.created, params.get("created"))
    page = records.page(ctx.store, events, where, params, "/v1/events", "event")
    with ctx.store.read() as conn:
        page["data"] = [with_pending(conn, body) for body in page["data"]]
    return page


def all_events(ctx: Context, type_: str | None = None) -> list[dict[str, Any]]:
    """Return every event (optionally of one type), oldest first."""
    query = select(events.c.body).order_by(events.c.seq)
    if type_:
        query = query.where(events.c.type == type_)
    with ctx.store.read() as conn:
        return [with_pending(conn, json.loads(row.body)) for row in conn.execute(query).all()]


def resend(ctx: Context, event_id: str) -> str:
    """Queue an event again for every endpoint, as `stripe events resend` does."""
    with ctx.store.write() as conn:
        if conn.execute(select(events.c.id).where(events.c.id == event_id)).first() is None:
            raise StripeError.no_such("event", event_id, "id")
        queue(ctx, conn, event_id, clock.now(ctx, conn))
    return event_id
