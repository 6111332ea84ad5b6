"""Attacks on the readiness probe (issue 9, operations): a database that never answers."""

import threading
import time

from flask import Flask

from checkout import create_app
from tests.test_rate_limits import SHARED_SETTINGS


def test_readyz_answers_503_soon_when_the_database_takes_connections_and_never_answers(
        app: Flask, tmp_path, hung_redis: str):
    # A PostgreSQL host gone half away (a blackholed route, a stuck proxy in front): the TCP
    # handshake completes and nothing ever answers. Before the fix psycopg waited for ever (no
    # connect_timeout), so /readyz held its gunicorn worker until the 30 s worker timeout
    # killed it, every probe another worker: the probe meant to take a sick instance out of
    # rotation took every worker of it with it.
    port = hung_redis.rsplit(":", 1)[1].split("/")[0]
    config = {name: app.config[name] for name in SHARED_SETTINGS}
    hung = create_app({
        **config,
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://shop:pa55word@127.0.0.1:{port}/shop",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
        "RATELIMIT_ENABLED": False,
    })
    answers = []
    started = time.monotonic()
    probe = threading.Thread(daemon=True,
                             target=lambda: answers.append(hung.test_client().get("/readyz")))
    probe.start()
    probe.join(timeout=20)
    assert not probe.is_alive(), "/readyz still waiting on the database after 20 s"
    assert time.monotonic() - started < 20
    answer = answers[0]
    assert answer.status_code == 503
    body = answer.get_data(as_text=True)
    assert "pa55word" not in body and str(port) not in body
    assert answer.get_json()["checks"]["database"]["ok"] is False
