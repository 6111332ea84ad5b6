"""What keeps a web worker's memory small (README "Performance notes"): the heavy libraries stay
out of the app, PDFs are rendered in a process of their own, gunicorn recycles its workers."""

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from argon2.exceptions import HashingError
from flask_migrate import upgrade
from huey import SqliteHuey
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import text

from checkout import create_app, pdf
from checkout.extensions import db
from checkout.gunicorn_support import give_worker_its_own_connections, limit_malloc_arenas
from checkout.models import user as users
from checkout.models.user import hash_password

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
# Loaded only by the PDF renderer's own process (weasyprint and what it brings; Pillow is the
# shop's too, for uploads) and by the bench's chart (matplotlib): never in a web worker.
HEAVY = ("weasyprint", "fontTools", "pydyf", "pyphen", "tinycss2", "matplotlib", "numpy")

# Loaded on demand only, by what needs them: Alembic (Flask-Migrate's commands and upgrade(),
# some 6 MiB in a worker; /readyz reads the migration files itself), tqdm (the commands'
# progress bars), Pillow (a staff image upload).
ON_DEMAND = ("alembic", "flask_migrate", "mako", "tqdm", "PIL")

SERVE = """
import json, sys
import wsgi
client = wsgi.app.test_client()
answers = {path: client.get(path).status_code for path in sys.argv[1:]}
print(json.dumps({"answers": answers, "modules": sorted(sys.modules)}))
"""


