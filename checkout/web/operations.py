"""Probes and metrics for the operator: /healthz, /readyz, /metrics.

/metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`; without that
setting it answers only a client on the same machine that connected directly (loopback, and
no forwarding header: a reverse proxy on the machine connects from loopback for everyone).
"""

import hmac

from flask import Blueprint, Response, abort, current_app, request

from checkout import metrics
from checkout.services import operations

bp = Blueprint("operations", __name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


@bp.get("/healthz")
def healthz():
    """Say the process is up and serving; touch nothing else."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz():
    """Check the database, the migrations and the queue: 200 when all pass, else 503."""
    checks = operations.readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
        "failed": [check.name for check in checks if not check.ok],
    }
    return body, 200 if ready else 503


def _may_scrape() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    # The peer that connected, before ProxyFix put a forwarded client in its place: a client
    # reaching gunicorn past the proxy could write "X-Forwarded-For: 127.0.0.1" itself.
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get(
        "REMOTE_ADDR", request.environ.get("REMOTE_ADDR"))
    # A proxy on this machine connects from loopback for any client anywhere; it says so in a
    # forwarding header, and such a request is not the machine's own.
    forwarded = any(request.headers.get(name) for name in FORWARDING_HEADERS)
    return peer in LOOPBACK and request.remote_addr in LOOPBACK and not forwarded


@bp.get("/metrics")
def scrape():
    """Expose the checkout_* metrics in Prometheus's text format."""
    if not _may_scrape():
        abort(403, "Metrics are for the monitoring system only.")
    return Response(metrics.exposition(operations.outbox_backlog),
                    mimetype="text/plain; version=0.0.4; charset=utf-8")
