"""Outgoing e-mail through the outbox: written with its cause, sent later, each exactly once.

`enqueue` writes the message in the caller's transaction (flush only), keyed by its cause
under a unique constraint: a replayed webhook, a success page racing the webhook or a retried
job finds the message already there and adds nothing. `deliver_due` is the use case a worker
runs: it claims due messages (one short transaction), sends each with no transaction open,
and records each outcome in a transaction of its own. A claim is a lease (`claimed_until`),
so a worker that dies mid-send leaves its message to be picked up once the lease runs out.

Services do not know the job queue: after a commit that wrote a message,
`messages_committed` is sent with the app, and the app wires that signal to the queue.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from blinker import Namespace
from flask import current_app, has_app_context
from sqlalchemy import event, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from checkout import mail
from checkout.db import now_utc
from checkout.domain.addresses import city_line, country_name
from checkout.domain.carriers import tracking_url
from checkout.domain.message_status import MAX_ATTEMPTS, MessageStatus, retry_delay_seconds
from checkout.extensions import db
from checkout.models import CreditNote, Order, OutboxMessage, Refund, User
from checkout.models.order import FlagCode
from checkout.models.user import Role
from checkout.services import invoices
from checkout.services.orders import access_token

log = logging.getLogger(__name__)

_signals = Namespace()
# Sent (sender: the app) after a commit that wrote at least one message.
messages_committed = _signals.signal("outbox-messages-committed")

_WROTE_MESSAGES = "checkout.outbox.wrote_messages"
# Long enough for any SMTP exchange (its timeout is far shorter), short enough to retry soon
# after a worker died holding the claim.
CLAIM_SECONDS = 5 * 60
BATCH_SIZE = 50


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    template: str
    recipient: str
    context: dict


def stored_key(key: str) -> str:
    """The key as the outbox keeps it: a cause longer than the column (a staff address of 254
    characters, a long provider id) becomes its start and a digest of the whole, so it stays
    unique and a replay still finds it."""
    limit = OutboxMessage.__table__.c.key.type.length
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[:limit - len(digest) - 1]}#{digest}"


def enqueue(key: str, template: str, to: str, context: dict) -> bool:
    """Write a message in the caller's transaction (flush only); say whether it is new.

    A message with the same key already written (or being written by a concurrent
    transaction) makes this a no-op: the INSERT yields to the unique constraint.
    """
    key = stored_key(key)
    now = now_utc()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else (
        sqlite.insert
    )
    statement = (
        insert(OutboxMessage)
        .values(
            key=key,
            template=template,
            recipient=to,
            context=json.dumps(context, sort_keys=True),
            status=MessageStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)
    )
    written = db.session.execute(statement).scalar() is not None
    db.session.info[_WROTE_MESSAGES] = True
    return written


def enqueue_order_confirmation(order: Order) -> bool:
    """Write the order's confirmation with its receipt, as the order stands now (flush only)."""
    invoice = invoices.invoice_of(order)
    lines = [
        {"title": line.title, "quantity": line.quantity, "unit_price": line.unit_price,
         "line_total": line.line_total}
        for line in order.lines
    ]
    address = [
        order.ship_line1,
        order.ship_line2,
        city_line(order.ship_city, order.ship_postal_code, order.ship_country),
        country_name(order.ship_country),
    ]
    return enqueue(
        f"order-confirmed:{order.number}",
        "order_confirmed",
        order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            # Issued in this same transaction, just before (fulfilment._confirm).
            "invoice_number": invoice.number if invoice else None,
            "customer_name": order.ship_name,
            "ship_name": order.ship_name,
            "ship_address": [part for part in address if part],
            "currency": order.currency,
            "lines": lines,
            # The order's stored totals: the receipt never recomputes what was charged.
            "subtotal": order.subtotal,
            "discount": order.discount,
            "shipping": order.shipping,
            "tax": order.tax,
            "tax_included": order.tax_included,
            "tax_included_name": order.pricing_context.included_tax_name,
            "total": order.total,
        },
    )


def unpaid_order_context(order: Order) -> dict:
    """What every mail about paying an order shows: its number and link, who, and how much."""
    return {
        "order_number": order.number,
        "access_token": access_token(order),
        "customer_name": order.ship_name,
        "currency": order.currency,
        "total": order.total,
    }


