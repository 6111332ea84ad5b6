"""Attack (issue 11): gunicorn now preloads the app in its master and forks the workers from it
(gunicorn.conf.py, checkout/gunicorn_support.py), and recycles each worker after
GUNICORN_MAX_REQUESTS requests. A worker must never share a database connection or SQLite
file handle with the master; a worker recycled while shoppers' requests are in flight (on
their keep-alive connections, as a browser or a load balancer sends them) must not drop them.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from tests.served_support import serve_shop


def _socket_inodes_to(port: int) -> set[str]:
    """Inodes of this machine's TCP sockets connected to `port` (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port:
                inodes.add(fields[9])
    return inodes


def _database_handles(pid: int, database_url: str) -> list[str]:
    """What of the shop's and sandbox's databases process `pid` holds open."""
    held = []
    url = make_url(database_url)
    pg_sockets = _socket_inodes_to(url.port) if url.drivername.startswith("postgresql") else set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        on_file = target.endswith((".sqlite", ".sqlite-wal", ".sqlite-shm"))
        on_server = target.startswith("socket:[") and target[8:-1] in pg_sockets
        if on_file or on_server:
            held.append(target)
    return held


def test_the_preloading_master_holds_no_database_connection_its_workers_could_share(tmp_path):
    with serve_shop(tmp_path, workers=2, threads=4, on_suite_database=True) as shop:
        for path in ("/", "/cart/", "/readyz", "/healthz"):
            assert requests.get(shop.base + path, timeout=30).status_code == 200, path
        held = _database_handles(shop.server_pid, shop.env["DATABASE_URL"])
        assert held == [], f"gunicorn's master holds {held}: every worker forked now shares it"


def test_a_worker_recycled_by_max_requests_drops_no_request_in_flight(tmp_path):
    settings = {"GUNICORN_MAX_REQUESTS": "20", "GUNICORN_MAX_REQUESTS_JITTER": "0"}
    with serve_shop(tmp_path, workers=2, threads=4, settings=settings) as shop:
        failures = []

        def shopper(n: int) -> None:
            # One keep-alive connection per shopper, as a browser (or a proxy) keeps one.
            with requests.Session() as browser:
                for _ in range(30):
                    try:
                        answer = browser.get(f"{shop.base}/", timeout=30)
                        if answer.status_code != 200:
                            failures.append(answer.status_code)
                    except requests.RequestException as exc:
                        failures.append(f"{type(exc).__name__}: {exc}"[:160])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(shopper, range(8)))
        assert failures == [], f"{len(failures)} of 240 requests failed: {failures[:3]}"
        recycled = (shop.folder / "server.log").read_text().count("Autorestarting worker")
        assert recycled >= 5, f"only {recycled} workers were recycled: the test proved little"
