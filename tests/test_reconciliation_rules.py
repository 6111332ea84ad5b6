"""Reconciliation's pure rules: the --since window, and what session and refund must agree on."""

from datetime import UTC, datetime, timedelta

import pytest

from checkout.config import ConfigError, from_environment
from checkout.domain.reconciliation import (
    IssueKind,
    LocalFacts,
    RefundFacts,
    SessionFacts,
    compare_refund,
    compare_session,
    parse_since,
)
from checkout.jobs import every_minutes

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", NOW - timedelta(minutes=90)),
    ("12h", NOW - timedelta(hours=12)),
    ("3d", NOW - timedelta(days=3)),
    (" 2W ", NOW - timedelta(weeks=2)),
    ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
    ("2026-11-28T09:30", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
    ("2026-11-28T10:30+01:00", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
])
def test_since_reads_dates_and_durations(text, expected):
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("yesterday", "neither an ISO 8601"),
    ("0d", "more than 0"),
    ("3y", "neither an ISO 8601"),
    ("2026-12-01", "in the future"),
    ("31d", "30 days"),
    ("2026-10-01", "30 days"),
    ("\x00", "neither an ISO 8601"),
])
def test_since_refuses_what_it_cannot_use(text, message):
    with pytest.raises(ValueError, match=message):
        parse_since(text, NOW)


PAID = SessionFacts("cs_1", "complete", "paid", 4800, "usd")
OPEN = SessionFacts("cs_2", "open", "unpaid", 4800, "usd")


def kinds(issues):
    return [(issue.kind, issue.order_number) for issue in issues]


def test_a_paid_session_recorded_in_full_agrees():
    assert compare_session(PAID, LocalFacts("A1", 4800, "USD", "succeeded")) == []
    assert compare_session(PAID, LocalFacts("A1", 4800, "USD", "refunded")) == []


def test_a_paid_session_without_an_order_needs_a_person():
    [issue] = compare_session(PAID, LocalFacts())
    assert issue.kind == IssueKind.PAID_WITHOUT_ORDER and issue.stripe_id == "cs_1"
    assert "4800 USD" in issue.detail


def test_a_paid_session_for_another_amount_or_currency_is_a_mismatch():
    assert kinds(compare_session(PAID, LocalFacts("A1", 4700, "USD", "succeeded"))) == [
        (IssueKind.AMOUNT_MISMATCH, "A1")]
    assert kinds(compare_session(PAID, LocalFacts("A1", 4800, "EUR", "succeeded"))) == [
        (IssueKind.AMOUNT_MISMATCH, "A1")]


def test_a_paid_session_the_order_never_recorded_is_reported():
    assert kinds(compare_session(PAID, LocalFacts("A1", 4800, "USD", None))) == [
        (IssueKind.NOT_RECORDED, "A1")]
    assert kinds(compare_session(PAID, LocalFacts("A1", 4800, "USD", "processing"))) == [
        (IssueKind.NOT_RECORDED, "A1")]


def test_a_payment_counted_here_for_an_unpaid_session_is_reported():
    assert kinds(compare_session(OPEN, LocalFacts("A1", 4800, "USD", "succeeded"))) == [
        (IssueKind.PAID_HERE_ONLY, "A1")]
    assert compare_session(OPEN, LocalFacts("A1", 4800, "USD", None)) == []
    assert compare_session(OPEN, LocalFacts()) == []


def test_refunds_agree_on_amount_and_status_with_requires_action_as_pending():
    remote = RefundFacts("re_1", 800, "succeeded", "pi_1", "usd")
    assert compare_refund(remote, RefundFacts("re_1", 800, "succeeded"), "A1") == []
    waiting = RefundFacts("re_1", 800, "requires_action", "pi_1", "usd")
    assert compare_refund(waiting, RefundFacts("re_1", 800, "pending"), "A1") == []
    assert kinds(compare_refund(remote, RefundFacts("re_1", 800, "pending"), "A1")) == [
        (IssueKind.REFUND_DIFFERS, "A1")]
    assert kinds(compare_refund(remote, None, None)) == [(IssueKind.UNKNOWN_REFUND, None)]


def test_every_minutes_keeps_its_step_across_hours_and_days():
    hourly = every_minutes(60)
    # Huey's consumer passes naive UTC times.
    start = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)
    due = [start + timedelta(minutes=m) for m in range(3 * 24 * 60)
           if hourly(start + timedelta(minutes=m))]
    assert len(due) == 72 and all(moment.minute == 0 for moment in due)
    every_7 = every_minutes(7)
    due = [m for m in range(24 * 60 + 30) if every_7(start + timedelta(minutes=m))]
    assert all(b - a == 7 for a, b in zip(due, due[1:], strict=False))
    assert every_7(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == every_7(start)


@pytest.fixture
def env(monkeypatch):
    for name in ("CHECKOUT_ENV", "SECRET_KEY", "PAYMENTS", "STRIPE_SECRET_KEY",
                 "RECONCILE_INTERVAL_MINUTES", "RECONCILE_WINDOW_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_reconciliation_runs_hourly_over_three_days_by_default(env, tmp_path):
    config = from_environment(tmp_path)
    assert (config["RECONCILE_INTERVAL_MINUTES"], config["RECONCILE_WINDOW_DAYS"]) == (60, 3)
    env.setenv("RECONCILE_INTERVAL_MINUTES", "15")
    env.setenv("RECONCILE_WINDOW_DAYS", "30")
    config = from_environment(tmp_path)
    assert (config["RECONCILE_INTERVAL_MINUTES"], config["RECONCILE_WINDOW_DAYS"]) == (15, 30)


@pytest.mark.parametrize(("name", "value"), [
    ("RECONCILE_INTERVAL_MINUTES", "4"),
    ("RECONCILE_INTERVAL_MINUTES", "1441"),
    ("RECONCILE_INTERVAL_MINUTES", "hourly"),
    ("RECONCILE_WINDOW_DAYS", "0"),
    ("RECONCILE_WINDOW_DAYS", "31"),
])
def test_impossible_reconciliation_settings_are_refused_with_their_name(
    env, tmp_path, name, value
):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)