def enqueue_payment_failed(order: Order, session_id: str) -> bool:
    """Tell the shopper their bank debit failed, and where to pay again if they still can."""
    return enqueue(
        f"payment-failed:{session_id}",
        "payment_failed",
        order.email,
        {
            **unpaid_order_context(order),
            # Decided now, with the failure: the link is shown only if the order waits again.
            "payment_link": order.awaiting_payment,
        },
    )


def enqueue_refund_made(order: Order, refund: Refund, credit_note: CreditNote | None) -> bool:
    """Tell the shopper a refund reached them, with its credit note if one was issued."""
    return enqueue(
        f"refund-made:{refund.idempotency_key}",
        "refund_made",
        order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            "customer_name": order.ship_name,
            "amount": refund.amount,
            "currency": refund.currency,
            "credit_note_number": credit_note.number if credit_note else None,
        },
    )


def enqueue_order_shipped(order: Order) -> bool:
    """Tell the shopper their order is on its way, with the carrier's tracking link if known."""
    return enqueue(
        f"order-shipped:{order.number}",
        "order_shipped",
        order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            "customer_name": order.ship_name,
            "carrier": order.tracking_carrier,
            "tracking_number": order.tracking_number,
            "tracking_url": tracking_url(order.tracking_carrier, order.tracking_number),
        },
    )


def staff_recipients() -> list[str]:
    """Who gets staff alerts: STAFF_ALERT_EMAIL if set, else every staff account."""
    configured = current_app.config.get("STAFF_ALERT_EMAIL") or ""
    addresses = [a.strip() for a in configured.split(",") if a.strip()]
    if addresses:
        return addresses
    staff = select(User.email).where(User.role.in_([Role.STAFF, Role.ADMIN]), User.active)
    return list(db.session.scalars(staff.order_by(User.id)))


def alert_staff(order: Order, flag_code: FlagCode, detail: str, *, cause: str) -> int:
    """Write an alert to each staff recipient about an order just flagged; return how many.

    Keyed by order, reason and `cause` (the refund, session or dispute behind it), per
    recipient: a replayed event alerts nobody twice, while a second refund failing or a
    second dispute on the same order is news. With nobody to alert (no staff account, no
    STAFF_ALERT_EMAIL), the alert goes to the shop's own sender address and says how to fix
    that: a disputed payment must not wait unseen in a log.
    """
    recipients = staff_recipients()
    unrouted = not recipients
    if unrouted:
        sender = parseaddr(current_app.config["MAIL_FROM"] or "")[1]
        log.warning("order %s flagged %s with no staff to alert: sent to the sender address "
                    "%r; set STAFF_ALERT_EMAIL", order.number, flag_code, sender)
        recipients = [sender] if "@" in sender else []
    context = {
        "order_number": order.number,
        "staff_alert": True,
        "flag_code": str(flag_code),
        "detail": detail,
        "customer_name": order.ship_name,
        "customer_email": order.email,
        "unrouted": unrouted,
    }
    return sum(
        enqueue(
            f"staff-alert:{order.number}:{flag_code}:{cause}:{to.lower()}", "staff_alert", to,
            context,
        )
        for to in recipients
    )


def alert_staff_webhook(event_id: str, event_type: str, detail: str) -> int:
    """Write an alert to each staff recipient that handling a Stripe event failed.

    Keyed by the event, per recipient: Stripe's retries failing again alert nobody twice.
    """
    context = {"webhook_event_id": event_id, "event_type": event_type, "detail": detail}
    return sum(
        enqueue(f"staff-alert:webhook:{event_id}:{to.lower()}", "staff_alert_webhook", to,
                context)
        for to in staff_recipients()
    )


def enqueue_password_reset(user: User, token: str, bucket: int) -> bool:
    """Write a password reset mail; one per account and time bucket, however often asked."""
    return enqueue(
        f"password-reset:{user.id}:{bucket}",
        "password_reset",
        user.email,
        {"reset_token": token, "valid_minutes": current_app.config["PASSWORD_RESET_MINUTES"]},
    )


