"""What each reconciliation run found: what it fixed and what still needs a person."""

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.domain.reconciliation import Fix, Issue, IssueKind
from checkout.extensions import db


class ReconciliationRun(db.Model):
    """One comparison of Stripe's events and sessions with the shop's orders and ledger."""

    __tablename__ = "reconciliation_run"
    __table_args__ = (
        CheckConstraint(
            "events_seen >= 0 AND sessions_seen >= 0 AND refunds_seen >= 0",
            name="counts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "cli" (a person ran `flask reconcile`) or "job" (the periodic job).
    trigger: Mapped[str] = mapped_column(String(16))
    # The window compared: Stripe objects created at or after this moment.
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    events_seen: Mapped[int] = mapped_column(default=0)
    sessions_seen: Mapped[int] = mapped_column(default=0)
    refunds_seen: Mapped[int] = mapped_column(default=0)
    # JSON lists of Fix and Issue, as the run found them.
    fixes_json: Mapped[str] = mapped_column(Text, default="[]")
    issues_json: Mapped[str] = mapped_column(Text, default="[]")

    @property
    def fixes(self) -> list[Fix]:
        return [Fix(**item) for item in json.loads(self.fixes_json)]

    @property
    def issues(self) -> list[Issue]:
        return [
            Issue(**{**item, "kind": IssueKind(item["kind"])})
            for item in json.loads(self.issues_json)
        ]

    @property
    def needs_person(self) -> bool:
        """Say whether the run left anything it could not put right."""
        return bool(json.loads(self.issues_json))
