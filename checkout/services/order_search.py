"""The staff orders list: filters, search, sort and keyset pages, for the page and the CSV.

Pages are keyset pages (WHERE (sort key, id) beyond the last row seen, ORDER BY it, LIMIT n):
the database walks an index from where the last page ended instead of counting past OFFSET
rows, so page 2,000 costs what page 1 costs, and rows inserted meanwhile neither repeat nor
vanish. A page is one query for its rows (with their payment state computed per row by
correlated subqueries on the indexed payment.order_id) and one for their open flags: two
statements whether the shop has 100 orders or 100,000 (on SQLite a search whose needle the
newest orders do not fill a page with takes one more: see _found).
"""

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import and_, case, exists, func, or_, select, tuple_

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment
from checkout.models.order_search_index import order_search

PAGE_SIZE = 50
EXPORT_BATCH = 500
MAX_QUERY_LENGTH = 100
# Orders compared one by one before the search index is asked (see _found).
RECENT_WINDOW = 500


class PaymentState(StrEnum):
    """Where an order's money stands, summed over its payments in the ledger."""

    # Nothing captured or on its way (no payment, or only failed ones).
    UNPAID = "unpaid"
    # A delayed method (bank debit) is settling; nothing captured yet.
    PROCESSING = "processing"
    # Money captured, none of it refunded.
    PAID = "paid"
    # Some of the captured money is being or has been given back.
    PARTIALLY_REFUNDED = "partially_refunded"
    # All of the captured money is being or has been given back.
    REFUNDED = "refunded"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class SortKey(StrEnum):
    CREATED_AT = "created_at"
    TOTAL = "total"
    NUMBER = "number"


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


class BadCursor(ValueError):
    """A page cursor that this list did not hand out (edited, truncated, or for another sort)."""


CAPTURED = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)

captured_amount = (
    select(func.coalesce(func.sum(Payment.amount), 0))
    .where(Payment.order_id == Order.id, Payment.status.in_(CAPTURED))
    .correlate(Order)
    .scalar_subquery()
)
refunded_amount = (
    select(func.coalesce(func.sum(Payment.amount_refunded), 0))
    .where(Payment.order_id == Order.id, Payment.status.in_(CAPTURED))
    .correlate(Order)
    .scalar_subquery()
)
_processing = exists().where(
    Payment.order_id == Order.id, Payment.status == PaymentStatus.PROCESSING
)
payment_state = case(
    (captured_amount == 0, case((_processing, PaymentState.PROCESSING.value),
                                else_=PaymentState.UNPAID.value)),
    (refunded_amount == 0, PaymentState.PAID.value),
    (refunded_amount >= captured_amount, PaymentState.REFUNDED.value),
    else_=PaymentState.PARTIALLY_REFUNDED.value,
)
has_open_flag = exists().where(OrderFlag.order_id == Order.id, OrderFlag.resolved_at.is_(None))


def _has_payment(*conditions):
    return exists().where(Payment.order_id == Order.id, *conditions)


def _payment_filter(state: PaymentState):
    """The orders in `state`, said with EXISTS where possible so the database can semi-join."""
    captured = _has_payment(Payment.status.in_(CAPTURED))
    some_refunded = _has_payment(Payment.status.in_(CAPTURED), Payment.amount_refunded > 0)
    return {
        PaymentState.UNPAID: ~captured & ~_processing,
        PaymentState.PROCESSING: ~captured & _processing,
        PaymentState.PAID: captured & ~some_refunded,
        PaymentState.PARTIALLY_REFUNDED: some_refunded & (refunded_amount < captured_amount),
        PaymentState.REFUNDED: some_refunded & (refunded_amount >= captured_amount),
    }[state]


@dataclass(frozen=True)
class OrderQuery:
    """What staff asked the list for; every field optional but the sort."""

    status: OrderStatus | None = None
    payment: PaymentState | None = None
    placed_from: date | None = None
    placed_to: date | None = None
    flagged: bool = False
    q: str = ""
    sort: SortKey = SortKey.CREATED_AT
    direction: SortDirection = SortDirection.DESC


@dataclass(frozen=True)
class OrderRow:
    id: int
    number: str
    created_at: datetime
    status: OrderStatus
    payment_state: PaymentState
    email: str
    ship_name: str
    ship_city: str
    ship_country: str
    currency: str
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    paid: int
    refunded: int
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OrderPage:
    rows: list[OrderRow]
    # The cursor of the page after this one; None on the last page.
    next_cursor: str | None


