"""The bench's report: JSON (everything), Markdown (the table) and an SVG chart, written as
bench/results/<date>.{json,md,svg} and copied to latest.{json,md,svg}."""

import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
# Text stays text in the SVG: smaller, and searchable.
matplotlib.rcParams["svg.fonttype"] = "none"
import matplotlib.pyplot as plt  # noqa: E402

from bench.servers import LOPSIDED_SHARE  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# Every scenario entry of the JSON report carries these keys (the smoke test holds it to that).
SCENARIO_KEYS = (
    "name", "title", "unit", "is_baseline", "baseline", "throughput", "ratio", "p50_ms",
    "p99_ms", "baseline_p99_ms", "statements", "commits", "cpu_ms", "cpu_ratio",
    "peak_rss_mib", "load_before", "load_after", "statuses", "runs", "extra",
)


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: one table per database kind."""
    machine, settings = report["machine"], report["settings"]
    quick = " (BENCH_QUICK: cut-down sizes, not comparable)" if settings["quick"] else ""
    lines = [
        f"# checkout bench, {report['date']}",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['system']}; Python {machine['python']}. Server: `make serve` "
        f"({settings['server']}); the baseline under the same settings. "
        f"Median of {settings['runs']} run(s) of {settings['seconds']:g} s{quick}. "
        f"Load average at start {report['load_average_start']:.2f}, at end "
        f"{report['load_average_end']:.2f}.",
        "",
        "Ratio: the scenario's throughput over its baseline's in the same run. SQL: the shop's "
        "statements / commits for the scenario's request (X-SQL-Statements, X-SQL-Commits; "
        "the payment sandbox not counted). CPU ms: the server's CPU time (every gunicorn "
        "process, user and system; not the database server's) per unit of work while the "
        "load ran, and its ratio: the baseline's CPU per unit over the scenario's, the "
        "throughput ratio a machine with nothing else to do would give. RSS: the largest "
        "peak resident size of a gunicorn worker so far. Load: the 1-minute load average "
        "before → after.",
    ]
    for kind, half in report["databases"].items():
        lines += ["", f"## {kind}", "",
                  "| scenario | throughput | ratio | against | p50 ms | p99 ms | SQL | CPU ms "
                  "| CPU ratio | RSS MiB | load | notes |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in half["scenarios"]:
            sql = ("–" if row["statements"] is None
                   else f"{row['statements']:g} / {row['commits']:g}")
            against = row["baseline"] or ""
            lines.append(
                f"| {row['title']} | {_number(row['throughput'], 1)} {row['unit']} "
                f"| {_number(row['ratio'], 2)}{'×' if row['ratio'] is not None else ''} "
                f"| {against} | {_number(row['p50_ms'], 1)} | {_number(row['p99_ms'], 1)} "
                f"| {sql} | {_number(row['cpu_ms'], 2)} "
                f"| {_number(row['cpu_ratio'], 2)}{'×' if row['cpu_ratio'] is not None else ''} "
                f"| {_number(row['peak_rss_mib'], 0)} "
                f"| {row['load_before']:.2f} → {row['load_after']:.2f} | {_notes(row)} |")
        problems = half.get("log_problems", {})
        lines += ["", f"Server logs: {problems.get('tracebacks', 0)} tracebacks, "
                      f"{problems.get('database_locked', 0)} \"database is locked\"."]
        lines += [f"- `{error}`" for error in problems.get("errors", [])]
    return "\n".join(lines) + "\n"


def _notes(row: dict[str, Any]) -> str:
    extra, notes = row["extra"], []
    if "oversell" in extra:
        notes.append(f"oversell {extra['oversell']}, {extra['orders']} orders for "
                     f"{extra['units']} units, {extra['refused']} refused")
    if "product_p50_ms" in extra:
        notes.append(f"product pages beside: p50 {_number(extra['product_p50_ms'], 1)} ms, "
                     f"p99 {_number(extra['product_p99_ms'], 1)} ms, "
                     f"{_number(extra['product_rate'], 0)} req/s")
    if "new_connections" in extra:
        notes.append(f"{extra['new_connections']} new PostgreSQL connections")
    if "outcomes" in extra:
        notes.append(", ".join(f"{k} {v}" for k, v in sorted(extra["outcomes"].items())))
    if "orders" in extra and "oversell" not in extra:
        notes.append(f"{extra['orders']:,} orders in the shop")
    if "by_lines" in extra:
        sizes = list(extra["by_lines"])
        for request in ("cart", "checkout_post", "webhook", "order_page"):
            figures = [extra["by_lines"][size][request] for size in sizes]
            notes.append(f"{request.replace('_', ' ')}: "
                         + " / ".join(f"{s}" for s, _ in figures) + " statements, "
                         + " / ".join(f"{c}" for _, c in figures) + " commits")
        notes[-4] = f"{' / '.join(sizes)} lines: " + notes[-4]
    if extra.get("reruns"):
        notes.append(f"run again {extra['reruns']}× (one worker had most connections)")
    if (extra.get("busiest_worker_share") or 0) > LOPSIDED_SHARE:
        notes.append(f"one worker did {extra['busiest_worker_share']:.0%} of the work")
    if extra.get("shop_tracebacks"):
        notes.append(f"{extra['shop_tracebacks']} tracebacks in the shop's log")
    if "sandbox_cpu_ms" in extra:
        notes.append(f"CPU is the SDK's side (the bench process); the sandbox's: "
                     f"{_number(extra['sandbox_cpu_ms'], 2)} ms each")
    if extra.get("errors"):
        notes.append("failed: " + "; ".join(f"{said} ({count}×)"
                                             for said, count in extra["errors"].items()))
    if "page_bytes" in extra:
        notes.append(f"{extra['page_bytes']:,} bytes")
    bad = {k: v for k, v in row["statuses"].items() if not str(k).startswith(("2", "3"))
           and k != "2xx/3xx" and not (k == "409" and "refused" in extra)}
    if bad:
        notes.append("answers " + ", ".join(f"{k}: {v}" for k, v in bad.items()))
    return "; ".join(notes)


def chart(report: dict[str, Any], path: Path) -> None:
    """Throughput ratio and p99 (shop vs its baseline) per scenario, one row per database."""
    kinds = list(report["databases"])
    figure, axes = plt.subplots(len(kinds), 2, figsize=(14, 1.2 + 0.45 * _rows(report)
                                                        * len(kinds)), squeeze=False)
    for row_axes, kind in zip(axes, kinds, strict=True):
        rows = [r for r in report["databases"][kind]["scenarios"]
                if not r["is_baseline"] and r["ratio"] is not None]
        names = [r["title"] for r in rows]
        ratio_axis, p99_axis = row_axes
        ratio_axis.barh(names, [r["ratio"] for r in rows], color="#4a7bb7")
        ratio_axis.axvline(1.0, color="#888", linewidth=0.8)
        ratio_axis.set_title(f"{kind}: throughput ÷ its baseline's")
        ratio_axis.invert_yaxis()
        positions = range(len(rows))
        p99_axis.barh([p - 0.2 for p in positions], [r["p99_ms"] or 0 for r in rows],
                      height=0.4, color="#d9822b", label="scenario p99")
        p99_axis.barh([p + 0.2 for p in positions], [r["baseline_p99_ms"] or 0 for r in rows],
                      height=0.4, color="#aaa", label="baseline p99")
        p99_axis.set_yticks(list(positions), [""] * len(rows))
        p99_axis.invert_yaxis()
        p99_axis.set_xscale("symlog", linthresh=10)
        p99_axis.set_title(f"{kind}: p99 latency, ms")
        p99_axis.legend(loc="lower right", fontsize="small")
    figure.suptitle(f"checkout bench, {report['date']}")
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def _rows(report: dict[str, Any]) -> int:
    return max((len(half["scenarios"]) for half in report["databases"].values()), default=1)


def write(report: dict[str, Any], folder: Path = RESULTS) -> dict[str, Path]:
    """Write the three files under `folder`, dated, and as latest.*; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = report["stem"]
    paths = {"json": folder / f"{stem}.json", "md": folder / f"{stem}.md",
             "svg": folder / f"{stem}.svg"}
    paths["json"].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    paths["md"].write_text(markdown(report))
    chart(report, paths["svg"])
    for kind, path in paths.items():
        shutil.copyfile(path, folder / f"latest.{kind}")
    return paths
