"""The checkout application factory: a table of contents of what the app is made of."""

import hmac
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# How long a new PostgreSQL connection may take before the request (or probe) gives up.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `test_config` overriding any setting."""
    load_dotenv(PROJECT_ROOT / ".env")
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from checkout.config import from_environment

    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)

    register_logging(app)
    register_extensions(app)
    register_payments(app)
    register_blueprints(app)
    register_guards(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_cli(app)
    register_jobs(app)
    return app


def register_logging(app: Flask) -> None:
    from checkout.logs import configure_logging
    from checkout.metrics import observe_sessions

    configure_logging(app)
    observe_sessions()


def register_extensions(app: Flask) -> None:
    from checkout import models  # noqa: F401  (every model is known to the metadata)
    from checkout.db import configure_engine_events
    from checkout.extensions import csrf, db, login_manager, migrate
    from checkout.sql_counts import count_sql_per_request
    from checkout.web.read_only import init_read_only, request_only_reads

    # A failing statement's text carries its bound values (session tokens, password hashes,
    # webhook payloads) into the error log, the webhook log and staff alerts: keep them out.
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    engine_options.setdefault("hide_parameters", True)
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("postgresql") or (uri.startswith("sqlite:///") and ":memory:" not in uri):
        # A pooled engine (an in-memory SQLite database has one connection, no pool to size).
        engine_options.setdefault("pool_size", app.config["DATABASE_POOL_SIZE"])
        engine_options.setdefault("max_overflow", app.config["DATABASE_MAX_OVERFLOW"])
    if uri.startswith("postgresql"):
        # libpq waits for ever on a host that takes the connection and never answers (a
        # blackholed route): every request, and the /readyz probe, held its worker until
        # gunicorn killed it. Give up and answer 5xx/503 instead.
        engine_options.setdefault("connect_args", {}).setdefault(
            "connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine, read_only=request_only_reads)
        if app.config.get("SQL_COUNTS"):
            count_sql_per_request(app, db.engine)
    init_read_only(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = "Please sign in to see that page."

    from checkout.models.user import User

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # "<id>:<token>": a session from before the account's last password change or
        # "sign out everywhere" carries an old token and opens nothing. So does a bare "<id>"
        # from before tokens existed: those browsers sign in once more.
        user_id, _, token = session_id.partition(":")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() and token else None
        if user is None or not hmac.compare_digest(user.session_token, token):
            return None
        return user


def register_payments(app: Flask) -> None:
    """Put the payment gateway in app.extensions; mount the sandbox when it is the backend."""
    from checkout.payments import init_payments

    base, http_client, clock = app.config.get("STRIPE_API_BASE"), None, None
    if app.config["PAYMENTS"] == "sandbox":
        # Imported here so that stripe_sandbox is never even loaded with PAYMENTS=stripe.
        from checkout.sandbox_wiring import mount_sandbox, sandbox_http_client

        clock = mount_sandbox(app).now
        if not base:
            # No socket to ourselves: a single sync worker would otherwise wait on itself. A
            # sandbox behind STRIPE_API_BASE is another process: the SDK's own client reaches it.
            base, http_client = sandbox_http_client(app)
    init_payments(app, base=base, http_client=http_client, clock=clock)


def register_blueprints(app: Flask) -> None:
    from checkout.web import (
        account,
        cart,
        catalog,
        checkout,
        invitation,
        media,
        operations,
        order_links,
        orders,
        routing,
        staff,
        static_files,
        webhooks,
    )

    app.request_class = media.ShopRequest
    app.url_map.converters["int"] = routing.IdIntegerConverter
    for module in (catalog, cart, checkout, orders, account, webhooks, staff, media, invitation,
                   order_links, operations, static_files):
        app.register_blueprint(module.bp)
    static_files.init_static_files(app)


def register_guards(app: Flask) -> None:
    """Rate limits on the forms attackers hammer; security headers on every response."""
    from checkout.web.rate_limits import init_rate_limits
    from checkout.web.security_headers import init_security_headers

    init_rate_limits(app)
    init_security_headers(app)


def register_template_helpers(app: Flask) -> None:
    from checkout.web.fragments import init_fragments
    from checkout.web.shell import init_shell
    from checkout.web.templating import init_templating
    from checkout.web.waiting_orders import init_waiting_orders

    init_templating(app)
    init_waiting_orders(app)
    init_fragments(app)
    init_shell(app)


def register_errorhandlers(app: Flask) -> None:
    from checkout.web.errors import init_errorhandlers

    init_errorhandlers(app)


def register_jobs(app: Flask) -> None:
    from checkout.jobs import init_jobs

    init_jobs(app)


def register_cli(app: Flask) -> None:
    from checkout.cli import init_cli

    init_cli(app)
