"""Idempotency keys: the first response per key is kept 24 hours and replayed, as Stripe does."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from stripe_sandbox import clock
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.store import idempotency

TTL = 24 * 60 * 60
# An in-flight row older than this belongs to a request that died.
IN_FLIGHT_STALE = 60


def _stored_endpoint(endpoint: str) -> str:
    """The endpoint as its column keeps it: a longer path (a made-up id, an unknown URL, which
    the handler then answers 404) becomes its start and a digest of the whole."""
    limit = idempotency.c.endpoint.type.length
    if len(endpoint) <= limit:
        return endpoint
    digest = hashlib.sha256(endpoint.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{endpoint[:limit - len(digest) - 1]}#{digest}"


def begin(ctx: Context, key: str, endpoint: str, params: dict[str, Any]
          ) -> tuple[int, str, str | None] | None:
    """Reserve a key for this request, or return the stored (status, body, request id).

    Raises the 400 idempotency_error or 409 conflict that Stripe answers.
    """
    fingerprint = hashlib.sha256(dumps_sorted(params).encode()).hexdigest()
    endpoint = _stored_endpoint(endpoint)
    with ctx.store.write() as conn:
        now = clock.now(ctx, conn)
        row = conn.execute(select(idempotency).where(idempotency.c.key == key)).first()
        if row is not None and (row.created + TTL <= now or (
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


def finish(ctx: Context, key: str, status: int | None, body: str | None,
           request_id: str) -> None:
    """Store the response for replays, or (status None) forget the key."""
    with ctx.store.write() as conn:
        if status is None:
            conn.execute(delete(idempotency).where(idempotency.c.key == key))
        else:
            conn.execute(update(idempotency).where(idempotency.c.key == key).values(
                state="done", status_code=status, response=body, request_id=request_id))


def _in_use(key: str) -> StripeError:
    return StripeError(409, "invalid_request_error",
                       f"There is currently another in-progress request using this "
                       f"Idempotency-Key ('{key}'). Please try again later.",
                       code="idempotency_key_in_use")


def dumps_sorted(data: Any) -> str:
    """Serialise parameters canonically so equal requests compare equal."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
