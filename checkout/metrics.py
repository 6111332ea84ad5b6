"""Prometheus metrics named `checkout_*`: what a checkout operator watches.

Counters move only when the change they count is committed: the ORM changes a transaction
makes (holds taken, converted or given back; an expired order paid after all; refunds that
succeeded) are noted at each flush and counted after the commit, and forgotten on a rollback,
so a deadlock retry or a failed webhook counts nothing. Webhook deliveries are counted where
they are answered (`observe_webhook`).

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, and the job worker on the
same machine), every process writes its samples to files there and a scrape adds them up
(prometheus_client's multiprocess mode); gunicorn.conf.py empties the folder at start and
drops a dead worker's live gauges. The outbox backlog is read from the database at each
scrape, so it is right whichever process scrapes.
"""

import os
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import RefundStatus
from checkout.models import Order, Refund, StockHold
from checkout.models.inventory import HoldStatus

# A `_created` timestamp per series doubles the series for nothing an operator reads (and
# multiprocess mode never has them): one form in both modes.
disable_created_metrics()

HOLDS_CREATED = Counter(
    "checkout_holds_created_total",
    "Stock holds taken at checkout (one per product of an order).",
)
HOLDS_CONVERTED = Counter(
    "checkout_holds_converted_total",
    "Stock holds turned into a sale when the order was paid.",
)
HOLDS_EXPIRED = Counter(
    "checkout_holds_expired_total",
    "Stock holds given back because the order expired unpaid.",
)
HOLDS_RELEASED = Counter(
    "checkout_holds_released_total",
    "Stock holds given back because the unpaid order was cancelled.",
)
OVERSELL_REFUSED = Counter(
    "checkout_oversell_refused_total",
    "Checkouts refused because a product sold out (or left the catalog) before its stock "
    "could be held.",
)
LATE_PAYMENTS = Counter(
    "checkout_late_payments_total",
    "Payments confirmed for an order that had already expired (its hold had lapsed).",
)
WEBHOOK_EVENTS = Counter(
    "checkout_webhook_events_total",
    "Stripe webhook deliveries by event type and outcome (duplicate, failed, rejected, …).",
    ["type", "outcome"],
)
WEBHOOK_LAG = Histogram(
    "checkout_webhook_lag_seconds",
    "Seconds between Stripe creating an event and the shop receiving it.",
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 72 * 3600),
)
RECONCILIATION_FIXES = Counter(
    "checkout_reconciliation_fixes_total",
    "Changes reconciliation applied that never arrived by webhook, by kind (event: a missed "
    "event applied late; session, refund: settled from Stripe's lists).",
    ["kind"],
)
RECONCILIATION_KINDS = ("event", "session", "refund")
# Every kind shows from the start at 0, so `increase()` sees the first fix.
for _kind in RECONCILIATION_KINDS:
    RECONCILIATION_FIXES.labels(kind=_kind)
REFUNDS = Counter(
    "checkout_refunds_total",
    "Refunds that succeeded, by currency.",
    ["currency"],
)
REFUNDED_AMOUNT = Counter(
    "checkout_refunded_amount_total",
    "Money refunded, in minor units of the currency (cents), by currency.",
    ["currency"],
)

# Event types beyond these are counted as "other": a label per arbitrary string would let
# anyone holding the webhook secret grow the metric without end.
KNOWN_EVENT_TYPES = frozenset({
    "checkout.session.completed", "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed", "checkout.session.expired", "refund.created",
    "refund.updated", "refund.failed", "charge.refunded", "charge.dispute.created",
})
# Stripe retries for three days; anything older or in the future is nonsense, not lag.
_LAG_LIMIT_SECONDS = 4 * 24 * 3600

_PENDING = "checkout.metrics.pending"


def observe_webhook(event_type: object, outcome: str, created: object = None) -> None:
    """Count one webhook delivery and, for a verified event, how late it arrived."""
    kind = event_type if event_type in KNOWN_EVENT_TYPES else "other"
    WEBHOOK_EVENTS.labels(type=kind, outcome=str(outcome)).inc()
    if isinstance(created, int) and not isinstance(created, bool):
        lag = time.time() - created
        if 0 <= lag <= _LAG_LIMIT_SECONDS:
            WEBHOOK_LAG.observe(lag)


def count_reconciliation_fixes(kind: str, count: int = 1) -> None:
    """Count fixes reconciliation committed: kind is one of RECONCILIATION_KINDS."""
    if kind not in RECONCILIATION_KINDS:
        raise ValueError(f"unknown reconciliation fix kind {kind!r}")
    if count:
        RECONCILIATION_FIXES.labels(kind=kind).inc(count)


