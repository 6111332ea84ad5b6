"""The sandbox on its own: the factory's settings, its error pages and limits, its CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import stripe
from flask import Flask

import stripe_sandbox
from stripe_sandbox import InProcessHTTPClient

from .conftest import API_KEY, SANDBOX, make_app, session_params
from .helpers import call

ROOT = Path(__file__).resolve().parents[2]


def test_the_factory_reads_its_settings_from_the_environment_when_given_none(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_SANDBOX_API_KEY", "sk_test_from_env")
    monkeypatch.setenv("STRIPE_SANDBOX_WEBHOOK_SECRET", "whsec_from_env")
    monkeypatch.setenv("STRIPE_SANDBOX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("STRIPE_SANDBOX_WEBHOOK_URL", "http://a.test/hook, http://b.test/hook")
    monkeypatch.setenv("STRIPE_SANDBOX_BACKGROUND", "false")
    monkeypatch.setenv("STRIPE_SANDBOX_DISPLAY_NAME", "Env Shop")
    app = stripe_sandbox.create_app()
    sandbox = stripe_sandbox.sandbox_of(app)
    try:
        assert (sandbox.api_key, sandbox.webhook_secret) == ("sk_test_from_env", "whsec_from_env")
        assert sandbox.endpoints == ["http://a.test/hook", "http://b.test/hook"]
        assert sandbox.background is False and sandbox.display_name == "Env Shop"
        assert sandbox.api_base == "http://127.0.0.1:12111"
        headers = {"Authorization": "Bearer sk_test_from_env"}
        assert app.test_client().get("/v1/events", headers=headers).status_code == 200
    finally:
        sandbox.close()


def test_a_mapping_overrides_the_defaults_and_ignores_the_environment(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_SANDBOX_API_KEY", "sk_test_from_env")
    app = make_app(tmp_path / "m.sqlite")
    try:
        assert stripe_sandbox.sandbox_of(app).api_key == API_KEY
    finally:
        stripe_sandbox.sandbox_of(app).close()


def test_the_clock_setting_replaces_the_wall_clock(tmp_path: Path) -> None:
    app = make_app(tmp_path / "c.sqlite", CLOCK=lambda: 2_000_000_000.7)
    sandbox = stripe_sandbox.sandbox_of(app)
    try:
        assert sandbox.now() == 2_000_000_000
        sandbox.advance_clock(60)
        assert sandbox.now() == 2_000_000_060
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        assert session["created"] == 2_000_000_060
    finally:
        sandbox.close()


def test_the_page_shows_the_configured_account_name(tmp_path: Path) -> None:
    app = make_app(tmp_path / "n.sqlite", DISPLAY_NAME="Acme Widgets")
    try:
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        html = app.test_client().get(session["url"].removeprefix(SANDBOX)).get_data(as_text=True)
        assert "Pay Acme Widgets" in html and "Fernhill" not in html
    finally:
        stripe_sandbox.sandbox_of(app).close()


def test_the_in_process_client_refuses_urls_outside_its_base(app: Flask) -> None:
    http = InProcessHTTPClient(app, SANDBOX)
    client = stripe.StripeClient(API_KEY, base_addresses={"api": "http://elsewhere.test"},
                                 http_client=http)
    with pytest.raises(stripe.APIConnectionError, match="only serves http://sandbox.test"):
        client.v1.events.list()


# Error pages: Stripe's JSON error object on the API, HTML for people ---------------------------

def test_unknown_api_and_control_paths_answer_stripes_json_error(app: Flask) -> None:
    client = app.test_client()
    for method, path, status in (("GET", "/v1", 404), ("PUT", "/v1/checkout/sessions", 405),
                                 ("GET", "/_controls/nope", 404),
                                 ("DELETE", "/_controls/clock", 405)):
        response = client.open(path, method=method,
                               headers={"Authorization": f"Bearer {API_KEY}"})
        assert (response.status_code, response.mimetype) == (status, "application/json"), path
        error = response.get_json()["error"]
        assert error["type"] == "invalid_request_error" and error["message"]


def test_unknown_pages_answer_an_html_page(app: Flask) -> None:
    response = app.test_client().get("/nowhere")
    assert (response.status_code, response.mimetype) == (404, "text/html")
    assert "404 Not Found" in response.get_data(as_text=True)


def test_a_crash_behind_the_page_is_an_html_500_and_behind_a_control_json(
        app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    sandbox = stripe_sandbox.sandbox_of(app)

    def broken(*args, **kwargs):
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(sandbox, "refresh_session", broken)
    monkeypatch.setattr(sandbox, "now", broken)
    page = app.test_client().get("/pay/cs_test_anything")
    assert (page.status_code, page.mimetype) == (500, "text/html")
    assert "store unavailable" not in page.get_data(as_text=True)
    control = app.test_client().get("/_controls/clock",
                                    headers={"Authorization": f"Bearer {API_KEY}"})
    assert (control.status_code, control.mimetype) == (500, "application/json")
    assert control.get_json()["error"]["type"] == "api_error"


# Request limits: the sandbox's own, whatever app mounts it -----------------------------------

def test_an_api_body_over_the_limit_is_refused_with_a_json_413(app: Flask) -> None:
    before = stripe_sandbox.sandbox_of(app).list_sessions({})["data"]
    response = app.test_client().post(
        "/v1/checkout/sessions", data=b"metadata[x]=" + b"y" * (1024 * 1024),
        headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "big-1"},
        content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.mimetype) == (413, "application/json")
    assert response.get_json()["error"]["type"] == "invalid_request_error"
    assert stripe_sandbox.sandbox_of(app).list_sessions({})["data"] == before


def test_a_page_post_over_the_limit_is_refused_and_pays_nothing(app: Flask) -> None:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    response = app.test_client().post(
        session["url"].removeprefix(SANDBOX),
        data={"number": "4242424242424242", "name": "A B", "email": "a@b.c", "exp": "12/40",
              "cvc": "123", "note": "x" * (1024 * 1024)})
    assert (response.status_code, response.mimetype) == (413, "text/html")
    assert stripe_sandbox.sandbox_of(app).retrieve_session(session["id"])["status"] == "open"


def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    app = make_app(tmp_path / "l.sqlite", MAX_CONTENT_LENGTH=4096)
    try:
        status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                               session_params(metadata={"note": "x" * 5000}))
        assert status == 413 and body["error"]["type"] == "invalid_request_error"
        status, _, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        assert status == 200
    finally:
        stripe_sandbox.sandbox_of(app).close()


# The command line -----------------------------------------------------------------------------

def test_flask_app_stripe_sandbox_runs_the_control_commands(tmp_path: Path) -> None:
    env = {**os.environ, "STRIPE_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "STRIPE_SANDBOX_BACKGROUND": "false"}
    env.pop("FLASK_APP", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "stripe_sandbox", "sandbox", "advance-clock",
         "3600"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    now = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "stripe_sandbox", "sandbox", "now"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    # The offset is kept in the store, so a second command sees the first one's advance.
    assert int(now.stdout) >= int(result.stdout) - 1 >= 0
    # Not advanced twice (that would be 3600 more); the margin is a second command's start-up
    # time, which is several seconds on a loaded machine.
    assert abs(int(now.stdout) - int(result.stdout)) < 60


def test_serve_refuses_a_live_key_before_listening(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stripe_sandbox", "serve", "--api-key", "sk_live_oops",
         "--database-url", f"sqlite:///{tmp_path / 's.sqlite'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "sk_test_" in result.stderr