def enqueue_email_verification(user: User, token: str, bucket: int, valid_hours: int) -> bool:
    """Write an e-mail verification mail; one per account and time bucket."""
    return enqueue(
        f"verify-email:{user.id}:{bucket}",
        "verify_email",
        user.email,
        {"verify_token": token, "valid_hours": valid_hours},
    )


def enqueue_account_exists(user: User, bucket: int) -> bool:
    """Tell an account's owner someone tried to register with their address; one per bucket."""
    return enqueue(
        f"account-exists:{user.id}:{bucket}",
        "account_exists",
        user.email,
        {"account_links": True},
    )


def enqueue_staff_invitation(user: User, token: str, *, invited_by: str) -> bool:
    """Write the mail that lets a new staff member choose a password; one per invitation."""
    return enqueue(
        f"staff-invitation:{user.id}:{token[-16:]}",
        "staff_invitation",
        user.email,
        {"invitation_token": token, "invited_by": invited_by,
         "valid_days": current_app.config["STAFF_INVITATION_DAYS"]},
    )


@event.listens_for(Session, "after_commit")
def _announce_committed_messages(session: Session) -> None:
    if session.info.pop(_WROTE_MESSAGES, False) and has_app_context():
        messages_committed.send(current_app._get_current_object())


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_messages(session: Session) -> None:
    session.info.pop(_WROTE_MESSAGES, None)


def deliver_due(now: datetime | None = None) -> int:
    """Send every message that is due, each once; return how many went out."""
    sent = 0
    while True:
        claimed = _claim(now or now_utc())
        if not claimed:
            return sent
        for message in claimed:
            sent += _deliver(message, now or now_utc())


def _claim(now: datetime) -> list[Claimed]:
    """Lease a batch of due messages to this worker and commit the lease."""
    try:
        rows = list(
            db.session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == MessageStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH_SIZE)
                # PostgreSQL: other workers skip these rows instead of waiting for them.
                # SQLite ignores it; BEGIN IMMEDIATE makes the claims queue up instead.
                .with_for_update(skip_locked=True)
            )
        )
        claimed = []
        for row in rows:
            stale = _no_longer_true(row)
            if stale:
                row.move_to(MessageStatus.SKIPPED)
                row.last_error = stale
                continue
            row.claimed_until = now + timedelta(seconds=CLAIM_SECONDS)
            row.attempts += 1
            claimed.append(Claimed(row.id, row.key, row.template, row.recipient, row.data))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed


def _no_longer_true(row: OutboxMessage) -> str | None:
    """Why a message written earlier must not go out now, or None when it still should.

    A payment reminder waits in the outbox (a worker down, a retry after a mail server
    failure); if the order was paid, cancelled or expired meanwhile, "still waiting for
    payment" would be false.
    """
    if row.template != "payment_reminder":
        return None
    number = row.data["order_number"]
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None:
        return f"not sent: order {number} no longer exists"
    if not order.awaiting_payment:
        return f"not sent: order {number} is {order.status}, no longer waiting for payment"
    return None


def _deliver(message: Claimed, now: datetime) -> int:
    """Render and send one claimed message with no transaction open; record the outcome."""
    try:
        email = mail.render(message.key, message.template, message.recipient, message.context)
        mail.send(message.key, email)
    except Exception as exc:  # any failure of one message must not stop the others
        log.warning("message %s not sent: %s", message.key, exc)
        _record_failure(message.id, f"{type(exc).__name__}: {exc}", now)
        return 0
    _record_sent(message.id)
    return 1


def _record_sent(message_id: int) -> None:
    try:
        row = db.session.get(
            OutboxMessage, message_id, with_for_update=True, populate_existing=True
        )
        row.move_to(MessageStatus.SENT)
        row.sent_at = now_utc()
        row.claimed_until = None
        row.last_error = None
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _record_failure(message_id: int, error: str, now: datetime) -> None:
    try:
        row = db.session.get(
            OutboxMessage, message_id, with_for_update=True, populate_existing=True
        )
        row.last_error = error[:2000]
        row.claimed_until = None
        if row.attempts >= MAX_ATTEMPTS:
            row.move_to(MessageStatus.FAILED)
        else:
            row.next_attempt_at = now + timedelta(seconds=retry_delay_seconds(row.attempts))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
