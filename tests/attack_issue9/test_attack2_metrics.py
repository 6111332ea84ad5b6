"""Attacks on /metrics without METRICS_TOKEN: who counts as the machine itself."""

import pytest
from flask import Flask

from checkout import create_app
from tests.test_rate_limits import SHARED_SETTINGS

FORWARDING = ["X-Forwarded-For", "X-Real-IP", "Forwarded"]


@pytest.mark.parametrize("header", FORWARDING)
def test_an_outside_request_a_proxy_on_the_same_machine_forwards_may_not_scrape(client, header):
    # nginx on the shop's machine passing everything to gunicorn on 127.0.0.1: before the fix
    # every request arrived from loopback, so the whole internet could read /metrics (the
    # README asked the operator to block it in the proxy; the default config leaked). A proxy
    # says so in a forwarding header: that request is not the machine's own.
    value = "for=203.0.113.9" if header == "Forwarded" else "203.0.113.9"
    answer = client.get("/metrics", headers={header: value},
                        environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.status_code == 403
    assert b"checkout_" not in answer.data


def test_a_forged_forwarded_for_behind_proxyfix_may_not_scrape(app: Flask, tmp_path):
    # TRUSTED_PROXY_COUNT=1 trusts the last X-Forwarded-For value; gunicorn bound to
    # 0.0.0.0:8000 (as the README runs it) is reachable past the proxy too, and there a client
    # that writes "X-Forwarded-For: 127.0.0.1" itself was taken for a loopback scraper.
    config = {name: app.config[name] for name in SHARED_SETTINGS}
    proxied = create_app({
        **config, "TRUSTED_PROXY_COUNT": 1, "RATELIMIT_ENABLED": False,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
    })
    browser = proxied.test_client()
    forged = browser.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"},
                         environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert forged.status_code == 403
    through_proxy = browser.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"},
                                environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert through_proxy.status_code == 403
    # A Prometheus on the machine itself, asking gunicorn directly, still may.
    assert browser.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def test_the_machine_itself_may_still_scrape(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
