"""Attacks on the mounted sandbox with nesting deep enough to exhaust Python's recursion."""

import pytest

from checkout.sandbox_wiring import MOUNT


@pytest.mark.parametrize("depth", [2_000, 20_000])
def test_a_deeply_bracketed_parameter_is_a_400(app, client, sandbox, depth):
    key = "metadata" + "[a]" * depth
    answer = client.post(f"{MOUNT}/v1/checkout/sessions", data={key: "1"},
                         headers={"Authorization": f"Bearer {app.config['STRIPE_SECRET_KEY']}"})
    assert answer.status_code == 400, answer.status_code
    assert "nested" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_a_deeply_nested_json_control_body_is_a_400(client, sandbox, depth):
    body = '{"a": ' + "[" * depth + "]" * depth + "}"
    answer = client.post(f"{MOUNT}/_controls/deliver", data=body,
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.status_code
    assert "nested too deeply" in answer.get_data(as_text=True)
