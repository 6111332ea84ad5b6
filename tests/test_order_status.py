"""The status machine: every legal edge moves and writes the timeline; every other one raises."""

import itertools

import pytest

from checkout.domain.errors import InvalidTransition
from checkout.domain.order_status import TRANSITIONS, OrderStatus, can_transition
from checkout.models import Order
from tests.factories import OrderFactory

ALL_EDGES = list(itertools.product(OrderStatus, OrderStatus))
LEGAL = [(a, b) for a, b in ALL_EDGES if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_EDGES if a != b and b not in TRANSITIONS[a]]


def order_in(status: OrderStatus) -> Order:
    return OrderFactory.build(number="TEST-0001", status=status, items=[])


def test_every_status_has_a_row_in_the_table():
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "new"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_legal_transition_moves_and_leaves_a_timeline_event(current, new):
    order = order_in(current)
    assert order.transition_to(new, actor="test") is True
    assert order.status == new
    [event] = order.events
    assert (event.from_status, event.to_status, event.actor) == (current, new, "test")


@pytest.mark.parametrize(("current", "new"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
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
