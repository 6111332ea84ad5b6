"""Webhook delivery: sign each event, POST it to every endpoint, retry, log every attempt."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import and_, or_, select, update

from stripe_sandbox import clock
from stripe_sandbox.context import Context
from stripe_sandbox.events import with_pending
from stripe_sandbox.ids import new_id
from stripe_sandbox.store import attempts, deliveries, dumps, events
from stripe_sandbox.wsgi import WSGIAdapter, WSGIApp

log = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
# Compressed "test mode" schedule: retry after 2, 4, 8, 16 and 32 s, then give up.
RETRY_DELAYS = (2, 4, 8, 16, 32)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DELIVERY_TIMEOUT = 10.0
CLAIM_LEASE = 60.0


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


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """Return `t=…,v1=…,v0=…` as Stripe signs `"{t}.{payload}"` with the endpoint secret."""
    v1 = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(),
                  hashlib.sha256).hexdigest()
    # Test mode adds a v0 signature nobody can check, so receivers prove they ignore it.
    v0 = hashlib.sha256(f"v0.{timestamp}.{payload}".encode()).hexdigest()
    return f"t={timestamp},v1={v1},v0={v0}"


class Deliverer:
    """Send signed event bodies for one delivery run, then close the HTTP session.

    Endpoints under a base URL in `local_apps` are answered by that WSGI app in this thread
    (a single sync worker must not wait on itself); any other URL goes over HTTP.
    """

    def __init__(self, secret: str, local_apps: dict[str, WSGIApp]) -> None:
        self.secret = secret
        self.session = requests.Session()
        for base_url, app in local_apps.items():
            self.session.mount(base_url + "/", WSGIAdapter(app, base_url))

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def post(self, url: str, payload: str) -> tuple[int | None, str | None, int]:
        """POST exactly the signed bytes; return (status or None, error, duration ms)."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(payload, self.secret, int(time.time())),
        }
        started = time.monotonic()
        try:
            response = self.session.post(url, data=payload.encode("utf-8"), headers=headers,
                                         timeout=DELIVERY_TIMEOUT, allow_redirects=False)
        except requests.Timeout:
            return None, f"timed out after {DELIVERY_TIMEOUT:g} s", _ms(started)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], _ms(started)
        except Exception as exc:  # an in-process receiver that crashed is a failed delivery
            return 500, f"receiver raised {type(exc).__name__}: {exc}"[:500], _ms(started)
        with response:
            status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        return status, error, _ms(started)


def deliver_due(ctx: Context, deliverer: Deliverer) -> list[DeliveryResult]:
    """Deliver every due event delivery (and due retry); return what was attempted."""
    results: list[DeliveryResult] = []
    while True:
        with ctx.store.read() as conn:
            now = clock.now(ctx, conn)
            due = conn.execute(select(deliveries.c.id).where(
                deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now
            ).order_by(deliveries.c.id).limit(100)).scalars().all()
        done = [result for delivery_id in due
                if (result := _deliver_one(ctx, deliverer, delivery_id)) is not None]
        results += done
        if not done:
            return results


def _deliver_one(ctx: Context, deliverer: Deliverer, delivery_id: int) -> DeliveryResult | None:
    token = new_id("claim")
    wall = time.time()
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
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
        body = with_pending(conn, json.loads(event_row.body))
        down_until = int(ctx.store.get_state(conn, "endpoint_down_until", "0"))
    attempt_no = row.attempts + 1
    if now < down_until:
        status, error, duration = 503, "endpoint down (sandbox control)", 0
    else:
        status, error, duration = deliverer.post(row.url, dumps(body))
    ok = status is not None and 200 <= status < 300
    log.info("sandbox webhook %s %s -> %s attempt %d %s", body["type"], row.url,
             status, attempt_no, error or "")
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        if ok:
            values: dict[str, Any] = {"state": "delivered"}
        elif attempt_no >= MAX_ATTEMPTS:
            values = {"state": "failed"}
        else:
            values = {"next_attempt_at": now + RETRY_DELAYS[attempt_no - 1]}
        conn.execute(update(deliveries).where(
            and_(deliveries.c.id == delivery_id, deliveries.c.claim_token == token)
        ).values(attempts=attempt_no, claim_token=None, claimed_until=None, **values))
        conn.execute(attempts.insert().values(
            delivery_id=delivery_id, event_id=row.event_id, event_type=body["type"],
            url=row.url, attempt=attempt_no, sandbox_time=now, status_code=status,
            error=error, duration_ms=duration, ok=int(ok)))
    return DeliveryResult(event_id=row.event_id, event_type=body["type"], url=row.url,
                          attempt=attempt_no, status_code=status, error=error,
                          duration_ms=duration, ok=ok, sandbox_time=now)


def attempt_log(ctx: Context, event_id: str | None = None) -> list[DeliveryResult]:
    """Return the delivery attempt log, oldest first."""
    query = select(attempts).order_by(attempts.c.id)
    if event_id:
        query = query.where(attempts.c.event_id == event_id)
    with ctx.store.read() as conn:
        return [DeliveryResult(
            event_id=row.event_id, event_type=row.event_type, url=row.url,
            attempt=row.attempt, status_code=row.status_code, error=row.error,
            duration_ms=row.duration_ms, ok=bool(row.ok), sandbox_time=row.sandbox_time)
            for row in conn.execute(query).all()]


def set_endpoint_down(ctx: Context, seconds: int) -> int:
    """Make every endpoint answer 503 for `seconds` of sandbox time; return when it ends."""
    seconds = clock.control_seconds(seconds)
    with ctx.store.write() as conn:
        until = clock.now(ctx, conn) + seconds
        ctx.store.set_state(conn, "endpoint_down_until", str(until))
    return until


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
