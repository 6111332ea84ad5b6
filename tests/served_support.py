"""The shop served for real in other processes: gunicorn (sync workers) and, if asked, the
job worker, on their own SQLite files under a temporary folder, or on fresh PostgreSQL
databases beside the suite's when asked for and the suite runs on PostgreSQL.

Tests that need HTTP as a browser sees it start one with `serve_shop`; the test process can
open the same database through `ServedShop.app` to set up or check rows.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from checkout import create_app
from checkout.extensions import db

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_EMAIL = "staff@example.com"
ADMIN_PASSWORD = "served-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServedShop:
    base: str
    folder: Path
    env: dict[str, str]
    _app: Flask | None = field(default=None, repr=False)
    # gunicorn's master process.
    server_pid: int = 0

    @property
    def database(self) -> Path:
        return self.folder / "shop.sqlite"

    @property
    def mail_dir(self) -> Path:
        return self.folder / "mail"

    @property
    def app(self) -> Flask:
        """An app on the served shop's database, for setting up and checking rows."""
        if self._app is None:
            self._app = create_app({
                "SQLALCHEMY_DATABASE_URI": self.env["DATABASE_URL"],
                "SANDBOX_DATABASE_URL": self.env["SANDBOX_DATABASE_URL"],
                "SECRET_KEY": self.env["SECRET_KEY"],
                "SANDBOX_BACKGROUND": False,
                "MAIL_DIR": str(self.mail_dir),
                "HUEY_DATABASE": self.env["HUEY_DATABASE"],
                "PUBLIC_BASE_URL": self.base,
            })
        return self._app

    def flask(self, *args: str) -> str:
        """Run a `flask` command against the served shop; return what it printed."""
        done = subprocess.run([BIN / "flask", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    # Generous: on a loaded two-core machine gunicorn can take many seconds to import the app.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            requests.get(base + "/", timeout=5).close()
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"the shop did not come up on {base}")


@contextmanager
def _databases(folder: Path, on_suite_server: bool) -> Iterator[tuple[str, str]]:
    """The shop's and the sandbox's database URLs: fresh PostgreSQL databases on the suite's
    server when asked for and it has one (dropped after), else SQLite files in `folder`."""
    suite_url = os.environ.get("TEST_DATABASE_URL") or ""
    if not (on_suite_server and suite_url.startswith("postgresql")):
        yield f"sqlite:///{folder / 'shop.sqlite'}", f"sqlite:///{folder / 'sandbox.sqlite'}"
        return
    url = make_url(suite_url)
    names = [f"served_{folder.name.lower()}_{what}"[-60:] for what in ("shop", "sandbox")]
    names = ["".join(c if c.isalnum() else "_" for c in name) for name in names]
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield tuple(
            url.set(database=name).render_as_string(hide_password=False) for name in names
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serve_shop(folder: Path, *, with_worker: bool = False,
               settings: dict[str, str] | None = None, workers: int = 1, threads: int = 1,
               on_suite_database: bool = False,
               log_file: Path | None = None) -> Iterator[ServedShop]:
    """Migrate, seed the demo shop (admin ADMIN_EMAIL), serve it; stop it and check its log.

    `threads` above 1 serves with gunicorn's gthread workers, as production does: a browser
    opens connections ahead of need and leaves them idle, and a sync worker waits on such a
    socket until its timeout kills it (the request queued behind it then gets a 500).
    `on_suite_database`: on PostgreSQL when the suite runs on PostgreSQL (a concurrency proof
    must hold on both), else on SQLite files like every other served shop. gunicorn's stderr
    (its own and the app's log lines) and the job worker's go to files (`log_file`, else
    `server.log` in `folder`), never to a pipe read only at the end: a busy run's log would
    fill the pipe and stall the server.
    """
    with (
        _databases(folder, on_suite_database) as (shop_url, sandbox_url),
        _serve(folder, with_worker, settings, workers, threads, shop_url, sandbox_url,
               log_file) as shop,
    ):
        yield shop


@contextmanager
def _serve(folder: Path, with_worker: bool, settings: dict[str, str] | None, workers: int,
           threads: int, shop_url: str, sandbox_url: str,
           log_file: Path | None) -> Iterator[ServedShop]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CHECKOUT_ENV": "development",
        "SECRET_KEY": "served-test-secret",
        "DATABASE_URL": shop_url,
        "SANDBOX_DATABASE_URL": sandbox_url,
        "PORT": str(port),
        "PUBLIC_BASE_URL": base,
        "PAYMENTS": "sandbox",
        "FLASK_APP": "wsgi",
        "HUEY_DATABASE": str(folder / "huey.sqlite"),
        "MAIL_DIR": str(folder / "mail"),
        "PDF_CACHE_DIR": str(folder / "pdf-cache"),
        "DEMO_STAFF_PASSWORD": ADMIN_PASSWORD,
        # Served tests post many times from one address (a flash sale: hundreds of checkouts).
        "RATELIMIT_ENABLED": "0",
        **(settings or {}),
    }
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "TEST_DATABASE_URL", "SMTP_HOST",
                 "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "METRICS_TOKEN", "LOG_FORMAT",
                 "LOG_LEVEL", "GUNICORN_ACCESS_LOG"):
        if name not in (settings or {}):
            env.pop(name, None)
    shop = ServedShop(base=base, folder=folder, env=env)
    shop.flask("db", "upgrade")
    shop.flask("seed-demo")
    log_files = [log_file or folder / "server.log", folder / "worker.log"]
    logs = [path.open("ab") for path in log_files]
    processes = [subprocess.Popen(
        [BIN / "gunicorn", "--workers", str(workers),
         "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
         "--timeout", "20", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=logs[0],
    )]
    shop.server_pid = processes[0].pid
    if with_worker:
        processes.append(subprocess.Popen(
            [BIN / "flask", "worker", "--workers", "1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=logs[1],
        ))
    try:
        _wait_until_up(base, processes[0])
        yield shop
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        for handle in logs:
            handle.close()
        if shop._app is not None:
            with shop._app.app_context():
                db.engine.dispose()
        for path in log_files:
            written = path.read_text()
            assert "Traceback" not in written, written
