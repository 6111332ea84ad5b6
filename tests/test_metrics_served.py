"""Metrics under gunicorn with two workers: prometheus_client's multiprocess mode adds up
every worker's samples, whichever worker is scraped, and survives the workers themselves."""

import os
import signal
import subprocess
import time

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import WebhookEvent
from tests.served_support import serve_shop
from tests.test_logs_served import buy_and_sign_in, wait_for_webhook


def scrape(base: str) -> dict[str, float]:
    """The figures this test follows, from one scrape."""
    # A new connection each time, so either worker may answer.
    answer = requests.get(f"{base}/metrics", timeout=10, headers={"Connection": "close"})
    assert answer.status_code == 200, answer.text
    samples = [sample for family in text_string_to_metric_families(answer.text)
               for sample in family.samples]

    def total(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    return {
        "holds created": total("checkout_holds_created_total"),
        "holds converted": total("checkout_holds_converted_total"),
        "sessions completed": total("checkout_webhook_events_total",
                                    type="checkout.session.completed"),
        "webhook events": total("checkout_webhook_events_total"),
        "lag observations": total("checkout_webhook_lag_seconds_count"),
    }


def events_handled(shop) -> int:
    with shop.app.app_context():
        handled = db.session.scalar(select(func.count()).select_from(WebhookEvent))
        db.session.remove()
        return handled


def workers_of(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_two_workers_count_as_one_shop(tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    # Left over from an earlier run: gunicorn must start from nothing.
    (folder / "counter_999999.db").write_bytes(b"stale")
    settings = {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with serve_shop(tmp_path, settings=settings, workers=2,
                    log_file=tmp_path / "error.log") as shop:
        assert not (folder / "counter_999999.db").exists()
        before = scrape(shop.base)
        assert set(before.values()) == {0.0}
        for _ in range(2):
            buy_and_sign_in(shop.base)
        wait_for_webhook(shop, count=2)
        time.sleep(1)  # any other event of the two payments lands too
        events = events_handled(shop)
        assert events >= 2
        expected = {"holds created": 2, "holds converted": 2, "sessions completed": 2,
                    "webhook events": events, "lag observations": events}
        # Whichever worker answers, the figures are the shop's.
        assert [scrape(shop.base) for _ in range(6)] == [expected] * 6

        # Workers that counted nothing (fresh ones, after the old ones are stopped) still show
        # every sample their predecessors wrote.
        old_workers = workers_of(shop.server_pid)
        assert len(old_workers) == 2
        for pid in old_workers:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = workers_of(shop.server_pid)
            if len(now) == 2 and not set(now) & set(old_workers):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("gunicorn did not replace its workers")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert scrape(shop.base) == expected
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
