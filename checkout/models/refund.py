"""What a refund gives back line by line, and the refunds shoppers ask for."""

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.domain.payment_status import checked_move
from checkout.extensions import db


class RefundLine(db.Model):
    """Units of one order line a refund gave back (a refund by amount has none)."""

    __tablename__ = "refund_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int]
    # The units went back on the shelf, with their stock movement.
    restocked: Mapped[bool] = mapped_column(default=False)


class RefundRequestStatus(StrEnum):
    # The shopper asked; staff have not decided yet.
    PENDING = "pending"
    # Staff approved it and the refund was issued.
    APPROVED = "approved"
    # Staff said no, with a reason the shopper sees.
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "Waiting for our answer", "approved": "Approved",
                "rejected": "Declined"}[self]


RR = RefundRequestStatus
REQUEST_TRANSITIONS: dict[RefundRequestStatus, frozenset[RefundRequestStatus]] = {
    RR.PENDING: frozenset({RR.APPROVED, RR.REJECTED}),
    RR.APPROVED: frozenset(),
    RR.REJECTED: frozenset(),
}


class RefundRequest(db.Model):
    """A shopper asking for money back on a paid order: which lines, why, and staff's answer."""

    __tablename__ = "refund_request"
    __table_args__ = (
        # At most one open request per order, whatever two tabs submit at once.
        Index(
            "uq_refund_request_open_per_order", "order_id", unique=True,
            sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    # JSON {order line id: units}, as the shopper asked.
    lines: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[RefundRequestStatus] = mapped_column(
        String(16), default=RefundRequestStatus.PENDING
    )
    # The refund approving it issued.
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff's words to the shopper: why not (required to reject), or a note on approval.
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    @property
    def status_label(self) -> str:
        """The status in the shopper's words."""
        return RefundRequestStatus(self.status).label

    @property
    def quantities(self) -> dict[int, int]:
        """Order line id → units asked for."""
        return {int(k): v for k, v in json.loads(self.lines).items()}

    def move_to(self, new: RefundRequestStatus) -> bool:
        """Change status through the request table; a decided request stays decided."""
        moved = checked_move(
            REQUEST_TRANSITIONS, f"refund request {self.id}", RefundRequestStatus(self.status), new
        )
        self.status = new
        return moved
