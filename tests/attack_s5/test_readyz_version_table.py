"""Attack on issue 11's /readyz migrations check (no Alembic): the database's revisions come
from `alembic_version` read by hand. Missing or empty table: a clear 503, never a 500 or a 200.
Run on PostgreSQL too (TEST_DATABASE_URL)."""

from sqlalchemy import text

from checkout.extensions import db


def _readyz(client):
    answer = client.get("/readyz")
    return answer.status_code, answer.json


def test_readyz_with_an_empty_version_table(app, client):
    with app.app_context(), db.engine.begin() as connection:
        saved = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        connection.execute(text("DELETE FROM alembic_version"))
    try:
        status, body = _readyz(client)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            for revision in saved:
                connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"),
                                   {"r": revision})
    assert status == 503, body
    assert body["failed"] == ["migrations"]
    assert "database at nothing" in body["checks"]["migrations"]["detail"]
    assert _readyz(client)[0] == 200


def test_readyz_without_the_version_table(app, client):
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE alembic_version RENAME TO alembic_version_away"))
    try:
        status, body = _readyz(client)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE alembic_version_away RENAME TO alembic_version"))
    assert status == 503, body
    assert body["failed"] == ["migrations"]
    assert "database at nothing" in body["checks"]["migrations"]["detail"]
    assert _readyz(client)[0] == 200
