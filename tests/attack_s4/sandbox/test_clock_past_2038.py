"""The sandbox's clock, moved past 2038-01-19 with its own control, overflows its INTEGER columns.

The clock control takes up to ten years a call (stripe_sandbox/clock.py:13, 36-40) and calls
add up, but every stored `created`, `expires_at`, `next_attempt_at` and `sandbox_time` is an
INTEGER (stripe_sandbox/store.py:38-40, 55, 70, 85), and the queries cast the clock to
::INTEGER: on PostgreSQL the advance that crosses 2^31 - 1 seconds (2038-01-19 03:14:07 UTC)
is itself a NumericValueOutOfRange (in the expiry sweep run_due runs,
`sandbox_object.expires_at <= %(expires_at_1)s::INTEGER`), a 500 (api_error), and after it
every session made is one too. SQLite's integers hold it, so the test fails on PostgreSQL only
(SANDBOX_TEST_POSTGRES_URL). The same happens without the control once the wall clock passes
2038: a test bench that advances the clock, or a sandbox left running, meets it first.
"""

from tests.sandbox.conftest import session_params
from tests.sandbox.helpers import call
from tests.sandbox.test_http import control

TEN_YEARS = 10 * 365 * 24 * 60 * 60


def test_a_session_made_after_2038_is_created(app, sandbox, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    while sandbox.now() < 2**31:
        status, body = control(app, "POST", "/clock/advance", seconds=TEN_YEARS)
        assert status == 200, body
    status, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    assert status == 200, session
    assert session["created"] >= 2**31
