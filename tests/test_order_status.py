"""The status machine: every legal edge moves and writes the timeline; every other one raises.

The legal edges are written out by hand below, from DESIGN.md's order pipeline and the rules in
checkout/domain/order_status.py, and the table must equal them exactly: an edge added to or
dropped from TRANSITIONS fails here until this list is changed on purpose.
"""

import itertools

import pytest

from checkout.domain.errors import InvalidTransition
from checkout.domain.order_status import PAID_STATUSES, TRANSITIONS, OrderStatus, can_transition
from checkout.models import Order
from tests.factories import OrderFactory

S = OrderStatus

LEGAL = [
    # The pipeline: paid at once by card, or first processing while a bank debit settles.
    (S.PENDING_PAYMENT, S.PAYMENT_PROCESSING),
    (S.PENDING_PAYMENT, S.PAYMENT_CONFIRMED),
    (S.PAYMENT_PROCESSING, S.PAYMENT_CONFIRMED),
    (S.PAYMENT_CONFIRMED, S.AWAITING_SHIPMENT),
    (S.AWAITING_SHIPMENT, S.SHIPPED),
    (S.SHIPPED, S.DELIVERED),
    # A failed bank debit: back to be paid another way while the hold lasts.
    (S.PAYMENT_PROCESSING, S.PENDING_PAYMENT),
    # Never paid before the session and the hold ran out.
    (S.PENDING_PAYMENT, S.EXPIRED),
    # A payment that lands after the session lapsed revives the order.
    (S.EXPIRED, S.PAYMENT_PROCESSING),
    (S.EXPIRED, S.PAYMENT_CONFIRMED),
    # Cancelled by the shopper before payment, or by staff until it ships.
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAYMENT_PROCESSING, S.CANCELLED),
    (S.PAYMENT_CONFIRMED, S.CANCELLED),
    (S.AWAITING_SHIPMENT, S.CANCELLED),
]
ILLEGAL = [
    (a, b) for a, b in itertools.product(OrderStatus, OrderStatus)
    if a != b and (a, b) not in LEGAL
]


def _id(edge: tuple[OrderStatus, OrderStatus]) -> str:
    return f"{edge[0]}->{edge[1]}"


def order_in(status: OrderStatus) -> Order:
    return OrderFactory.build(number="TEST-0001", status=status, items=[])


def test_every_status_has_a_row_in_the_table():
    assert set(TRANSITIONS) == set(OrderStatus)


def test_the_table_allows_exactly_the_legal_edges():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert len(set(LEGAL)) == len(LEGAL)
    assert table == set(LEGAL)


def test_the_paid_statuses_are_the_ones_after_the_money_arrived():
    assert set(PAID_STATUSES) == {S.PAYMENT_CONFIRMED, S.AWAITING_SHIPMENT, S.SHIPPED, S.DELIVERED}


@pytest.mark.parametrize(("current", "new"), LEGAL, ids=[_id(edge) for edge in LEGAL])
def test_legal_transition_moves_and_leaves_a_timeline_event(current, new):
    order = order_in(current)
    assert order.transition_to(new, actor="test") is True
    assert order.status == new
    [event] = order.events
    assert (event.from_status, event.to_status, event.actor) == (current, new, "test")


@pytest.mark.parametrize(("current", "new"), ILLEGAL, ids=[_id(edge) for edge in ILLEGAL])
def test_illegal_transition_raises_and_changes_nothing(current, new):
    order = order_in(current)
    with pytest.raises(InvalidTransition) as raised:
        order.transition_to(new, actor="test")
    assert order.status == current
    assert order.events == []
    assert str(current) in str(raised.value) and str(new) in str(raised.value)
    assert "TEST-0001" in str(raised.value)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_moving_to_the_same_status_is_a_no_op(status):
    order = order_in(status)
    assert order.transition_to(status, actor="test") is False
    assert order.events == []


def test_terminal_statuses_lead_nowhere():
    assert not TRANSITIONS[OrderStatus.DELIVERED]
    assert not TRANSITIONS[OrderStatus.CANCELLED]


def test_a_late_payment_can_revive_an_expired_order():
    assert can_transition(OrderStatus.EXPIRED, OrderStatus.PAYMENT_CONFIRMED)
    assert not can_transition(OrderStatus.EXPIRED, OrderStatus.SHIPPED)
