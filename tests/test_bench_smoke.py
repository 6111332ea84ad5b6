"""`make bench`'s machinery on one tiny scenario, so the bench cannot rot unnoticed.

The whole stack starts as in a real run (the shop under `make serve`, the baseline, the payment
sandbox behind the delaying proxy; SQLite, or a throw-away PostgreSQL on the suite's
PostgreSQL pass), one add-to-cart load and its baseline run for a second each, the SQL counts
by cart size are taken once, and the report is written. Only its shape is checked: timings
on a shared machine prove nothing.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from bench import report
from bench.run import Settings, run_bench
from bench.scenarios import Sizes


def test_a_quick_bench_run_writes_a_complete_report(tmp_path):
    kind = ("postgresql" if (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")
            else "sqlite")
    settings = Settings(quick=True, runs=1, databases=(kind,),
                        only=("add_to_cart", "sql_by_lines", "floor_webhook", "floor_checkout"),
                        results=tmp_path,
                        sizes=replace(Sizes.quick(), seconds=1))
    said = []
    # In a thread of its own, as `python -m bench` runs it: the browser tests' Playwright, still
    # open in this process, keeps an event loop running in the main thread, and the bench's
    # asyncio.run() refuses to start inside one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        ran = pool.submit(run_bench, settings, log=said.append).result()
    written = report.write(ran, tmp_path)

    for name in ("json", "md", "svg"):
        assert (tmp_path / f"latest.{name}").read_bytes() == written[name].read_bytes()
    result = json.loads(written["json"].read_text())
    assert result["settings"]["quick"] is True
    assert result["machine"]["cores"] == os.cpu_count()
    rows = {row["name"]: row for row in result["databases"][kind]["scenarios"]}
    # The scenarios asked for, and the baseline held against, nothing else.
    assert set(rows) == {"base_insert", "add_to_cart", "sql_by_lines", "floor_webhook",
                         "floor_checkout"}
    counted = rows.pop("sql_by_lines")
    assert counted["throughput"] is None and counted["ratio"] is None
    by_lines = counted["extra"]["by_lines"]
    assert set(by_lines) == {"1", "10", "50"}
    for requests in by_lines.values():
        assert set(requests) == {"cart", "checkout_post", "webhook", "order_page"}
        assert requests["checkout_post"][1] >= 1 and requests["webhook"][1] >= 1
        assert all(statements > 0 for statements, _ in requests.values())
    for row in rows.values():
        assert set(report.SCENARIO_KEYS) <= set(row)
        assert row["throughput"] > 0 and len(row["runs"]) == 1
        assert row["p50_ms"] is not None and row["p99_ms"] >= row["p50_ms"]
        assert row["load_before"] >= 0 and row["load_after"] >= 0
    # The provider's floor: the SDK's own CPU (the bench process's) and the sandbox's, per call
    # (its set-up refuses sessions that are not complete and paid, as the webhooks' are).
    for name in ("floor_webhook", "floor_checkout"):
        floor = rows[name]
        assert set(floor["statuses"]) == {"200"}, floor["statuses"]
        assert floor["cpu_ms"] > 0 and floor["extra"]["sandbox_cpu_ms"] > 0
        assert floor["ratio"] == round(floor["throughput"] / rows["base_insert"]["throughput"], 3)
    assert "CPU is the SDK's side (the bench process); the sandbox's: " in \
        written["md"].read_text()
    added = rows["add_to_cart"]
    assert added["baseline"] == "base_insert"
    assert added["ratio"] == round(added["throughput"] / rows["base_insert"]["throughput"], 3)
    # Every add answered 303 to the cart, and the shop said what it cost in SQL.
    assert set(added["statuses"]) == {"303"}, added["statuses"]
    assert added["statements"] > 0 and added["commits"] >= 1
    assert added["peak_rss_mib"] > 0
    # The servers' CPU per unit was metered for both, and the CPU ratio is theirs.
    assert added["cpu_ms"] > 0 and rows["base_insert"]["cpu_ms"] > 0
    assert added["cpu_ratio"] == round(rows["base_insert"]["cpu_ms"] / added["cpu_ms"], 3)
    problems = result["databases"][kind]["log_problems"]
    assert (problems["tracebacks"], problems["database_locked"], problems["errors"]) == (0, 0, [])
    assert added["extra"]["shop_tracebacks"] == 0

    table = written["md"].read_text()
    assert f"## {kind}" in table and "| add to cart |" in table
    assert "1 / 10 / 50 lines: cart:" in table
    assert written["svg"].read_text().lstrip().startswith("<?xml")
    assert any("add_to_cart" in line for line in said)
