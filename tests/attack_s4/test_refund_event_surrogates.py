"""A signed refund event whose refund holds a lone surrogate (JSON \\ud800) in a text field.

refund_info (checkout/payments/gateway.py:120-125, `_text`) checks a refund's status,
payment_intent, failure_reason and currency for a NUL and a length only, not for printable
text as usable_text does for the event's own id and type. _on_refund
(checkout/services/webhooks.py:232-234) then writes the event's status into the webhook log's
detail ("the event said <status> (the provider says ...)"), and a payment_intent goes to the
provider's list call before the transaction: the surrogate cannot be encoded
(UnicodeEncodeError), a 500 where a refused (400) or recorded (200) event is meant, and
Stripe retries the event for days. (failure_reason and currency with a surrogate held.)
"""

import copy

import pytest

from checkout.models import WebhookEvent
from tests.test_webhook_hostile import paid_events  # noqa: F401  (the fixture)
from tests.test_webhooks import count, post_event


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "succeeded\ud800"), ("payment_intent", "pi_\ud800")],
)
def test_a_lone_surrogate_in_a_refund_event_is_refused_or_recorded_never_a_500(
        app, client, paid_events, field, value):  # noqa: F811
    event = copy.deepcopy(paid_events["refund.created"])
    event["data"]["object"][field] = value
    answer = post_event(client, event)  # json.dumps escapes it: valid, signed JSON
    assert answer.status_code in (200, 400), answer.get_data(as_text=True)[:500]
    if answer.status_code == 200:
        assert count(app, WebhookEvent) >= 1
