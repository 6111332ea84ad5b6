"""/healthz says the process is up; /readyz checks the database, migrations and queue."""

import socket

import pytest
from flask import Flask

from checkout import create_app
from checkout.extensions import db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_app(tmp_path):
    made: list[Flask] = []

    def make(**settings) -> Flask:
        app = create_app({
            "TESTING": True,
            "SECRET_KEY": "operations-test-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}",
            "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
            "SANDBOX_BACKGROUND": False,
            "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
            "MAIL_DIR": str(tmp_path / "mail"),
            **settings,
        })
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
        app.extensions["sandbox"].close()


def test_healthz_answers_without_touching_the_database(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://shop:pw@127.0.0.1:"
                                           f"{closed_port()}/shop")
    answer = app.test_client().get("/healthz")
    assert (answer.status_code, answer.json) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database_with_its_queue(app, client):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
    assert answer.json["failed"] == []
    assert {name: check["ok"] for name, check in answer.json["checks"].items()} == {
        "database": True, "migrations": True, "queue": True,
    }


def test_readyz_names_migrations_not_applied(make_app):
    answer = make_app().test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["migrations"]
    assert "database at nothing" in answer.json["checks"]["migrations"]["detail"]


def test_readyz_names_an_unreachable_database_without_its_password(make_app):
    url = f"postgresql+psycopg://shop:hunter2secret@127.0.0.1:{closed_port()}/shop"
    answer = make_app(SQLALCHEMY_DATABASE_URI=url).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["database", "migrations"]
    assert "hunter2secret" not in answer.get_data(as_text=True)


def test_readyz_names_an_unreachable_queue(make_app, app):
    answer = make_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    ).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["queue"]
