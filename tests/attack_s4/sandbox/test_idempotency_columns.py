"""The sandbox's idempotency record takes what no column of it can hold.

stripe_sandbox/api.py:75 keeps every POST that carries an Idempotency-Key under
(key VARCHAR(255), endpoint VARCHAR(200)) (stripe_sandbox/store.py:95-96). The key's length is
checked (api.py:72), the endpoint `f"POST {request.path}"` is not: a path of more than 195
characters (any id, or an unknown endpoint, which also goes through dispatch) makes an
endpoint the column cannot hold. On PostgreSQL the INSERT is a StringDataRightTruncation,
which dispatch's `except ValueError` does not catch: a 500 (api_error, app.py:133 logs
"sandbox POST ... failed") where the 404 of an unknown session or URL is meant. SQLite keeps
the row until the 404 removes it, so the test fails on PostgreSQL only
(SANDBOX_TEST_POSTGRES_URL). The shop's own ids pass usable_id up to 255 characters
(checkout/payments/gateway.py:173), so an expire call the shop makes can reach this too.
"""

import pytest
from sqlalchemy import String, select

from stripe_sandbox.store import metadata
from tests.sandbox.conftest import API_KEY

LONG = "x" * 300


@pytest.mark.parametrize("path", [
    f"/v1/checkout/sessions/cs_{LONG}/expire",
    f"/v1/{LONG}",
], ids=["expire-long-id", "unknown-endpoint"])
def test_a_long_path_with_an_idempotency_key_is_a_json_404_and_stores_nothing_too_long(
        app, sandbox, monkeypatch, path):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().post(
        path, data=b"", content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "k-1"})
    assert response.status_code == 404, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    too_long = []
    with sandbox.ctx.store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String) and c.type.length]
            for column in columns:
                for (value,) in conn.execute(select(column)):
                    if value is not None and len(value) > column.type.length:
                        too_long.append(f"{table.name}.{column.name}: {len(value)}")
    assert too_long == []
