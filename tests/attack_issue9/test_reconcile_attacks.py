"""Attacks on `flask reconcile` (issue 9, reconciliation): hostile --since values."""

from datetime import UTC, datetime

import pytest

from checkout.domain.reconciliation import parse_since

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Each passes the form check (six digits, ISO 8601) but lies beyond what a datetime can hold
# once counted back from now or moved to UTC.
OUT_OF_RANGE = ["999999w", "999999d", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00+01:00"]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_since_beyond_the_calendar_is_refused_as_a_bad_value(text):
    with pytest.raises(ValueError, match="30 days|in the future|out of range"):
        parse_since(text, NOW)


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_the_command_says_what_is_wrong_with_such_a_since_instead_of_a_traceback(app, text):
    result = app.test_cli_runner().invoke(args=["reconcile", "--since", text])
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "--since" in result.output
    assert "Traceback" not in result.output
