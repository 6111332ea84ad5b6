"""Audit s4: the sandbox's idempotency row keeps the request's path in a VARCHAR(200) key column.

Finding: stripe_sandbox/api.py:75 stores `f"POST {request.path}"` as `sandbox_idempotency.endpoint`
(stripe_sandbox/store.py:96, String(200), part of the primary key). The path is the caller's: an
id in /v1/checkout/sessions/<id>/expire, or any path under the catch-all /v1/<path:rest>
(api.py:245), can be any length. Past 195 characters with an Idempotency-Key header, PostgreSQL
refuses the INSERT (StringDataRightTruncation) and the sandbox answers 500 where Stripe answers
404 (no such object / unrecognized URL). SQLite stores the long value, so this fails only with
SANDBOX_TEST_POSTGRES_URL set (as scripts/test's PostgreSQL pass sets it).
"""

from __future__ import annotations

import pytest
from flask import Flask

from .conftest import API_KEY

LONG_ID = "cs_test_" + "a" * 250


@pytest.mark.parametrize("path", [f"/v1/checkout/sessions/{LONG_ID}/expire", "/v1/" + "x" * 300],
                         ids=["long session id", "long unknown path"])
def test_a_long_path_with_an_idempotency_key_is_a_404_not_a_500(app: Flask, monkeypatch,
                                                                path: str) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().post(
        path, data="", content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "audit-s4-key"})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["type"] == "invalid_request_error"


def test_an_idempotency_key_holding_a_nul_is_no_500(app: Flask, monkeypatch) -> None:
    # Same table, its other column: the key (sandbox_idempotency.key, stripe_sandbox/store.py:95)
    # is checked for length (api.py:72) but not for a NUL byte, which the sandbox refuses in a
    # path or a parameter ("Request values cannot contain NUL bytes."). PostgreSQL cannot store
    # or compare it: the SELECT in idempotency.begin (stripe_sandbox/idempotency.py:31) is a
    # DataError, a 500 (SQLite stores it and answers 200).
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().post(
        "/v1/coupons", data="percent_off=10", content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "audit\x00s4"})
    # A 400 as for a NUL elsewhere, or the key taken as SQLite takes it: anything but a 500.
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
