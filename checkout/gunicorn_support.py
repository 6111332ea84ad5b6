"""gunicorn's side of logging and metrics: `gunicorn.conf.py` at the top of the project uses it.

`RedactingLogger` writes gunicorn's access and error lines with every bearer secret removed
(the request line, query, referer and credential headers), as JSON in `LOG_FORMAT=json`.
The hooks keep prometheus_client's multiprocess directory honest: the files of processes
gone since a previous run are removed when the server starts (their counters would be summed
into this run's), and each dead worker's live gauges are dropped.
"""

import contextlib
import ctypes
import gc
import json
import logging
import os
import re
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from checkout.config import log_format_from_environment
from checkout.logs import REDACTED, JsonFormatter, redact, redact_query

# glibc's mallopt() parameter for the most malloc arenas a process may have (malloc.h).
M_ARENA_MAX = -8

# Headers that are credentials themselves: never written, even redacted in part.
_CREDENTIAL_HEADERS = (
    "{authorization}i", "{cookie}i", "{stripe-signature}i", "{proxy-authorization}i",
    # The same headers as environ entries, and the session cookie the response sets.
    "{http_authorization}e", "{http_cookie}e", "{http_stripe_signature}e",
    "{http_proxy_authorization}e", "{set-cookie}o",
)


# The atoms the JSON line reads (below), whatever the text format names.
_JSON_ATOMS = frozenset({"h", "m", "U", "s", "B", "M", "f", "a", "{x-request-id}o"})
_ATOM = re.compile(r"%\(([^)]+)\)")


class RedactingLogger(Logger):
    """gunicorn's logger with secrets taken out of every access line; JSON when asked."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.json = log_format_from_environment() == "json"
        if not self.json:
            return
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))

    def atoms(self, resp, req, environ, request_time) -> dict:
        """The atoms the line shows, redacted. gunicorn makes one of every request and
        response header and environ entry (some 60 a request) though the line shows a
        handful: the others are dropped unread, so none is written, and gunicorn's SafeAtoms
        (which escapes every atom it is given) writes "-" for a header the request lacks."""
        shown = self._shown_atoms()
        atoms = {}
        for name, value in super().atoms(resp, req, environ, request_time).items():
            if name not in shown:
                continue
            if name in _CREDENTIAL_HEADERS:
                atoms[name] = REDACTED
            elif name == "q":
                atoms[name] = redact_query(value or "")
            elif isinstance(value, str):
                atoms[name] = redact(value)
            else:
                atoms[name] = value
        return atoms

    def _shown_atoms(self) -> frozenset[str]:
        fmt = self.cfg.access_log_format
        if getattr(self, "_shown_for", None) != fmt:
            named = (n.lower() if n.startswith("{") else n for n in _ATOM.findall(fmt))
            self._shown = frozenset(named) | _JSON_ATOMS
            self._shown_for = fmt
        return self._shown

    def access(self, resp, req, environ, request_time) -> None:
        if not self.json:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "remote": atoms["h"],
            "method": atoms["m"],
            # The path as asked for, mount point and query included.
            "path": redact(environ.get("RAW_URI") or atoms["U"]),
            "status": atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "referer": atoms["f"],
            "user_agent": atoms["a"],
            "request_id": atoms.get("{x-request-id}o"),
        }
        # The atoms are redacted already; redacting the JSON text could break its escapes.
        self.access_log.info(json.dumps(entry, ensure_ascii=False, default=str))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AddressTaken(RuntimeError):
    """Something already listens on an address gunicorn was told to bind."""


def refuse_taken_addresses(addresses) -> None:
    """Raise AddressTaken for a TCP address something already listens on.

    With `reuse_port` each worker binds a socket of its own with SO_REUSEPORT, and the kernel
    lets any process of the same user bind the same port that way: a second server started by
    mistake (an old version left running) would start without a word and take half of the
    connections. A socket bound without SO_REUSEPORT still meets EADDRINUSE beside a listener,
    so one is tried first. SO_REUSEADDR, as gunicorn sets it, lets connections of a server
    that has stopped (TIME_WAIT) pass. Unix sockets are not shared this way and are skipped.
    """
    for address in addresses:
        if not isinstance(address, tuple) or not address[1]:
            continue
        host, port = address[0], address[1]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise AddressTaken(f"{host}:{port} is already in use ({error.strerror}): is "
                                   "another server running on it?") from None


def empty_metrics_directory() -> None:
    """Drop the samples of processes gone since a previous run; they would add to this one's.

    Files of live processes stay: a job worker started before gunicorn writes its samples into
    the same folder, and unlinking a file it has mapped would lose everything it counts later.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        # prometheus_client names each file <kind>_<pid>.db.
        pid = child.stem.rpartition("_")[2]
        if child.is_file() and pid.isdigit() and _alive(int(pid)):
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they were counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas for this process and the workers it forks; say if it took.

    glibc gives each thread that meets contention an arena of its own, up to 8 per core, and
    memory freed in one arena is not given back to the others or to the system: a gthread
    worker's 8 threads each grew their own, and a worker's peak RSS with them. Python code
    runs one thread at a time under the GIL, so more arenas than a couple buy almost nothing.
    Set in the master before any worker or thread exists, as MALLOC_ARENA_MAX would be.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): their allocators have no such setting
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_ARENA_MAX, count) == 1


def settle_memory_before_fork() -> None:
    """In the master, before forking a worker from the preloaded app: free the garbage of
    loading, give the free heap back to the system (a worker would otherwise start with it
    counted in its resident size), and move every object left out of the collector's reach
    (a collection in a worker would write to, and so copy, every page holding one)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim this way
        ctypes.CDLL(None).malloc_trim(0)
    gc.freeze()


def give_worker_its_own_connections(app: Flask) -> None:
    """In a worker forked from a master that loaded the app (preload_app): drop every database
    and queue connection the master may have opened, without closing them (they are the
    master's), so that no socket or SQLite file handle is shared by two processes. An app
    without them (the bench's baseline, served with these settings too) is left alone."""
    # Reached through the app, not imported: gunicorn.conf.py imports this module, and the
    # bench's baseline, served with it too, must not load the shop's extensions.
    sqlalchemy = app.extensions.get("sqlalchemy")
    if sqlalchemy is not None:
        with app.app_context():
            for engine in sqlalchemy.engines.values():
                engine.dispose(close=False)
    huey = app.extensions.get("huey")
    if huey is not None:
        # SqliteHuey keeps one connection, opened on first use; closing the child's copy of a
        # SQLite handle releases no lock of the master's (POSIX locks are per process).
        huey.storage.close()
    sandbox = app.extensions.get("sandbox")
    if sandbox is not None:
        sandbox.after_fork()
