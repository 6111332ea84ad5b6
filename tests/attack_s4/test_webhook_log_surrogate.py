"""A signed event whose JSON holds a lone-surrogate escape (\\ud800) breaks the staff webhook log.

The event is verified and applied (the shop reads the provider's copy of the session), and its
body is kept as received: `"\\ud800"` is six ASCII characters there, so storing it is fine on
both databases. But the log pages show it through webhook_log.pretty
(checkout/services/webhook_log.py:68), json.loads then json.dumps(ensure_ascii=False), which
turns the escape into a lone surrogate in the page's text; encoding the response as UTF-8
raises UnicodeEncodeError: GET /staff/webhooks/ (every page that lists the event) and
GET /staff/webhooks/<event_id> are a 500 until the event leaves the first page.
"""

import copy

import pytest

from tests.test_webhook_hostile import paid_events  # noqa: F401  (the fixture)
from tests.test_webhooks import post_event

COMPLETED = "checkout.session.completed"


@pytest.mark.parametrize("where", ["metadata", "event_type"])
def test_a_lone_surrogate_escape_in_a_signed_event_keeps_the_webhook_log_readable(
        app, client, admin, paid_events, where):  # noqa: F811
    event = copy.deepcopy(paid_events[COMPLETED])
    if where == "metadata":
        event["data"]["object"]["metadata"] = {"note": "\ud800"}
    else:
        # An event type the shop does not handle: recorded as ignored, payload kept.
        event["type"] = "customer.updated"
        event["data"]["object"] = {"id": "cus_1", "name": "\udfff"}
    answer = post_event(client, event)  # json.dumps escapes it as \ud800: valid JSON
    assert answer.status_code < 500, answer.get_data(as_text=True)
    listing = admin.get("/staff/webhooks/")
    assert listing.status_code == 200, listing.status_code
    shown = admin.get(f"/staff/webhooks/{event['id']}")
    assert shown.status_code == 200, shown.status_code