def _environment(tmp_path) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "GUNICORN_"))},
        "CHECKOUT_ENV": "development",
        "SECRET_KEY": "memory-test-secret-key-long-enough-to-sign-with",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite'}",
        "PAYMENTS": "sandbox",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": "0",
        "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
        "MAIL_DIR": str(tmp_path / "mail"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _served(tmp_path, *paths: str) -> dict:
    """Import the app as gunicorn does, GET `paths`; the answers and every module loaded."""
    done = subprocess.run([sys.executable, "-c", SERVE, *paths], cwd=ROOT,
                          env=_environment(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_served_app_does_not_import_the_pdf_or_chart_libraries(tmp_path):
    modules = _served(tmp_path, "/")["modules"]
    assert "checkout.services.invoices" in modules  # the PDF's caller is loaded…
    loaded = sorted({name.split(".")[0] for name in modules} & set(HEAVY))
    assert loaded == []  # …and nothing it renders with


def _migrate(tmp_path) -> None:
    """Bring the served app's database to head from this process (which has Alembic)."""
    env = _environment(tmp_path)
    app = create_app({
        "SECRET_KEY": env["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
        "SANDBOX_DATABASE_URL": env["SANDBOX_DATABASE_URL"], "SANDBOX_BACKGROUND": False,
        "HUEY_DATABASE": env["HUEY_DATABASE"], "MAIL_DIR": env["MAIL_DIR"],
    })
    with app.app_context():
        upgrade()
        db.engine.dispose()
    app.extensions["sandbox"].close()


def test_pages_and_readiness_probes_never_load_the_on_demand_modules(tmp_path):
    _migrate(tmp_path)
    served = _served(tmp_path, "/", "/cart/", "/readyz")
    # The probe checked the migrations (at head) without them.
    assert served["answers"] == {"/": 200, "/cart/": 200, "/readyz": 200}
    loaded = sorted({name.split(".")[0] for name in served["modules"]} & set(ON_DEMAND))
    assert loaded == []


def test_the_migration_commands_load_when_run(tmp_path):
    done = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db",
                           "--help"], cwd=ROOT, env=_environment(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("upgrade", "downgrade", "migrate", "check", "current", "heads", "stamp"):
        assert f"  {command}" in done.stdout


def test_a_pdf_is_rendered_in_its_own_process_from_the_html_alone(tmp_path):
    picture = tmp_path / "picture.png"
    Image.new("RGB", (40, 40), "red").save(picture)
    html = (f'<html><body><h1>Invoice INV-1 Ünïcode €</h1>'
            f'<img src="file://{picture}"></body></html>')
    rendered = pdf.html_to_pdf(html)
    assert rendered.startswith(b"%PDF") and b"%%EOF" in rendered[-32:]
    assert "Ünïcode €" in _pdf_text(rendered)
    # The picture is on disk and readable, but a document loads nothing from outside.
    assert b"/Image" not in rendered


def test_a_renderer_that_takes_too_long_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(pdf, "RENDER_TIMEOUT_SECONDS", 0.001)
    with pytest.raises(pdf.PdfRenderingFailed, match="took longer"):
        pdf.html_to_pdf("<p>slow</p>")


def test_a_renderer_that_fails_is_an_error_with_its_reason(monkeypatch, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit('no fonts here')\n")
    monkeypatch.setattr(pdf, "_RENDERER", broken)
    with pytest.raises(pdf.PdfRenderingFailed, match="exited with 1: no fonts here"):
        pdf.html_to_pdf("<p>x</p>")


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def env(monkeypatch):
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_REQUESTS_JITTER",
                 "GUNICORN_MALLOC_ARENAS", "GUNICORN_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_gunicorn_does_not_recycle_workers_by_default(env):
    # Recycling every 5,000 requests halved the bench's baseline (a worker restarted every few
    # seconds) and opened new database connections all along: off unless asked for.
    settings = runpy.run_path(str(GUNICORN_CONF))
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (0, 0)


def test_recycled_workers_restart_at_staggered_times(env):
    env.setenv("GUNICORN_MAX_REQUESTS", "50000")
    settings = runpy.run_path(str(GUNICORN_CONF))
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (50000, 5000)


def test_gunicorn_memory_settings_come_from_the_environment(env):
    env.setenv("GUNICORN_MAX_REQUESTS", "0")
    env.setenv("GUNICORN_MAX_REQUESTS_JITTER", "0")
    env.setenv("GUNICORN_MALLOC_ARENAS", "4")
    settings = runpy.run_path(str(GUNICORN_CONF))
    assert (settings["max_requests"], settings["max_requests_jitter"],
            settings["MALLOC_ARENAS"]) == (0, 0, 4)


def test_the_master_caps_malloc_arenas_before_forking(env):
    assert runpy.run_path(str(GUNICORN_CONF))["MALLOC_ARENAS"] == 2
    # This machine's C library is glibc: the cap takes (mallopt answers 1).
    assert limit_malloc_arenas(2) is True


def test_argon2_work_takes_turns_within_a_process(monkeypatch):
    # Every Argon2 hash fills 64 MiB in its process: a worker's threads signing in at once must
    # not each start one. Two processes running at the same time would meet at the barrier.
    inside, most = [0], [0]
    lock = threading.Lock()
    meeting = threading.Barrier(2, timeout=0.5)
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait()
        try:
            return real_run(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(subprocess, "run", counting_run)
    hashed = []
    threads = [threading.Thread(target=lambda: hashed.append(hash_password("password-one")))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(hashed) == 3 and all(h.startswith("$argon2id$") for h in hashed)
    assert most[0] == 1


def test_gunicorn_preloads_the_app_by_default_and_can_be_told_not_to(env):
    assert runpy.run_path(str(GUNICORN_CONF))["preload_app"] is True
    env.setenv("GUNICORN_PRELOAD", "0")
    assert runpy.run_path(str(GUNICORN_CONF))["preload_app"] is False


def test_a_forked_worker_drops_the_masters_connections_without_closing_them(
        app, monkeypatch, tmp_path):
    # The test app runs jobs inline; a served one keeps its queue in SQLite.
    huey = SqliteHuey("memory-test", filename=str(tmp_path / "huey.sqlite"))
    monkeypatch.setitem(app.extensions, "huey", huey)
    with app.app_context():
        # The app is shared with the tests before: its pool may hold their connections.
        db.engine.dispose()
        pooled = db.engine.raw_connection()
        masters = pooled.driver_connection
        pooled.close()  # back into the pool, as the master leaves it after loading the app
        assert db.engine.pool.checkedin() == 1
        sandbox = app.extensions["sandbox"]
        with sandbox.store.read():
            pass
        assert sandbox.store.engine.pool.checkedin() >= 1
        huey.storage.sql("SELECT 1", results=True)
        assert huey.storage._conn is not None

        give_worker_its_own_connections(app)

        # The worker's pools are empty: it opens its own connections on first use…
        assert db.engine.pool.checkedin() == 0
        assert sandbox.store.engine.pool.checkedin() == 0
        assert huey.storage._conn is None
        # …and the master's are still open, for the master (close=False).
        assert masters.execute("SELECT 1").fetchone()[0] == 1
        masters.close()
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        db.session.remove()


SIGN_IN_PEAK = """
import json
from checkout.models.user import User, hash_password

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024

before = peak()
user = User(email="ada@example.com", password_hash=hash_password("correct horse battery"))
right, wrong = user.check_password("correct horse battery"), user.check_password("wrong horse")
print(json.dumps({"before": before, "after": peak(), "right": right, "wrong": wrong,
                  "hash": user.password_hash, "rehash": user.needs_new_hash}))
"""


def test_password_hashing_leaves_a_workers_peak_memory_where_it_was(tmp_path):
    """Argon2 fills 64 MiB for every hash and every check: done in the worker, signing one
    person in raised its peak by that much for good (README "Performance notes")."""
    done = subprocess.run([sys.executable, "-c", SIGN_IN_PEAK], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("TEST_")})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["right"] is True and seen["wrong"] is False
    assert seen["hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert seen["rehash"] is False
    assert seen["after"] - seen["before"] < 16, seen


def test_the_password_goes_to_the_argon2_process_on_stdin_never_its_command_line(monkeypatch):
    seen = []
    real_run = subprocess.run

    def watching_run(command, **kwargs):
        seen.append((command, kwargs["input"]))
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", watching_run)
    hashed = hash_password("secret-in-the-pipe")
    assert users.User(email="b@example.com", password_hash=hashed).check_password(
        "secret-in-the-pipe")
    assert len(seen) == 2
    for command, given in seen:
        assert not any("secret-in-the-pipe" in part for part in command)  # not in `ps`
        assert b"secret-in-the-pipe" in given


def test_a_stuck_argon2_process_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(users, "PROCESS_TIMEOUT_SECONDS", 0.001)
    with pytest.raises(HashingError, match="took longer"):
        hash_password("slow-password-here")


def test_every_sqlite_connection_keeps_a_small_page_cache(app):
    # A worker pools one connection per thread, each with its own page cache: at SQLite's
    # 2 MiB each, one staff search through 100,000 orders left a worker 12 MiB larger (bench).
    from checkout.db import SQLITE_CACHE_KIB

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("a PostgreSQL connection keeps no page cache of its own")
        # Raw pooled connections: no transaction of ours, so three at once lock nothing.
        connections = [db.engine.raw_connection() for _ in range(3)]
        try:
            sizes = {c.cursor().execute("PRAGMA cache_size").fetchone()[0] for c in connections}
        finally:
            for connection in connections:
                connection.close()
    assert sizes == {-SQLITE_CACHE_KIB}
    assert SQLITE_CACHE_KIB <= 512
