"""Audit (issue 11): a flow load's throughput counts only what the shop did, as wrk's does.

`parse_wrk` leaves non-2xx/3xx answers out of the work done (tests/test_bench_parts.py), but
the aiohttp client's closed loop (`bench.load._closed_loop`) adds one to `done` for every flow
whatever its answer: checkouts answered 409/422/500/503, webhooks answered 500 and adds to
cart refused with 400 all count as orders/s, events/s or req/s, and so in the ratio held
against the issue's targets. The statuses are in the report's notes, but the headline figure
and the ratio are inflated by failures.
"""

from concurrent.futures import ThreadPoolExecutor

from bench.load import Answer, closed_loop


def test_a_flow_answered_with_a_server_error_is_not_work_done():
    async def failing(client) -> Answer:
        # No server needed: the flow is the unit of work, and it failed.
        return Answer(status=500, text="Internal Server Error", headers={}, ms=1.0)

    # In a thread of its own, as tests/test_bench_smoke.py runs the bench: after the browser
    # tests, Playwright keeps an event loop running in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        load = pool.submit(closed_loop, "http://127.0.0.1:9", failing, concurrency=1,
                           seconds=0.2).result()
    assert load.statuses[500] > 0
    assert load.done == 0, (
        f"{load.done} flows answered 500 counted as work done ({load.rate:.0f}/s)")
