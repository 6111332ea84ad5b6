"""The processes a bench run measures: the shop under `make serve`, the baseline under the same
gunicorn settings, the payment sandbox behind the delaying proxy, and a throw-away PostgreSQL.

Every process is started in a session of its own and stopped by its process group id, so a
run leaves nothing behind, and everything listens on 127.0.0.1 only.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy.engine import make_url

from bench.baseline import make_engine, metadata

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The shop and the baseline are served from an environment with requirements.txt alone, as in
# production. The bench's own tools would otherwise be in the workers: the stripe SDK imports
# aiohttp (the bench's client) whenever it is installed, ~8 MiB a worker that a production
# install never has. `make install VENV=…` makes it once and keeps it up to date.
SERVE_VENV = ".venv-serve"
# The share of the workers' CPU above which one worker did the load alone: wrk and the flow
# clients keep their connections for the whole load, each with the worker that accepted it
# (README "Latest results").
LOPSIDED_SHARE = 0.75
SERVE_BIN = ROOT / SERVE_VENV / "bin"
SECRET_KEY = "bench-secret-key-that-is-long-enough-to-sign-with"
STRIPE_KEY = "sk_test_sandbox_checkout"
WEBHOOK_SECRET = "whsec_sandbox_checkout"
ADMIN_EMAIL = "staff@example.com"
ADMIN_PASSWORD = "bench-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One started process group: its address, its log and its leader's pid."""

    name: str
    base: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the gunicorn processes of the group whose parent is gunicorn."""
        group = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            ppid, pgrp = int(fields[1]), int(fields[2])
            if pgrp == self.process.pid:
                group[int(entry.name)] = (ppid, b"gunicorn" in cmdline)
        return [pid for pid, (ppid, is_gunicorn) in group.items()
                if is_gunicorn and group.get(ppid, (0, False))[1]]

    def cpu_seconds(self) -> float:
        """The CPU time the server's processes have used so far, user and system: every live
        process of its group (the master, the workers, a PDF renderer) and every child they
        have waited for (a worker recycled after its max_requests, a renderer that ended)."""
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # After the name: state, ppid, pgrp, ... utime (14th field), stime, cutime, cstime.
            if int(fields[2]) == self.process.pid:
                ticks += sum(int(value) for value in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def worker_cpu_ticks(self) -> dict[int, int]:
        """Each live worker's CPU time so far (user and system, in clock ticks), by pid."""
        ticks = {}
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks[pid] = int(fields[11]) + int(fields[12])
        return ticks

    def peak_rss_mib(self) -> float | None:
        """The largest peak resident size (VmHWM) among the workers, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peaks.append(int(found.group(1)) / 1024)
        return round(max(peaks), 1) if peaks else None

    def log_problems(self) -> dict[str, Any]:
        """How often the log says something went wrong (never expected), and what: the
        distinct exception lines that end its tracebacks."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        errors = []
        for line in re.findall(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b.*$", text, re.MULTILINE):
            if line[:200] not in errors:
                errors.append(line[:200])
        return {"tracebacks": text.count("Traceback"),
                "database_locked": text.count("database is locked"), "errors": errors[:10]}


def start(name: str, command: list[str], env: dict[str, str], folder: Path, base: str,
          ready_path: str = "/", timeout: float = 120) -> Server:
    """Start `command` in its own session; wait until `base + ready_path` answers."""
    log = folder / f"{name}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=handle, start_new_session=True)
    server = Server(name, base, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} stopped at start:\n{log.read_text()[-3000:]}")
        try:
            requests.get(base + ready_path, timeout=5).close()
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer on {base} within {timeout:.0f} s")


@dataclass
class Databases:
    kind: str
    shop: str
    sandbox: str
    baseline: str
    # PostgreSQL only: the server's URL for statistics (pg_stat_database).
    admin: str | None = None


@contextmanager
def databases(kind: str, folder: Path) -> Iterator[Databases]:
    """Fresh databases for the shop, the sandbox and the baseline: SQLite files, or a
    throw-away PostgreSQL cluster started as the test suite starts one (scripts/pg-cluster)."""
    if kind == "sqlite":
        yield Databases(kind, *(f"sqlite:///{folder / name}.sqlite"
                                for name in ("shop", "sandbox", "baseline")))
        return
    cluster = Path(tempfile.mkdtemp(prefix="checkout-bench-pg."))
    # A free port of its own: PG_TEST_PORT names the test suite's cluster, which the bench's
    # smoke test runs beside.
    env = {k: v for k, v in os.environ.items() if k != "PG_TEST_PORT"}
    started = subprocess.run([ROOT / "scripts" / "pg-cluster", "start", str(cluster)],
                             capture_output=True, text=True, env=env)
    if started.returncode != 0:
        shutil.rmtree(cluster, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}")
    try:
        url = make_url(started.stdout.strip())
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in ("bench_shop", "bench_sandbox", "bench_baseline"):
                admin.execute(f'CREATE DATABASE "{name}"')
        yield Databases(kind, *(url.set(database=name).render_as_string(hide_password=False)
                                for name in ("bench_shop", "bench_sandbox", "bench_baseline")),
                        admin=dsn)
    finally:
        subprocess.run([ROOT / "scripts" / "pg-cluster", "stop", str(cluster)],
                       capture_output=True)


def connections_opened(admin_dsn: str, database: str) -> int:
    """Sessions PostgreSQL has counted on `database` so far (pg_stat_database.sessions)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                           (database,)).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Stack:
    """Everything one database kind's half of the run talks to."""

    dbs: Databases
    folder: Path
    shop: Server
    baseline: Server
    sandbox: Server
    proxy: Server
    shop_env: dict[str, str] = field(repr=False)

    def set_provider_delay(self, milliseconds: int) -> None:
        answer = requests.put(self.proxy.base + "/__bench__/delay", data=str(milliseconds),
                              timeout=10)
        answer.raise_for_status()

    def flask(self, *args: str) -> str:
        return run_flask(self.shop_env, *args)


def run_flask(env: dict[str, str], *args: str) -> str:
    """Run a `flask` command on the shop's database; return what it printed."""
    done = subprocess.run([BIN / "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _clean_environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TEST_DATABASE_URL", "SANDBOX_TEST_POSTGRES_URL", "SMTP_HOST", "REDIS_URL",
                 "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE",
                 "METRICS_TOKEN", "LOG_FORMAT", "SANDBOX_DATABASE_URL", "DATABASE_URL",
                 "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS"):
        env.pop(name, None)
    return env


@contextmanager
def stack(kind: str, folder: Path) -> Iterator[Stack]:
    """Start the sandbox, the proxy, the shop (`make serve`) and the baseline on `kind`; the
    baseline's page is as long as the shop's catalog page."""
    folder.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["make", "--no-print-directory", "install", f"VENV={SERVE_VENV}"],
                          cwd=ROOT, capture_output=True)
    if made.returncode != 0:
        said = (made.stderr or made.stdout or b"").decode("utf-8", "replace")
        raise RuntimeError(f"could not make the serve venv {SERVE_VENV} (`make install "
                           f"VENV={SERVE_VENV}` exited with {made.returncode}):\n{said[-2000:]}")
    with ExitStack() as started:
        dbs = started.enter_context(databases(kind, folder))
        env = _clean_environment()
        sandbox_port, proxy_port, shop_port, baseline_port = (free_port() for _ in range(4))
        sandbox = started.enter_context(_stopping(start(
            "sandbox",
            [str(BIN / "python"), "-m", "stripe_sandbox", "serve", "--port", str(sandbox_port),
             "--api-key", STRIPE_KEY, "--webhook-secret", WEBHOOK_SECRET,
             "--database-url", dbs.sandbox, "--display-name", "Bench shop"],
            env, folder, f"http://127.0.0.1:{sandbox_port}", "/v1/events")))
        proxy = started.enter_context(_stopping(start(
            "proxy",
            [str(BIN / "python"), "-m", "bench.proxy", "--port", str(proxy_port),
             "--upstream", sandbox.base],
            env, folder, f"http://127.0.0.1:{proxy_port}", "/v1/events")))
        shop_base = f"http://127.0.0.1:{shop_port}"
        metrics_dir = folder / "prometheus"
        metrics_dir.mkdir(exist_ok=True)
        shop_env = {
            **env,
            "FLASK_APP": "wsgi",
            "CHECKOUT_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": dbs.shop,
            "PAYMENTS": "sandbox",
            # The provider is another process, reached over HTTP through the delaying proxy.
            "STRIPE_API_BASE": proxy.base,
            "SANDBOX_DATABASE_URL": f"sqlite:///{folder / 'unused-mounted-sandbox.sqlite'}",
            "SANDBOX_BACKGROUND": "0",
            "PORT": str(shop_port),
            "BIND": f"127.0.0.1:{shop_port}",
            "PUBLIC_BASE_URL": shop_base,
            "HUEY_DATABASE": str(folder / "huey.sqlite"),
            "MAIL_DIR": str(folder / "mail"),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "PDF_CACHE_DIR": str(folder / "pdf-cache"),
            "DEMO_STAFF_PASSWORD": ADMIN_PASSWORD,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            # Every shopper of a load test comes from 127.0.0.1.
            "RATELIMIT_ENABLED": "0",
            "SQL_COUNTS": "1",
            "LOG_LEVEL": "WARNING",
        }
        run_flask(shop_env, "db", "upgrade")
        run_flask(shop_env, "seed-demo", "--staff-email", ADMIN_EMAIL)
        shop = started.enter_context(_stopping(start(
            "shop", ["make", "--no-print-directory", "serve", f"VENV={SERVE_VENV}"], shop_env,
            folder, shop_base)))
        page_bytes = len(requests.get(shop_base + "/", timeout=30).content)
        baseline_env = {
            **env,
            "BENCH_BASELINE_DATABASE_URL": dbs.baseline,
            "BENCH_PAGE_BYTES": str(page_bytes),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        _create_baseline_tables(dbs.baseline)
        baseline = started.enter_context(_stopping(start(
            "baseline",
            [str(SERVE_BIN / "gunicorn"), "--bind", f"127.0.0.1:{baseline_port}",
             "bench.baseline:app"],
            baseline_env, folder, f"http://127.0.0.1:{baseline_port}", "/hello")))
        yield Stack(dbs, folder, shop, baseline, sandbox, proxy, shop_env)


def _create_baseline_tables(url: str) -> None:
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


@contextmanager
def _stopping(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()
