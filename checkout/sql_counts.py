"""Per-request SQL statement and commit counts in response headers, for `make bench` only.

`SQL_COUNTS=1` (refused in production) adds `X-SQL-Statements` and `X-SQL-Commits` to every
response: the statements the shop's own engine sent while the request ran (the transaction's
`BEGIN` not counted, so SQLite's `BEGIN IMMEDIATE` and psycopg's implicit one count alike) and
the transactions it committed. The in-process payment sandbox has an engine of its own and is
not counted: what it costs is the provider's, not the shop's.
"""

from flask import Flask, Response, g, has_request_context
from sqlalchemy import Engine, event

STATEMENTS_HEADER = "X-SQL-Statements"
COMMITS_HEADER = "X-SQL-Commits"


def count_sql_per_request(app: Flask, engine: Engine) -> None:
    """Count the statements and commits each request makes on `engine`; report them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement: str, *_args) -> None:
        if has_request_context() and not statement.lstrip().upper().startswith("BEGIN"):
            g.sql_statements = g.get("sql_statements", 0) + 1

    @event.listens_for(engine, "commit")
    def _commit(_conn) -> None:
        if has_request_context():
            g.sql_commits = g.get("sql_commits", 0) + 1

    @app.after_request
    def _report(response: Response) -> Response:
        response.headers[STATEMENTS_HEADER] = str(g.get("sql_statements", 0))
        response.headers[COMMITS_HEADER] = str(g.get("sql_commits", 0))
        return response
