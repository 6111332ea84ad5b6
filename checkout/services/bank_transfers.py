"""Bank transfer: the shopper wires the money with a reference, staff record it when it lands.

The order waits in `pending_payment` with its stock held for BANK_TRANSFER_HOLD_HOURS; no
Checkout Session is ever made for it, so nothing here talks to the payment provider. Staff
record the transfer with the amount read off the bank statement: only the exact total is
accepted, and it is applied through the same `fulfilment.confirm_payment` a card payment
takes. A short or over payment is not recorded: staff settle it with the shopper. After the
hold lapsed the order expires as any unpaid order does, and a transfer is then refused.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.errors import TransferRefused
from checkout.domain.money import format_money
from checkout.domain.order_status import PAID_STATUSES, OrderStatus
from checkout.domain.payment_status import PaymentMethod, PaymentStatus
from checkout.extensions import db
from checkout.models import Order, OrderEvent, Payment
from checkout.services import fulfilment, inventory, notifications
from checkout.services.orders import find_order, lock_order
from checkout.services.transactions import retry_once_on_conflict

PROVIDER = "bank_transfer"


@dataclass(frozen=True)
class BankAccount:
    """Where shoppers send the money, from the BANK_TRANSFER_* settings."""

    account_name: str
    iban: str
    bic: str
    bank_name: str


@dataclass(frozen=True)
class AwaitingTransfer:
    order: Order
    reference: str
    # When the hold lapses and the order expires (None: the sweeper is about to expire it).
    deadline: datetime | None


def enabled() -> bool:
    """Say whether shoppers may choose to pay by bank transfer (BANK_TRANSFER)."""
    return bool(current_app.config.get("BANK_TRANSFER"))


def bank_account() -> BankAccount:
    """The shop's account that transfers go to."""
    config = current_app.config
    return BankAccount(
        account_name=config["BANK_TRANSFER_ACCOUNT_NAME"],
        iban=config["BANK_TRANSFER_IBAN"],
        bic=config.get("BANK_TRANSFER_BIC") or "",
        bank_name=config.get("BANK_TRANSFER_BANK_NAME") or "",
    )


def payment_reference(order: Order) -> str:
    """The reference the shopper writes on the transfer: the order number, unique and short."""
    return order.number


def is_bank_transfer(order: Order) -> bool:
    """Say whether the shopper chose to pay this order by bank transfer."""
    return order.payment_method == PaymentMethod.BANK_TRANSFER


def enqueue_instructions(order: Order) -> bool:
    """Write the e-mail with the bank details, amount, reference and deadline (flush only)."""
    account = bank_account()
    deadline = inventory.current_hold_expiry(order)
    return notifications.enqueue(
        f"bank-transfer-instructions:{order.number}",
        "bank_transfer_instructions",
        order.email,
        {
            **notifications.unpaid_order_context(order),
            "reference": payment_reference(order),
            "deadline": f"{deadline:%d %b %Y, %H:%M} UTC" if deadline else None,
            "account_name": account.account_name,
            "iban": account.iban,
            "bic": account.bic,
            "bank_name": account.bank_name,
        },
    )


def awaiting() -> list[AwaitingTransfer]:
    """Orders waiting for a bank transfer, the oldest first."""
    orders = db.session.scalars(
        select(Order)
        .where(
            Order.payment_method == PaymentMethod.BANK_TRANSFER,
            Order.status == OrderStatus.PENDING_PAYMENT,
        )
        .order_by(Order.created_at, Order.id)
    )
    return [
        AwaitingTransfer(order, payment_reference(order), inventory.current_hold_expiry(order))
        for order in orders
    ]


def _expired_on(order: Order) -> str:
    when = db.session.scalar(
        select(OrderEvent.created_at)
        .where(OrderEvent.order_id == order.id, OrderEvent.to_status == OrderStatus.EXPIRED)
        .order_by(OrderEvent.id.desc())
    )
    return f" on {when:%d %b %Y, %H:%M} UTC" if when else ""


def _refusal(order: Order, amount: int) -> str | None:
    """Why this transfer cannot be recorded against the locked order, or None if it can."""
    status = OrderStatus(order.status)
    if not is_bank_transfer(order):
        return f"Order {order.number} is not paid by bank transfer."
    if status in PAID_STATUSES:
        return f"Order {order.number} is already paid: the transfer was recorded before."
    if status == OrderStatus.EXPIRED:
        return (
            f"Order {order.number} expired{_expired_on(order)}; the stock was released. "
            "Nothing was recorded: send the money back or place a new order for the shopper."
        )
    if status != OrderStatus.PENDING_PAYMENT:
        return f"Order {order.number} is {status.label.lower()}: it takes no payment."
    deadline = inventory.current_hold_expiry(order)
    if deadline is None or deadline <= now_utc():
        return (
            f"The hold on order {order.number} lapsed and it is about to expire; the stock "
            "is being released. Nothing was recorded."
        )
    if amount != order.total:
        return (
            f"{format_money(amount, order.currency)} received, but order {order.number} "
            f"totals {format_money(order.total, order.currency)}. Nothing was recorded: "
            "settle the difference with the shopper first."
        )
    return None


@retry_once_on_conflict
def record_transfer(
    number: str, amount: int, reference: str, *, actor: str, user_id: int | None
) -> Order:
    """Record a transfer of exactly the total: the order is paid as by card; one commit.

    The order row is locked and its status read again under the lock, so a double submit (or
    two staff members) records it once: the second finds it paid and is refused.
    Raises TransferRefused, with nothing written, for a wrong amount or an order past paying.
    """
    order = find_order(number)
    if order is None:
        raise TransferRefused(f"There is no order {number}.")
    try:
        order = lock_order(order.id)
        problem = _refusal(order, amount)
        if problem:
            raise TransferRefused(problem)
        payment = Payment(
            order_id=order.id,
            provider=PROVIDER,
            checkout_session_id=None,
            amount=amount,
            currency=order.currency,
            status=PaymentStatus.SUCCEEDED,
            reference=reference,
        )
        db.session.add(payment)
        db.session.flush()
        fulfilment.confirm_payment(
            order,
            payment,
            actor=actor,
            user_id=user_id,
            cause=f"bank transfer {reference}",
            received=f"Bank transfer of {{amount}} received (bank reference {reference}).",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order
