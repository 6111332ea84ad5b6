"""Attacks with deeply nested JSON: a signed body that no parser should recurse through."""

import json
import time

import pytest

from checkout.models import WebhookEvent
from tests.test_webhooks import count, post_event


@pytest.mark.parametrize("depth", [900, 5_000, 100_000])
def test_a_signed_event_nested_too_deep_is_a_400_not_a_500(app, client, depth):
    # data.previous_attributes can be any object; a body of nested lists parses by recursion
    # (json, then the SDK's StripeObject conversion) and RecursionError is no ValueError.
    event = {"id": "evt_deep", "object": "event", "type": "customer.updated",
             "created": int(time.time()), "data": {"object": {"id": "cus_1"},
                                                   "previous_attributes": {"x": "HOLE"}}}
    body = json.dumps(event).replace('"HOLE"', "[" * depth + "]" * depth).encode()
    assert len(body) < 1024 * 1024
    answer = post_event(client, event, payload=body)
    assert answer.status_code == 400
    assert "nested deeper" in answer.get_json()["error"]
    assert count(app, WebhookEvent) == 0


def test_brackets_inside_strings_and_stripe_s_own_nesting_are_no_depth(app, client):
    event = {"id": "evt_shallow", "object": "event", "type": "customer.updated",
             "created": int(time.time()),
             "data": {"object": {"id": "cus_1", "name": "[" * 500 + '"{' * 200,
                                 "a": {"b": {"c": {"d": [[[{"e": [1]}]]]}}}}}}
    assert post_event(client, event).status_code == 200
    assert count(app, WebhookEvent) == 1
