"""One bench run: for each database kind, the stack, the scenarios N times, the report."""

import os
import platform
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench.load
from bench import report, shopdata
from bench.load import Client, closed_loop
from bench.scenarios import Context, Measured, Scenario, Sizes, all_scenarios, start_sink
from bench.servers import LOPSIDED_SHARE, connections_opened, stack
from checkout.config import DEFAULT_WEB_THREADS

DATABASES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Settings:
    quick: bool
    runs: int
    databases: tuple[str, ...]
    # Scenario names asked for (their baselines come along); empty: all of them.
    only: tuple[str, ...]
    results: Path
    sizes: Sizes

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        """BENCH_QUICK, BENCH_RUNS, BENCH_DATABASES, BENCH_SCENARIOS, BENCH_SECONDS,
        BENCH_RESULTS (README "Performance")."""
        quick = environ.get("BENCH_QUICK", "0").lower() in ("1", "true", "yes")
        sizes = Sizes.quick() if quick else Sizes.full()
        if environ.get("BENCH_SECONDS"):
            try:
                seconds = float(environ["BENCH_SECONDS"])
            except ValueError:
                seconds = 0
            if not 1 <= seconds <= 600:
                raise SystemExit("BENCH_SECONDS must be a number of seconds from 1 to 600")
            sizes = Sizes(**{**sizes.__dict__, "seconds": seconds})
        try:
            runs = int(environ.get("BENCH_RUNS") or (1 if quick else 3))
        except ValueError:
            runs = 0
        if not 1 <= runs <= 15:
            raise SystemExit("BENCH_RUNS must be between 1 and 15")
        databases = tuple(d.strip() for d in (environ.get("BENCH_DATABASES")
                                              or ",".join(DATABASES)).split(",") if d.strip())
        if not databases or set(databases) - set(DATABASES):
            raise SystemExit(f"BENCH_DATABASES must name some of {', '.join(DATABASES)}")
        only = tuple(s.strip() for s in environ.get("BENCH_SCENARIOS", "").split(",")
                     if s.strip())
        known = {scenario.name for scenario in all_scenarios(sizes)}
        if set(only) - known:
            raise SystemExit(f"unknown scenarios {sorted(set(only) - known)}; known: "
                             f"{', '.join(sorted(known))}")
        results = Path(environ.get("BENCH_RESULTS") or report.RESULTS)
        return cls(quick, runs, databases, only, results, sizes)


def selected(settings: Settings) -> list[Scenario]:
    """The scenarios asked for and every baseline they are held against, in running order."""
    scenarios = all_scenarios(settings.sizes)
    if not settings.only:
        return scenarios
    wanted = set(settings.only)
    by_name = {scenario.name: scenario for scenario in scenarios}
    for name in list(wanted):
        while (baseline := by_name[name].baseline) is not None:
            wanted.add(baseline)
            name = baseline
    return [scenario for scenario in scenarios if scenario.name in wanted]


