"""Walking Stripe's lists since a moment, as reconciliation does: created[gte], limit, cursors."""

from __future__ import annotations

import stripe

from stripe_sandbox import Sandbox

from .conftest import session_params
from .helpers import call
from .stripe_schema import StripeSchema


def _sessions_over_time(client: stripe.StripeClient, sandbox: Sandbox) -> tuple[list[str], int]:
    """Two old sessions, then (100 s later) five new ones, three of them paid."""
    for _ in range(2):
        client.v1.checkout.sessions.create(params=session_params())
    start = sandbox.advance_clock(100)
    recent = [client.v1.checkout.sessions.create(params=session_params()).id for _ in range(5)]
    for session_id in recent[:3]:
        sandbox.pay(session_id)
    return recent, start


def test_auto_paging_keeps_the_created_filter_on_every_page(
        client: stripe.StripeClient, sandbox: Sandbox) -> None:
    recent, start = _sessions_over_time(client, sandbox)
    first = client.v1.checkout.sessions.list(params={"created": {"gte": start}, "limit": 2})
    assert first.has_more and len(first.data) == 2
    assert [s.id for s in first.auto_paging_iter()] == recent[::-1]

    events = client.v1.events.list(params={"created": {"gte": start}, "limit": 2})
    walked = list(events.auto_paging_iter())
    expected = [e["id"] for e in sandbox.events() if e["created"] >= start][::-1]
    assert [e.id for e in walked] == expected
    assert len(walked) > 2 and all(e.created >= start for e in walked)
    assert {e.type for e in walked} >= {"checkout.session.completed",
                                        "payment_intent.succeeded"}


def test_created_gte_is_inclusive_and_gt_is_not(client: stripe.StripeClient,
                                                sandbox: Sandbox) -> None:
    recent, start = _sessions_over_time(client, sandbox)
    at_start = {s.id for s in client.v1.checkout.sessions.list(
        params={"created": {"gte": start}, "limit": 100}).data}
    after_start = client.v1.checkout.sessions.list(
        params={"created": {"gt": start}, "limit": 100}).data
    assert at_start == set(recent)
    assert all(s.created > start for s in after_start) and len(after_start) < len(recent)


def test_every_page_of_a_walk_holds_to_stripes_schema(
        app, client: stripe.StripeClient, sandbox: Sandbox, schema: StripeSchema) -> None:
    _, start = _sessions_over_time(client, sandbox)
    for path in ("/v1/events", "/v1/checkout/sessions"):
        params: dict = {"created": {"gte": start}, "limit": 3}
        pages = 0
        while True:
            status, page, _ = call(app, "GET", path, params)
            assert status == 200, page
            schema.check(page)
            assert page["url"] == path and len(page["data"]) <= 3
            pages += 1
            if not page["has_more"]:
                break
            params = {**params, "starting_after": page["data"][-1]["id"]}
        assert pages >= 2


def test_a_cursor_that_is_no_object_is_a_stripe_404(app) -> None:
    for path, kind in (("/v1/events", "event"), ("/v1/checkout/sessions", "checkout.session")):
        status, body, _ = call(app, "GET", path, {"starting_after": "nope_123"})
        assert status == 404, body
        assert body["error"]["param"] == "starting_after" and kind in body["error"]["message"]
