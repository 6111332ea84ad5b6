"""Which payment backend the app wires up: the sandbox only when asked, with the keys given."""

import threading

import pytest
from werkzeug.serving import make_server

from checkout import create_app
from checkout.extensions import db
from checkout.sandbox_wiring import MOUNT

SESSION = {
    "mode": "payment",
    "line_items": [{"price_data": {"currency": "usd", "unit_amount": 1500,
                                   "product_data": {"name": "Mug"}}, "quantity": 1}],
    "success_url": "http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://shop.test/cart/",
}


def _app(tmp_path, **config):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "wiring-test",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": False,
        "JOBS_IMMEDIATE": True,
        "PUBLIC_BASE_URL": "http://shop.test",
        **config,
    })
    return app


def _close(app) -> None:
    with app.app_context():
        db.engine.dispose()
    if "sandbox" in app.extensions:
        app.extensions["sandbox"].close()


def test_real_stripe_mode_mounts_no_sandbox_and_talks_to_stripe(tmp_path):
    app = _app(tmp_path, PAYMENTS="stripe", STRIPE_SECRET_KEY="sk_test_real_account",
               STRIPE_WEBHOOK_SECRET="whsec_real", STRIPE_API_BASE=None)
    try:
        assert "sandbox" not in app.extensions
        assert not [r for r in app.url_map.iter_rules() if r.rule.startswith("/sandbox")]
        assert app.test_client().get("/sandbox/stripe/v1/checkout/sessions").status_code == 404
        client = app.extensions["payments"].client
        assert client._requestor.base_addresses.get("api") in (None, "https://api.stripe.com")
    finally:
        _close(app)


def test_the_sandbox_accepts_exactly_the_configured_test_key(tmp_path):
    app = _app(tmp_path, PAYMENTS="sandbox", STRIPE_SECRET_KEY="sk_test_my_own_key",
               STRIPE_WEBHOOK_SECRET="whsec_my_own_secret")
    try:
        with app.test_request_context():
            session = app.extensions["payments"].create_checkout(SESSION, "wiring-key-1")
        assert session.id.startswith("cs_test_") and session.status == "open"
        http = app.test_client()
        wrong = http.get("/sandbox/stripe/v1/checkout/sessions",
                         headers={"Authorization": "Bearer sk_test_sandbox_checkout"})
        right = http.get("/sandbox/stripe/v1/checkout/sessions",
                         headers={"Authorization": "Bearer sk_test_my_own_key"})
        assert (wrong.status_code, right.status_code) == (401, 200)
        assert right.get_json()["data"][0]["id"] == session.id
    finally:
        _close(app)


def test_a_live_key_is_refused_in_sandbox_mode(tmp_path):
    with pytest.raises(Exception, match="sk_test_"):
        _app(tmp_path, PAYMENTS="sandbox", STRIPE_SECRET_KEY="sk_live_oops")



def test_sandbox_mode_with_an_api_base_reaches_that_sandbox_over_http(tmp_path):
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = _app(other_dir, PAYMENTS="sandbox", STRIPE_SECRET_KEY="sk_test_shared_key")
    server = make_server("127.0.0.1", 0, other, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/sandbox/stripe"
    app = _app(tmp_path, PAYMENTS="sandbox", STRIPE_SECRET_KEY="sk_test_shared_key",
               STRIPE_API_BASE=base)
    try:
        with app.test_request_context():
            session = app.extensions["payments"].create_checkout(SESSION, "api-base-key-1")
        # The session lives in the sandbox behind STRIPE_API_BASE, not in the mounted one.
        assert other.extensions["sandbox"].retrieve_session(session.id)["amount_total"] == 1500
        assert app.extensions["sandbox"].events() == []
    finally:
        server.shutdown()
        thread.join(timeout=5)
        _close(app)
        _close(other)


def test_the_sandbox_is_never_mounted_in_production(tmp_path):
    with pytest.raises(RuntimeError, match="never served in production"):
        _app(tmp_path, PAYMENTS="sandbox", CHECKOUT_ENV="production",
             STRIPE_SECRET_KEY="sk_test_my_own_key")


def test_the_sandbox_is_its_own_app_mounted_beside_the_shop(tmp_path):
    app = _app(tmp_path, PAYMENTS="sandbox", STRIPE_SECRET_KEY="sk_test_my_own_key",
               STRIPE_WEBHOOK_SECRET="whsec_my_own_secret", STORE_NAME="Mounted Shop")
    try:
        # None of its routes are the shop's: the dispatcher hands it every /sandbox/stripe URL.
        assert not [r for r in app.url_map.iter_rules() if r.rule.startswith("/sandbox")]
        sandbox = app.extensions["sandbox"]
        assert sandbox.api_base == "http://shop.test" + MOUNT
        assert sandbox.endpoints == [app.config["SANDBOX_WEBHOOK_URL"]]
        http = app.test_client()
        missing = http.get(f"{MOUNT}/v1/nope", headers={"Authorization": "Bearer x"})
        assert (missing.status_code, missing.mimetype) == (401, "application/json")
        with app.test_request_context():
            session = app.extensions["payments"].create_checkout(
                {**SESSION, "customer_email": "ada@example.com"}, "mounted-1")
        page = http.get(session.url.removeprefix("http://shop.test"))
        assert page.status_code == 200 and "Pay Mounted Shop" in page.get_data(as_text=True)
        # The shop's `flask sandbox …` commands drive the mounted sandbox.
        runner = app.test_cli_runner()
        paid = runner.invoke(args=["sandbox", "pay", session.id])
        assert '"outcome": "succeeded"' in paid.output, paid.output
        events = runner.invoke(args=["sandbox", "events"]).output
        assert "checkout.session.completed" in events and session.id in events
    finally:
        _close(app)
