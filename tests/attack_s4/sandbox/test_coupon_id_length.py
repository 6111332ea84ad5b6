"""A coupon created with an id of its own longer than the sandbox's id column.

POST /v1/coupons reads a custom `id` with read_str (stripe_sandbox/pricing.py:130), which takes
up to 5,000 characters, and _create (stripe_sandbox/price_objects.py:57-66) inserts it into
sandbox_object.id, a VARCHAR(100) (stripe_sandbox/store.py:36). On PostgreSQL that is a
StringDataRightTruncation, a 500 (api_error "An unknown error occurred in the sandbox") where a
400 saying the id is too long is meant; SQLite stores the 101-character id in its 100-character
column.
"""

from sqlalchemy import func, select

from stripe_sandbox.store import objects
from tests.sandbox.helpers import call


def test_a_coupon_id_longer_than_the_id_column_is_a_400_and_stores_nothing(app, sandbox,
                                                                           monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    status, body, _ = call(app, "POST", "/v1/coupons",
                           {"id": "C" * 101, "percent_off": "10", "duration": "once"})
    assert status == 400, body
    with sandbox.ctx.store.engine.connect() as conn:
        longest = conn.execute(select(func.max(func.length(objects.c.id)))).scalar()
    assert longest is None or longest <= 100