def _sort_columns(sort: SortKey) -> tuple:
    # The order number is unique on its own; the others need the id to break ties.
    if sort == SortKey.NUMBER:
        return (Order.number,)
    return (getattr(Order, sort.value), Order.id)


def _cursor_values(sort: SortKey, row: OrderRow) -> list:
    if sort == SortKey.NUMBER:
        return [row.number]
    if sort == SortKey.CREATED_AT:
        return [row.created_at.isoformat(), row.id]
    return [row.total, row.id]


def encode_cursor(query: OrderQuery, row: OrderRow) -> str:
    """Return the opaque position just after `row` in this sort."""
    payload = [query.sort.value, query.direction.value, *_cursor_values(query.sort, row)]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: OrderQuery, cursor: str) -> tuple:
    """Return the sort-key values a cursor points after; raise BadCursor if it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        # RecursionError: JSON nested past the parser's depth, which no cursor of ours is.
        raise BadCursor("That page link is damaged: start again from the first page.") from None
    if (
        not isinstance(payload, list)
        or payload[:2] != [query.sort.value, query.direction.value]
    ):
        raise BadCursor("That page link belongs to another sort order: start from the first page.")
    values = payload[2:]
    try:
        if query.sort == SortKey.NUMBER:
            (number,) = values
            # An order number is printable; a NUL cannot even be compared by PostgreSQL, and a
            # lone surrogate (JSON's \ud800) cannot be sent to either database.
            if not isinstance(number, str) or not number.isprintable():
                raise TypeError
            return (number,)
        key, order_id = values
        if not _fits_a_column(order_id):
            raise TypeError
        if query.sort == SortKey.CREATED_AT:
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is None:
                raise TypeError
            return (moment, order_id)
        if not _fits_a_column(key):
            raise TypeError
        return (key, order_id)
    except (TypeError, ValueError):
        raise BadCursor("That page link is damaged: start again from the first page.") from None


def _fits_a_column(value) -> bool:
    """An id or amount a 64-bit integer column can be compared with (a forged cursor's
    10**20 would overflow SQLite's driver and be out of PostgreSQL's bigint range)."""
    return type(value) is int and -(2**63) <= value < 2**63


def _on_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _needle(q: str) -> str:
    return q.strip().lower()


def _matches(needle: str):
    # On SQLite, lowered as Python lowers the needle (checkout/db.py registers it): SQLite's
    # own lower() leaves letters outside ASCII as they are. PostgreSQL's lower() folds them,
    # and its trigram indexes are built on it.
    lower = func.unicode_lower if _on_sqlite() else func.lower
    # Python lowers a word's last Σ to ς, PostgreSQL to σ: a needle with ς looks for both.
    needles = dict.fromkeys([needle, needle.replace("ς", "σ")])
    return or_(*(
        lower(column).contains(each, autoescape=True)
        for each in needles for column in (Order.number, Order.email, Order.ship_name)
    ))


def _through_fts(query: OrderQuery) -> bool:
    """Does SQLite's FTS5 table name the candidates (a needle of three characters or more)?"""
    return len(_needle(query.q)) >= 3 and _on_sqlite()


def _search(q: str):
    """Match orders whose number, e-mail or name contains `q`, whatever the case.

    From three characters on, the match goes through the trigram index
    (checkout/models/order_search_index.py): on PostgreSQL the GIN indexes answer the LIKE
    itself; on SQLite the FTS5 table names the candidate orders, and the LIKE decides among
    them, so the index narrows the search without changing what it finds. A shorter needle
    has no trigram to look up, and is compared with every order.
    """
    needle = _needle(q)
    if len(needle) < 3 or not _on_sqlite():
        return _matches(needle)
    # An FTS5 phrase of the trigram tokenizer matches the text anywhere in a column.
    phrase = '"' + needle.replace('"', '""') + '"'
    candidates = select(order_search.c.rowid).where(order_search.c.order_search.op("MATCH")(phrase))
    return and_(Order.id.in_(candidates), _matches(needle))


def _filters(query: OrderQuery, *, search: bool = True) -> list:
    conditions = []
    if query.status is not None:
        conditions.append(Order.status == query.status)
    if query.payment is not None:
        conditions.append(_payment_filter(query.payment))
    # Whole UTC days, both ends included.
    if query.placed_from is not None:
        conditions.append(Order.created_at >= datetime.combine(query.placed_from, time(), UTC))
    # The calendar's last day has no day after it: up to its end is no bound at all.
    if query.placed_to is not None and query.placed_to < date.max:
        end = datetime.combine(query.placed_to + timedelta(days=1), time(), UTC)
        conditions.append(Order.created_at < end)
    if query.flagged:
        conditions.append(has_open_flag)
    if search and query.q.strip():
        conditions.append(_search(query.q))
    return conditions


