"""The bench's fixed-rate load: it asks at its rate whatever the answers' pace, and counts each
latency from when its request was due (a slow server shows in the percentiles, not in a
smaller load)."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.load import fixed_rate_async


class _Slow(BaseHTTPRequestHandler):
    delay = 0.0
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        time.sleep(self.delay)
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args) -> None:
        pass


def _run(load):
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in this
    # one for the rest of the session, and asyncio.run() refuses to start beside it.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, load).result()


@pytest.fixture
def server():
    made = []

    def start(delay: float, status: int = 200) -> str:
        handler = type("Handler", (_Slow,), {"delay": delay, "status": status})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        made.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for httpd in made:
        httpd.shutdown()
        httpd.server_close()


def test_a_slow_server_gets_every_request_at_the_rate_and_shows_it_in_the_latencies(server):
    url = server(delay=0.3)
    started = time.perf_counter()
    load = _run(fixed_rate_async(url, rate=40, seconds=0.5))
    elapsed = time.perf_counter() - started
    # 20 requests due over 0.5 s, each answered 0.3 s later: a closed loop of one client
    # would have asked 2.
    assert (load.done, dict(load.statuses)) == (20, {200: 20})
    assert elapsed < 2.5
    assert min(load.latencies_ms) >= 300
    assert load.rate == pytest.approx(40)


def test_refused_answers_are_counted_by_status_and_as_no_work(server):
    load = _run(fixed_rate_async(server(delay=0, status=503), rate=20, seconds=0.5))
    assert (load.done, dict(load.statuses)) == (0, {503: 10})


def test_a_server_that_is_not_there_is_counted_as_failed_requests():
    load = _run(fixed_rate_async("http://127.0.0.1:9/", rate=20, seconds=0.25))
    assert load.done == 0
    assert sum(load.statuses.values()) == 5
    assert set(load.statuses) <= {"ClientConnectorError", "ClientOSError", "TimeoutError"}
