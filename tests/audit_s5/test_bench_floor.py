"""Audit s5: the provider floor's loop (bench/scenarios.py `_provider_loop`, since 72a0bcc).

Guard (pass): a call that raises is counted as a failed unit (status 500, shown in the
report's notes as "answers 500: n") and left out of the throughput and latencies.
Finding (fail, low): the exception itself is dropped (`except Exception: status = 500`), so a
floor that fails every call reports throughput 0 and "answers 500: n" with nothing saying why;
the shop's scenarios at least leave tracebacks in the shop's log ("tracebacks in the shop's
log" note). The SDK's error (e.g. InvalidRequestError from the sandbox) should reach the row.
"""

from types import SimpleNamespace

import stripe

from bench.scenarios import _provider_loop


def _context(seconds: float = 0.2, concurrency: int = 2) -> SimpleNamespace:
    return SimpleNamespace(sizes=SimpleNamespace(seconds=seconds, concurrency=concurrency),
                           stack=SimpleNamespace(sandbox=SimpleNamespace(cpu_seconds=lambda: 0.0)))


def _refused(n: int) -> None:
    if n % 2:
        raise stripe.InvalidRequestError("No such checkout.session: 'cs_gone'", "session")


def test_a_failed_call_is_counted_and_left_out_of_the_throughput():
    measured = _provider_loop(_context(), _refused)
    load = measured.load
    assert load.statuses[500] > 0 and load.statuses[200] > 0
    assert load.done == load.statuses[200] and len(load.latencies_ms) == load.done


def test_a_failed_call_says_what_failed():
    measured = _provider_loop(_context(), _refused)
    said = repr(measured.extra)
    assert "InvalidRequestError" in said or "No such checkout.session" in said, measured.extra