def page_statement(query: OrderQuery, after: tuple | None, limit: int, *,
                   recent_only: bool = False):
    """Return the SELECT of one page's rows (the tests read its plan).

    `recent_only`: search only the first RECENT_WINDOW orders of the list (filters, sort and
    cursor applied), by comparing each, without the index.
    """
    columns = _sort_columns(query.sort)
    descending = query.direction == SortDirection.DESC
    conditions = _filters(query, search=not recent_only)
    if after is not None:
        key = tuple_(*columns)
        conditions.append(key < tuple_(*after) if descending else key > tuple_(*after))
    ordering = [c.desc() if descending else c.asc() for c in columns]
    if recent_only:
        window = (select(Order.id).where(*conditions).order_by(*ordering)
                  .limit(RECENT_WINDOW).correlate(None))
        conditions = [Order.id.in_(window), _matches(_needle(query.q))]
    stmt = (
        select(
            Order.id, Order.number, Order.created_at, Order.status, payment_state,
            Order.email, Order.ship_name, Order.ship_city, Order.ship_country, Order.currency,
            Order.subtotal, Order.discount, Order.shipping, Order.tax, Order.total,
            captured_amount, refunded_amount,
        )
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit)
    )
    return stmt


def _found(query: OrderQuery, after: tuple | None, limit: int) -> list:
    if _through_fts(query):
        # A needle most orders contain ("gmail", "example.com") fills a page from the newest
        # orders at once, while the FTS5 table would list every order that has it (100,000
        # ids to sort): the newest RECENT_WINDOW are compared first. A full page from them is
        # exactly the page (every order past the window comes later in the list); anything
        # less, and the index answers. One statement more for rare needles, at any size.
        found = db.session.execute(page_statement(query, after, limit, recent_only=True)).all()
        if len(found) == limit:
            return found
    return db.session.execute(page_statement(query, after, limit)).all()


def _rows(query: OrderQuery, after: tuple | None, limit: int) -> list[OrderRow]:
    found = _found(query, after, limit)
    flags: dict[int, list[str]] = {}
    if found:
        open_flags = db.session.execute(
            select(OrderFlag.order_id, OrderFlag.code)
            .where(OrderFlag.order_id.in_([r.id for r in found]), OrderFlag.resolved_at.is_(None))
            .order_by(OrderFlag.id)
        )
        for order_id, code in open_flags:
            flags.setdefault(order_id, []).append(code)
    return [
        OrderRow(
            id=r.id, number=r.number, created_at=r.created_at, status=OrderStatus(r.status),
            payment_state=PaymentState(r[4]), email=r.email, ship_name=r.ship_name,
            ship_city=r.ship_city, ship_country=r.ship_country, currency=r.currency,
            subtotal=r.subtotal, discount=r.discount, shipping=r.shipping, tax=r.tax,
            total=r.total, paid=r[15], refunded=r[16], flags=tuple(flags.get(r.id, ())),
        )
        for r in found
    ]


def _after(query: OrderQuery, cursor: str | None) -> tuple | None:
    return decode_cursor(query, cursor) if cursor else None


def find_orders(query: OrderQuery, cursor: str | None = None) -> OrderPage:
    """Return one page of the orders matching `query`, after `cursor` (the first page without)."""
    size = PAGE_SIZE
    rows = _rows(query, _after(query, cursor), size + 1)
    if len(rows) <= size:
        return OrderPage(rows=rows, next_cursor=None)
    page = rows[:size]
    return OrderPage(rows=page, next_cursor=encode_cursor(query, page[-1]))


def all_orders(query: OrderQuery) -> Iterator[OrderRow]:
    """Yield every order matching `query` in its sort, reading EXPORT_BATCH rows at a time.

    Each batch ends its read transaction: on SQLite every transaction takes the write lock
    (BEGIN IMMEDIATE), and a long download must not keep checkouts waiting for it.
    """
    after, batch = None, EXPORT_BATCH
    while True:
        rows = _rows(query, after, batch)
        db.session.rollback()
        yield from rows
        if len(rows) < batch:
            return
        after = decode_cursor(query, encode_cursor(query, rows[-1]))
