"""The bench's own parts that need no server: reading wrk, reading its settings, choosing
scenarios with the baselines they are held against."""

from pathlib import Path

import pytest

from bench.load import Load, parse_wrk
from bench.run import Settings, _run_shared, busiest_share, selected
from bench.scenarios import Measured, Scenario, Sizes
from bench.servers import LOPSIDED_SHARE

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:49751/staff/orders/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   232.32ms  376.53ms   1.90s    88.06%
    Req/Sec    34.55     31.89   125.00     82.76%
  Latency Distribution
     50%   74.79ms
     75%  294.63ms
     90%  727.59ms
     99%    1.82s~
  116 requests in 2.03s, 3.14MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 6
Requests/sec:     57.28
Transfer/sec:      1.55MB
""".replace("~", " ")  # wrk pads a one-letter unit with a space: the line ends in one


def test_wrk_reports_are_read_with_their_units_and_failures():
    load = parse_wrk(WRK_OUTPUT, 2)
    assert load.done == 110  # the six non-2xx answers are not work done
    assert load.rate == 55
    assert (load.percentile(50), load.percentile(99)) == (74.79, 1820.0)
    assert load.statuses == {"2xx/3xx": 110, "other": 6, "socket errors": 3}


def test_a_wrk_report_without_requests_says_what_wrk_said():
    with pytest.raises(RuntimeError, match="unable to connect"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n", 2)


def test_percentiles_of_a_client_load_come_from_its_latencies():
    load = Load(done=5, seconds=1.0, latencies_ms=[5.0, 1.0, 3.0, 2.0, 4.0])
    assert (load.percentile(50), load.percentile(99)) == (3.0, 5.0)


def test_quick_mode_cuts_the_sizes_and_runs_once():
    settings = Settings.from_environment({"BENCH_QUICK": "1"})
    assert settings.quick and settings.runs == 1 and settings.sizes == Sizes.quick()
    assert settings.databases == ("sqlite", "postgresql")
    full = Settings.from_environment({"BENCH_RUNS": "5", "BENCH_DATABASES": "postgresql",
                                      "BENCH_RESULTS": "/tmp/elsewhere"})
    assert (full.runs, full.databases, full.results) == (5, ("postgresql",),
                                                         Path("/tmp/elsewhere"))
    assert full.sizes.staff_orders_large == 100_000 and full.sizes.seconds == 10


@pytest.mark.parametrize("environ", [
    {"BENCH_DATABASES": "mysql"}, {"BENCH_RUNS": "0"}, {"BENCH_RUNS": "three"},
    {"BENCH_SECONDS": "soon"}, {"BENCH_SCENARIOS": "catalog,nonsense"},
])
def test_settings_it_cannot_run_with_are_refused_saying_why(environ):
    with pytest.raises(SystemExit, match="BENCH_|unknown scenarios"):
        Settings.from_environment(environ)


def test_a_scenario_asked_for_brings_every_baseline_it_is_held_against():
    settings = Settings.from_environment({"BENCH_SCENARIOS": "staff_list_large,flash_sale"})
    # The large list is held against the small one, which is held against the template page.
    assert [s.name for s in selected(settings)] == [
        "base_page", "base_decrement", "staff_list_small", "staff_list_large", "flash_sale"]


def test_the_busiest_workers_share_of_the_cpu_between_two_readings():
    assert busiest_share({1: 100, 2: 100}, {1: 150, 2: 150}) == 0.5
    assert busiest_share({1: 100, 2: 100}, {1: 565, 2: 101}) == pytest.approx(465 / 466)
    # A worker started meanwhile counts from nothing; one worker or no CPU tells nothing.
    assert busiest_share({1: 100}, {1: 130, 3: 10}) == 0.75
    assert busiest_share({1: 100}, {1: 200}) is None
    assert busiest_share({1: 5, 2: 5}, {1: 5, 2: 5}) is None


class _Server:
    """Workers whose CPU readings follow a script: each run gives (worker 1, worker 2) ticks."""

    def __init__(self, runs: list[tuple[int, int]]):
        self.readings, now = [], (0, 0)
        for one, two in runs:  # a reading before the run and one after it
            self.readings += [now, (now[0] + one, now[1] + two)]
            now = self.readings[-1]
        self.read = 0

    def worker_cpu_ticks(self) -> dict[int, int]:
        one, two = self.readings[self.read]
        self.read += 1
        return {1: one, 2: two}


def _scenario(repeatable: bool, runs: list) -> Scenario:
    return Scenario("catalog", "catalog page", "req/s",
                    lambda ctx: runs.append(1) or Measured(Load(1, 1.0)), repeatable=repeatable)


def test_a_run_one_worker_did_alone_is_done_again_when_it_may_be():
    said, runs = [], []
    server = _Server([(465, 1), (300, 290)])
    result = _run_shared(_scenario(True, runs), None, server, said.append)
    assert len(runs) == 2 and result.extra["reruns"] == 1
    assert result.extra["busiest_worker_share"] == round(300 / 590, 2)
    assert "running it again" in said[0]


def test_reruns_stop_after_two_and_a_flow_is_never_run_again():
    runs = []
    server = _Server([(400, 0)] * 3)
    result = _run_shared(_scenario(True, runs), None, server, lambda _: None)
    assert len(runs) == 3 and result.extra == {"busiest_worker_share": 1.0, "reruns": 2}
    flow_runs = []
    result = _run_shared(_scenario(False, flow_runs), None, _Server([(400, 0)]), lambda _: None)
    assert len(flow_runs) == 1 and result.extra["reruns"] == 0
    assert result.extra["busiest_worker_share"] > LOPSIDED_SHARE
