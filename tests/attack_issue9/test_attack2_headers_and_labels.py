"""Attacks that held: request ids a client makes up, and event types nobody bounded."""

import re
import time

import pytest

from tests.test_metrics import scrape
from tests.test_webhooks import post_event


@pytest.mark.parametrize("offered", ["é" * 10, "x" * 10_000, "a\tb", "ÿ-id", "a" * 128 + "é",
                                     "../../etc/passwd", "id\x7f", "%0d%0aSet-Cookie:x=1"])
def test_a_made_up_request_id_is_never_echoed_or_logged(client, caplog, offered):
    answer = client.get("/", headers={"X-Request-ID": offered})
    assert answer.status_code == 200
    echoed = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    assert "Set-Cookie" not in answer.headers
    assert all(offered not in record.getMessage() for record in caplog.records)


def test_hostile_event_types_add_no_metric_series(app, client):
    def series(samples):
        return {labels for (name, labels) in samples if name == "checkout_webhook_events_total"}

    before = series(scrape(client))
    now = int(time.time())
    for n in range(40):
        event = {"id": f"evt_hostile_{n}", "object": "event", "type": f"made.up.type{n}",
                 "created": now, "data": {"object": {"id": f"obj_{n}", "object": "thing"}}}
        assert post_event(client, event).status_code == 200
    added = series(scrape(client)) - before
    assert {dict(labels)["type"] for labels in added} <= {"other"}
    assert len(added) <= 1