def machine() -> dict[str, Any]:
    cpu = "unknown CPU"
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    kib = next((int(line.split()[1]) for line in meminfo.splitlines()
                if line.startswith("MemTotal:")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(kib / 1024 / 1024, 1),
            "system": platform.platform(), "python": platform.python_version()}


def _summary(scenario: Scenario, measured: list[Measured], loads: list[tuple[float, float]],
             rss: float | None) -> dict[str, Any]:
    """The median run by throughput; p50 and p99 as medians over the runs."""
    rates = [m.load.rate for m in measured]
    middle = measured[sorted(range(len(rates)), key=rates.__getitem__)[len(rates) // 2]]
    p50s = [p for m in measured if (p := m.load.percentile(50)) is not None]
    p99s = [p for m in measured if (p := m.load.percentile(99)) is not None]
    statements, commits = middle.load.sql()
    cpu = [c for m in measured if (c := m.load.cpu_ms_per_unit()) is not None]
    return {
        "name": scenario.name, "title": scenario.title, "unit": scenario.unit,
        "is_baseline": scenario.is_baseline, "baseline": scenario.baseline,
        # None for a scenario that counts and puts no load on (sql_by_lines).
        "throughput": (round(statistics.median(rates), 2)
                       if any(m.load.seconds for m in measured) else None),
        "ratio": None,
        "p50_ms": round(statistics.median(p50s), 2) if p50s else None,
        "p99_ms": round(statistics.median(p99s), 2) if p99s else None,
        "baseline_p99_ms": None, "statements": statements, "commits": commits,
        "cpu_ms": round(statistics.median(cpu), 3) if cpu else None, "cpu_ratio": None,
        "peak_rss_mib": rss, "load_before": loads[0][0], "load_after": loads[-1][1],
        # Every run's answers: a failure in any run shows.
        "statuses": {str(k): v for k, v in sum((m.load.statuses for m in measured),
                                               Counter()).items()},
        "runs": [round(rate, 2) for rate in rates], "extra": middle.extra,
    }


def _ratios(rows: list[dict[str, Any]]) -> None:
    by_name = {row["name"]: row for row in rows}
    for row in rows:
        baseline = by_name.get(row["baseline"] or "")
        if baseline and baseline["throughput"]:
            row["ratio"] = round(row["throughput"] / baseline["throughput"], 3)
            row["baseline_p99_ms"] = baseline["p99_ms"]
        if baseline and baseline["cpu_ms"] and row["cpu_ms"]:
            row["cpu_ratio"] = round(baseline["cpu_ms"] / row["cpu_ms"], 3)


def _warm_up(served, ctx: Context) -> None:
    """Unmeasured: every worker imports its templates and opens its pool before the first
    scenario, so the first one measured does not pay for the start."""
    _, slug = ctx.state["products"][0]
    for base, paths in ((served.shop.base, ["/", f"/products/{slug}", "/cart/"]),
                        (served.baseline.base, ["/page"])):

        async def browse(client: Client, paths=paths) -> None:
            client.count += 1
            await client.get(paths[client.count % len(paths)])

        closed_loop(base, browse, concurrency=16, seconds=2)


# Which split of the connections between the workers a run gets is chance. A worker serving
# all of them spends about twice the CPU a request (its threads contend for one interpreter
# lock; README "Latest results"), so such a run says little about the code.
RERUNS_WHEN_LOPSIDED = 2


def busiest_share(before: dict[int, int], after: dict[int, int]) -> float | None:
    """The largest share one worker had of the workers' CPU between two readings; None when
    there was too little to tell (fewer than two workers, or no CPU used)."""
    used = [after[pid] - before.get(pid, 0) for pid in after]
    if len(used) < 2 or sum(used) <= 0:
        return None
    return max(used) / sum(used)


def _run_shared(scenario: Scenario, ctx: Context, server, log) -> Measured:
    """One run of the scenario, done again (a repeatable one, at most twice more) while one
    worker did more than LOPSIDED_SHARE of the work; the share is kept in the run's notes."""
    reruns = 0
    while True:
        before = server.worker_cpu_ticks()
        result = scenario.run(ctx)
        share = busiest_share(before, server.worker_cpu_ticks())
        lopsided = share is not None and share > LOPSIDED_SHARE
        if not lopsided or not scenario.repeatable or reruns == RERUNS_WHEN_LOPSIDED:
            result.extra.update(busiest_worker_share=share and round(share, 2), reruns=reruns)
            return result
        reruns += 1
        log(f"  {scenario.name}: one worker did {share:.0%} of the work; running it again")


def run_database(kind: str, settings: Settings, folder: Path, log=print) -> dict[str, Any]:
    """Every selected scenario on one database kind, `settings.runs` times each."""
    rows = []
    sink, controller = start_sink()
    try:
        with stack(kind, folder) as served:
            app = shopdata.admin_app(served, controller.port)
            ctx = Context(served, app, settings.sizes, sink, settings.runs)
            ctx.state["products"] = shopdata.plentiful_products(app)
            _warm_up(served, ctx)
            for scenario in selected(settings):
                if scenario.setup is not None:
                    scenario.setup(ctx)
                measured, loads = [], []
                logged = served.shop.log_problems()["tracebacks"]
                server = served.baseline if scenario.is_baseline else served.shop
                bench.load.cpu_meter = server.cpu_seconds
                for _ in range(settings.runs):
                    before = os.getloadavg()[0]
                    opened = (connections_opened(served.dbs.admin, "bench_shop")
                              if served.dbs.admin else None)
                    result = _run_shared(scenario, ctx, server, log)
                    if opened is not None:
                        result.extra["new_connections"] = (
                            connections_opened(served.dbs.admin, "bench_shop") - opened)
                    loads.append((round(before, 2), round(os.getloadavg()[0], 2)))
                    measured.append(result)
                bench.load.cpu_meter = None
                row = _summary(scenario, measured, loads, server.peak_rss_mib())
                # Which scenario's requests failed in the shop (any run, set-up included).
                row["extra"]["shop_tracebacks"] = (
                    served.shop.log_problems()["tracebacks"] - logged)
                rows.append(row)
                rate = "–" if row["throughput"] is None else f"{row['throughput']:.1f}"
                log(f"  {kind:10} {scenario.name:20} {rate:>9} {scenario.unit}"
                    f"  p99 {row['p99_ms'] if row['p99_ms'] is not None else '–'} ms")
            problems = served.shop.log_problems()
    finally:
        controller.stop()
    _ratios(rows)
    return {"scenarios": rows, "log_problems": problems}


def run_bench(settings: Settings, log=print) -> dict[str, Any]:
    """The whole run; returns the report (not yet written)."""
    started = datetime.now(UTC)
    load_start = os.getloadavg()[0]
    halves = {}
    with tempfile.TemporaryDirectory(prefix="checkout-bench.") as scratch:
        for kind in settings.databases:
            log(f"{kind}:")
            halves[kind] = run_database(kind, settings, Path(scratch) / kind, log)
    workers = os.environ.get("GUNICORN_WORKERS") or os.cpu_count()
    threads = os.environ.get("GUNICORN_THREADS") or DEFAULT_WEB_THREADS
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "stem": started.strftime("%Y-%m-%dT%H%MZ"),
        "machine": machine(),
        "settings": {"quick": settings.quick, "runs": settings.runs,
                     "seconds": settings.sizes.seconds, "sizes": settings.sizes.__dict__,
                     "server": f"gunicorn gthread, {workers} workers × {threads} threads, "
                               f"database pool {threads} per worker",
                     "argv": sys.argv[1:]},
        "load_average_start": round(load_start, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "databases": halves,
    }
