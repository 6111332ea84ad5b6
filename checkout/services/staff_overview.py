"""The figures and queues on the back office's front page.

Days are UTC days. Revenue is money kept: for the orders placed on a day, what their payments
captured minus what was refunded on them (pending refunds included: that money is promised
back), in the store currency. A paid order counts on the day it was placed, even when a bank
debit settled later, so a day's orders and its revenue describe the same orders.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment, Product, Stock
from checkout.models.order import FlagCode
from checkout.services.order_search import CAPTURED

TO_SHIP = (OrderStatus.PAYMENT_CONFIRMED, OrderStatus.AWAITING_SHIPMENT)
PAYMENT_PENDING = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_PROCESSING)
CHART_DAYS = 30
# Enough to act on from the front page; the orders list filters the rest.
LIST_LIMIT = 50

class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp, as YYYY-MM-DD text, on SQLite and PostgreSQL."""

    type = String()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps UTCDateTime values as UTC text already.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw) -> str:
    # timestamptz has no day of its own: the session's time zone would choose one.
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int
    revenue: int


@dataclass(frozen=True)
class FlaggedOrder:
    number: str
    # (code, label, detail) of each open flag, oldest first.
    flags: list[tuple[str, str, str]]


@dataclass(frozen=True)
class LowStock:
    sku: str
    title: str
    on_hand: int
    held: int

    @property
    def available(self) -> int:
        return self.on_hand - self.held


@dataclass(frozen=True)
class Overview:
    to_ship: int
    payment_pending: int
    flagged: int
    currency: str
    today: DayFigures
    # The last CHART_DAYS UTC days, oldest first, today last.
    days: list[DayFigures]
    flagged_orders: list[FlaggedOrder]
    low_stock: list[LowStock]
    low_stock_threshold: int

    @property
    def period_orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def period_revenue(self) -> int:
        return sum(d.revenue for d in self.days)


def _orders_in(statuses: tuple[OrderStatus, ...]) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Order).where(Order.status.in_(statuses))
    )


def _days(currency: str, today: date) -> list[DayFigures]:
    first = today - timedelta(days=CHART_DAYS - 1)
    day = utc_day(Order.created_at)
    per_day = db.session.execute(
        select(day, func.count(func.distinct(Order.id)),
               func.sum(Payment.amount - Payment.amount_refunded))
        .join(Payment, Payment.order_id == Order.id)
        .where(
            Payment.status.in_(CAPTURED),
            Payment.currency == currency,
            Order.created_at >= datetime.combine(first, time(), UTC),
            Order.created_at < datetime.combine(today + timedelta(days=1), time(), UTC),
        )
        .group_by(day)
    )
    found = {date.fromisoformat(d): (orders, int(revenue)) for d, orders, revenue in per_day}
    return [
        DayFigures(day=d, orders=found.get(d, (0, 0))[0], revenue=found.get(d, (0, 0))[1])
        for d in (first + timedelta(days=i) for i in range(CHART_DAYS))
    ]


def _flagged_orders() -> list[FlaggedOrder]:
    oldest_open = (
        select(OrderFlag.order_id, func.min(OrderFlag.created_at).label("since"))
        .where(OrderFlag.resolved_at.is_(None))
        .group_by(OrderFlag.order_id)
        .order_by(func.min(OrderFlag.created_at), OrderFlag.order_id)
        .limit(LIST_LIMIT)
        .subquery()
    )
    rows = db.session.execute(
        select(Order.number, OrderFlag.code, OrderFlag.detail)
        .join(oldest_open, oldest_open.c.order_id == Order.id)
        .join(OrderFlag, OrderFlag.order_id == Order.id)
        .where(OrderFlag.resolved_at.is_(None))
        .order_by(oldest_open.c.since, Order.id, OrderFlag.id)
    )
    flagged: dict[str, FlaggedOrder] = {}
    for number, code, detail in rows:
        entry = flagged.setdefault(number, FlaggedOrder(number=number, flags=[]))
        entry.flags.append((code, FlagCode(code).label, detail))
    return list(flagged.values())


def _low_stock(threshold: int) -> list[LowStock]:
    available = Stock.on_hand - Stock.held
    rows = db.session.execute(
        select(Product.sku, Product.title, Stock.on_hand, Stock.held)
        .join(Stock, Stock.product_id == Product.id)
        .where(Product.is_active, available <= threshold)
        .order_by(available, Product.title)
        .limit(LIST_LIMIT)
    )
    return [LowStock(sku=sku, title=title, on_hand=on_hand, held=held)
            for sku, title, on_hand, held in rows]


def overview(currency: str, low_stock_threshold: int, today: date | None = None) -> Overview:
    """Gather the day's and the month's figures and the queues that need staff."""
    today = today or now_utc().date()
    flagged = db.session.scalar(
        select(func.count(func.distinct(OrderFlag.order_id))).where(
            OrderFlag.resolved_at.is_(None)
        )
    )
    days = _days(currency, today)
    return Overview(
        to_ship=_orders_in(TO_SHIP),
        payment_pending=_orders_in(PAYMENT_PENDING),
        flagged=flagged,
        currency=currency,
        today=days[-1],
        days=days,
        flagged_orders=_flagged_orders(),
        low_stock=_low_stock(low_stock_threshold),
        low_stock_threshold=low_stock_threshold,
    )
