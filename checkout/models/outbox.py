"""The outbox: messages written in the same transaction as the change that causes them."""

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.domain.message_status import MessageStatus, move_message
from checkout.extensions import db


class OutboxMessage(db.Model):
    """One e-mail to send, keyed by its cause so that no cause ever sends it twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The cause, e.g. "order-confirmed:<number>": unique, so a replay finds the first message.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    # What the template needs, captured when the cause happened (JSON).
    context: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(
        String(16), default=MessageStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # A worker that claimed the message owns it until then; a crashed worker's claim runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def data(self) -> dict:
        """The template context as it was written."""
        return json.loads(self.context)

    def move_to(self, new: MessageStatus) -> bool:
        """Change status through the table (a sent message never goes back to pending)."""
        moved = move_message(self.key, MessageStatus(self.status), new)
        self.status = new
        return moved