def count_oversell_refused() -> None:
    """Count a checkout refused because stock ran out at hold time."""
    OVERSELL_REFUSED.inc()


def _status_change(obj: object) -> tuple[object, object] | None:
    history = inspect(obj).attrs.status.history
    if not history.added:
        return None
    return (history.deleted[0] if history.deleted else None), history.added[0]


def _note_flush(session: Session, _context) -> None:
    """Note what this flush changed that a counter counts; counted at commit."""
    pending: Tally = session.info.setdefault(_PENDING, Tally())
    for obj in session.new:
        if isinstance(obj, StockHold):
            pending["holds_created"] += 1
        elif isinstance(obj, Refund) and obj.status == RefundStatus.SUCCEEDED:
            pending[("refund", obj.currency, obj.amount)] += 1
    for obj in session.dirty:
        if isinstance(obj, StockHold | Order | Refund):
            change = _status_change(obj)
            if change is None:
                continue
            before, after = change
            if isinstance(obj, StockHold) and before == HoldStatus.ACTIVE:
                if after == HoldStatus.CONVERTED:
                    pending["holds_converted"] += 1
                elif after == HoldStatus.RELEASED:
                    pending[("hold_released", obj.order_id)] += 1
            elif isinstance(obj, Order):
                if after == OrderStatus.EXPIRED:
                    pending[("order_expired", obj.id)] += 1
                elif before == OrderStatus.EXPIRED and after == OrderStatus.PAYMENT_CONFIRMED:
                    pending["late_payments"] += 1
            elif isinstance(obj, Refund) and after == RefundStatus.SUCCEEDED:
                pending[("refund", obj.currency, obj.amount)] += 1


def note_holds_written(session: Session, count: int) -> None:
    """Count holds written in one bulk INSERT (no ORM objects to see) at the commit keeping them."""
    session.info.setdefault(_PENDING, Tally())["holds_created"] += count


def note_holds_settled(session: Session, holds: list[StockHold], status: HoldStatus) -> None:
    """Count active holds converted or released by one bulk UPDATE (the flush sees no change
    on them), at the commit keeping it, as a flush would have."""
    pending = session.info.setdefault(_PENDING, Tally())
    for hold in holds:
        if status == HoldStatus.CONVERTED:
            pending["holds_converted"] += 1
        elif status == HoldStatus.RELEASED:
            pending[("hold_released", hold.order_id)] += 1


def _count_committed(session: Session) -> None:
    pending: Tally | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    expired_orders = {key[1] for key in pending if isinstance(key, tuple)
                      and key[0] == "order_expired"}
    for counter, key in ((HOLDS_CREATED, "holds_created"), (HOLDS_CONVERTED, "holds_converted"),
                         (LATE_PAYMENTS, "late_payments")):
        if pending[key]:
            counter.inc(pending[key])
    for key, times in pending.items():
        if not isinstance(key, tuple):
            continue
        if key[0] == "hold_released":
            (HOLDS_EXPIRED if key[1] in expired_orders else HOLDS_RELEASED).inc(times)
        elif key[0] == "refund":
            REFUNDS.labels(currency=key[1]).inc(times)
            REFUNDED_AMOUNT.labels(currency=key[1]).inc(key[2] * times)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


def observe_sessions() -> None:
    """Count committed ORM changes of every session (idempotent)."""
    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "after_commit", _count_committed)
        event.listen(Session, "after_rollback", _forget)


class _ScrapeTime(Collector):
    """Gauges read when scraped: `read()` gives (name, help, [(labels, value)])."""

    def __init__(self, read: Callable[[], Iterable[tuple[str, str, list]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        for name, documentation, samples in self._read():
            labels = sorted({key for sample_labels, _ in samples for key in sample_labels})
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for sample_labels, value in samples:
                family.add_metric([sample_labels[key] for key in labels], value)
            yield family


class _Registered(Collector):
    """This process's own registry (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def multiprocess_mode() -> bool:
    """Say whether samples are shared through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(read_gauges: Callable[[], Iterable[tuple[str, str, list]]]) -> bytes:
    """The text exposition of every process's samples plus the gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        MultiProcessCollector(registry)
    else:
        registry.register(_Registered())
    registry.register(_ScrapeTime(read_gauges))
    return generate_latest(registry)
