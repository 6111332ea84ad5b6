"""gunicorn settings, read from the working folder: `gunicorn wsgi:app` (see README)."""

import os
from pathlib import Path

from dotenv import load_dotenv

# Before anything imports prometheus_client: it picks multiprocess mode (PROMETHEUS_MULTIPROC_DIR)
# once, at import, and the workers inherit that choice from this master process.
load_dotenv(Path(__file__).resolve().parent / ".env")

from checkout.config import DEFAULT_WEB_THREADS  # noqa: E402
from checkout.gunicorn_support import (  # noqa: E402
    AddressTaken,
    RedactingLogger,
    empty_metrics_directory,
    give_worker_its_own_connections,
    limit_malloc_arenas,
    refuse_taken_addresses,
    settle_memory_before_fork,
    worker_exited,
)

# Threads, not more processes: a request spends most of its time waiting on the database or
# on Stripe, and a thread waiting lets the others run; a sync worker waiting on Stripe holds
# its whole process. One process per core keeps the GIL from being the queue. The app sizes
# its database pool to GUNICORN_THREADS (DATABASE_POOL_SIZE), so no thread opens and closes
# connections of its own.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS") or os.cpu_count() or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or DEFAULT_WEB_THREADS)

logger_class = RedactingLogger
# Access lines on stdout; gunicorn's own messages and the app's logs on stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" rid=%({x-request-id}o)s'
# The shop's requests are short; a stuck one (a hung provider call) is cut off.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Nothing in a request should need longer after a restart is asked for.
graceful_timeout = 20
# Behind a load balancer's keep-alive connections.
keepalive = 5
# Off by default: GUNICORN_REUSE_PORT=1 gives each worker a socket of its own (SO_REUSEPORT)
# and the kernel spreads new connections over them. With the master's one socket, whichever
# worker wakes first can take a whole burst of kept-alive connections and serve them on one
# core (the bench saw one worker take all 16). But a worker's own socket goes with it: the
# connections waiting in it are reset when it is recycled or restarted, and while every
# worker restarts at once nothing listens at all (README "Processes").
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "0") == "1"
# A safety net for memory, off by default (README "Performance notes"): a worker is replaced,
# between requests, after this many, and the jitter (a tenth unless set) keeps the workers from
# restarting together. Every 5,000 halved the bench's baseline and reopened database
# connections all along.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", str(max_requests // 10)))
# glibc malloc arenas per process (checkout.gunicorn_support.limit_malloc_arenas says why),
# capped now: before the app is preloaded and before any thread exists.
MALLOC_ARENAS = int(os.environ.get("GUNICORN_MALLOC_ARENAS", "2"))
limit_malloc_arenas(MALLOC_ARENAS)
# The master imports the app once and forks the workers from it: the modules, templates and
# data the app loads at start are shared copy-on-write by the workers instead of loaded again
# in each (README "Performance notes": a worker's proportional share fell from ~90 to ~35 MiB
# at start). Each worker then opens its own database connections (post_fork).
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def on_starting(server) -> None:
    # A new master taking over from an old one (USR2) shares the old workers' port on purpose.
    if server.cfg.reuse_port and not server.master_pid:
        try:
            refuse_taken_addresses(server.cfg.address)
        except AddressTaken as taken:
            server.log.error("%s", taken)
            raise SystemExit(1) from None
        # gunicorn's own "Listening at:" line is empty then: the master holds no socket.
        server.log.info("Each worker listens on %s with a socket of its own (SO_REUSEPORT)",
                        ", ".join(str(a) if isinstance(a, str) else f"{a[0]}:{a[1]}"
                                  for a in server.cfg.address))
    empty_metrics_directory()


def pre_fork(server, worker) -> None:
    if server.cfg.preload_app:
        settle_memory_before_fork()


def post_fork(server, worker) -> None:
    if server.cfg.preload_app:
        give_worker_its_own_connections(worker.app.wsgi())


def child_exit(server, worker) -> None:
    worker_exited(worker.pid)
