"""Stripe's signed webhooks: verify, apply once, answer 2xx only after commit."""

import logging

from flask import Blueprint, request

from checkout.extensions import csrf
from checkout.metrics import observe_webhook
from checkout.services.webhooks import InvalidWebhook, handle_event, verify_event

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@bp.post("/stripe")
def stripe_event():
    """Verify a Stripe event's signature and apply it exactly once."""
    payload = request.get_data(cache=False)
    try:
        event = verify_event(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("rejected webhook: %s", exc)
        observe_webhook(None, "rejected")
        return {"error": str(exc) or "malformed event"}, 400
    event_id, event_type = event.id, event.type
    try:
        # Verified, hence valid JSON: kept as text for the webhook log and for replays.
        outcome = handle_event(event, payload.decode("utf-8", errors="replace"))
    except InvalidWebhook as exc:
        log.warning("rejected webhook %s: %s", event_id, exc)
        observe_webhook(event_type, "rejected")
        return {"error": str(exc)}, 400
    except Exception:
        observe_webhook(event_type, "failed", getattr(event, "created", None))
        raise
    observe_webhook(event_type, outcome, getattr(event, "created", None))
    return {"received": True, "outcome": outcome}, 200
