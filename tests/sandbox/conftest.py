"""The standalone sandbox app (stripe_sandbox.create_app) plus a webhook receiver to test with."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from flask import Flask, request

import stripe_sandbox
from stripe_sandbox import InProcessHTTPClient, Sandbox

from .stripe_schema import StripeSchema

API_KEY = "sk_test_sandbox_tests"
WEBHOOK_SECRET = "whsec_sandbox_tests"
# The app receiving webhooks, and where the sandbox itself is reached.
BASE = "http://shop.test"
SANDBOX = "http://sandbox.test"
# Set to e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run the suite on
# PostgreSQL (one fresh database per test store) instead of SQLite files.
POSTGRES_URL = os.environ.get("SANDBOX_TEST_POSTGRES_URL")


def database_url(path: Path) -> str:
    """Return the sandbox database for a test: a SQLite file, or a PostgreSQL database."""
    if not POSTGRES_URL:
        return f"sqlite:///{path}"
    import psycopg

    name = "sandbox_" + hashlib.sha1(str(path).encode()).hexdigest()[:16]
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


class Receiver:
    """Records what the test app's webhook endpoint received and answers as told."""

    def __init__(self) -> None:
        self.events: list[stripe.Event] = []
        self.raw: list[tuple[bytes, str]] = []
        self.status = 200

    def types(self) -> list[str]:
        return [event.type for event in self.events]


def receiver_app(receiver: Receiver) -> Flask:
    """Return a small app whose webhook route verifies and records what it is sent."""
    app = Flask(__name__)

    @app.post("/webhooks/stripe")
    def webhook() -> tuple[str, int]:
        payload = request.get_data()
        header = request.headers.get("Stripe-Signature", "")
        try:
            event = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
        except (ValueError, stripe.SignatureVerificationError):
            return "bad signature", 400
        receiver.raw.append((payload, header))
        if receiver.status >= 300:
            return "down", receiver.status
        receiver.events.append(event)
        return "", 200

    return app


def make_app(db_path: Path, **overrides: Any) -> Flask:
    """Build the sandbox with create_app; webhooks to BASE reach a verifying receiver in-process.

    The receiver is kept in the sandbox app's extensions for the tests' convenience.
    """
    config: dict[str, Any] = {
        "TESTING": True,
        "API_KEY": API_KEY,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_URL": database_url(db_path),
        "WEBHOOK_URL": f"{BASE}/webhooks/stripe",
        "PUBLIC_URL": SANDBOX,
        "DISPLAY_NAME": "Fernhill Supply",
        "BACKGROUND": False,
    }
    config.update(overrides)
    app = stripe_sandbox.create_app(config)
    receiver = Receiver()
    app.extensions["receiver"] = receiver
    app.extensions["sandbox"].deliver_in_process(BASE, receiver_app(receiver))
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path / "sandbox.sqlite")
    yield app
    app.extensions["sandbox"].close()


@pytest.fixture
def sandbox(app: Flask) -> Sandbox:
    return app.extensions["sandbox"]


@pytest.fixture
def receiver(app: Flask) -> Receiver:
    return app.extensions["receiver"]


@pytest.fixture
def client(app: Flask) -> stripe.StripeClient:
    """A StripeClient wired to the sandbox in process, as a mounting app builds it."""
    http = InProcessHTTPClient(app, SANDBOX)
    yield stripe.StripeClient(API_KEY, base_addresses={"api": SANDBOX},
                              http_client=http, max_network_retries=2)
    http.close()


@pytest.fixture(scope="session")
def schema() -> StripeSchema:
    return StripeSchema()


def session_params(**overrides: Any) -> dict[str, Any]:
    """Return the parameters the shop sends to create a session."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {"price_data": {"currency": "usd", "unit_amount": 1999,
                            "product_data": {"name": "T-shirt"}}, "quantity": 2},
            {"price_data": {"currency": "usd", "unit_amount": 500,
                            "product_data": {"name": "Socks"}}, "quantity": 1},
        ],
        "customer_email": "buyer@example.com",
        "client_reference_id": "order_42",
        "metadata": {"order_id": "42"},
        "payment_intent_data": {"metadata": {"order_id": "42"}},
        "success_url": f"{BASE}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{BASE}/cart",
    }
    params.update(overrides)
    return params


def to_dict(obj: Any) -> dict[str, Any]:
    """Return the JSON the SDK parsed an object from."""
    return json.loads(str(obj)) if not isinstance(obj, dict) else obj
