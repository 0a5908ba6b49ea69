"""Benchmark: the monthly analysis assets over a year of history, through the user's own Dagster instance.

    .venv/bin/python benchmarks/analysis_cost.py [--reviews 200000] [--days 365] [--stations 8]
        [--rerun-month 2018-06-01] [--work DIR]

Into a fresh data directory and a fresh on-disk instance made from the repository's dagster.yaml
(SQLite under DAGSTER_HOME, as the Makefile sets it up), local parquet warehouse:
1. generate_sample (amzn_assets.generate, as benchmarks/landing_throughput.py scales it: one review per
   file, products_per_category = reviews / 50, reviewers = reviews / 4) from 2018-01-01 for --days days,
   two categories, --stations reporting stations; `amzn-assets land`;
2. the daily warehouse: `dagster asset materialize --select 'group:reviews or group:climate'
   --partition-range 2018-01-01...LAST` (as `make demo` does; reported, not part of the analysis cost);
3. the analysis: `dagster asset materialize --select 'group:analysis' --partition-range
   2018-01-01...LAST_MONTH` (analysis_months: a month's key is its first day), one run;
4. one month again (--rerun-month), what analysis_automation requests when a day of it is written again.
Each command runs in a child process timed like benchmarks/history_scale.py (wall, Dagster's share,
peak RSS). Prints the step times of each run (STEP_START to STEP_SUCCESS in the run's events), the
events it wrote by type, rows and partitions per table, and the size of each materialization's
metadata (its charts apart) as stored in the event log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_scale import REPO, child, du_mb  # noqa: E402  (the same child process and timers)

ANALYSIS = ("category_trends", "product_popularity", "weather_effect", "weather_correlation")


def dagster(args: list[str], env: dict, log: Path) -> dict:
    try:
        return child(["dagster", *args], env, log)
    except SystemExit:
        print(log.read_text()[-6000:], file=sys.stderr)
        raise


def last_run(home: Path) -> dict:
    """The newest run's status, step times and events by type (from the run's own event log shard)."""
    runs = sqlite3.connect(home / "history" / "runs.db")
    run_id, status = runs.execute("SELECT run_id, status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    shard = sqlite3.connect(home / "history" / "runs" / f"{run_id}.db")
    events = dict(shard.execute("SELECT dagster_event_type, count(*) FROM event_logs WHERE dagster_event_type IS NOT NULL GROUP BY 1"))
    starts, steps = {}, {}
    for step, kind, ts in shard.execute(
        "SELECT step_key, dagster_event_type, timestamp FROM event_logs "
        "WHERE dagster_event_type IN ('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE') ORDER BY id"
    ):
        ts = float(ts) if not isinstance(ts, str) else time.mktime(time.strptime(ts[:19], "%Y-%m-%d %H:%M:%S")) + float("0" + ts[19:])
        if kind == "STEP_START":
            starts[step] = ts
        else:
            steps[step] = round(ts - starts[step], 2)
    stored = shard.execute(
        "SELECT asset_key, length(event) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    ).fetchall()
    return {"run_id": run_id, "status": status, "steps_s": steps, "events": events, "materialization_bytes": stored}


def metadata_sizes(home: Path) -> dict[str, dict]:
    """Per analysis asset: its materializations, the bytes of their chart entries and of all their text metadata."""
    from dagster import AssetKey, DagsterInstance
    from dagster._core.definitions.metadata import MarkdownMetadataValue

    os.environ["DAGSTER_HOME"] = str(home)
    sizes = {}
    with DagsterInstance.get() as instance:
        for name in ANALYSIS:
            records = instance.fetch_materializations(AssetKey(name), limit=10_000).records
            charts, texts = [], []
            for record in records:
                meta = record.asset_materialization.metadata
                charts.append(sum(len(v.md_str.encode()) for k, v in meta.items() if k.endswith("_chart") and isinstance(v, MarkdownMetadataValue)))
                texts.append(sum(len((v.md_str if isinstance(v, MarkdownMetadataValue) else json.dumps(v.value, default=str)).encode()) for v in meta.values()))
            sizes[name] = {
                "materializations": len(records),
                "chart_bytes_mean": round(sum(charts) / max(len(charts), 1)), "chart_bytes_max": max(charts, default=0),
                "metadata_bytes_mean": round(sum(texts) / max(len(texts), 1)),
            }
    return sizes


def chart_seconds(warehouse: Path) -> dict[str, float]:
    """Drawing each asset's charts again from the rows it wrote (seconds for all its months): the share of
    the steps' time that is matplotlib, not reading or computing. matplotlib's import is timed apart."""
    import pyarrow.compute as pc

    from amzn_assets.analysis import charts
    from amzn_assets.backends.local.query import connect

    started = time.perf_counter()
    import matplotlib.figure  # noqa: F401

    spent = {"import matplotlib": time.perf_counter() - started}
    conn = connect(warehouse)
    for table, draw in (("category_trends", charts.volume_chart), ("product_popularity", charts.top_products_chart),
                        ("weather_effect", charts.weather_chart)):
        rows = conn.sql(f"SELECT * FROM {table}").to_arrow_table()
        started = time.perf_counter()
        for month in sorted(set(rows["month"].to_pylist())):
            draw(rows.filter(pc.equal(rows["month"], month)), month.isoformat()[:7])
        spent[table] = time.perf_counter() - started
    conn.close()
    return {k: round(v, 2) for k, v in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--stations", type=int, default=8)
    parser.add_argument("--rerun-month", default="2018-06-01", help="the month run again at the end ('' : none)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "amzn-analysis-cost")
    args = parser.parse_args()

    from amzn_assets.backends.local.query import table_counts
    from amzn_assets.generate import generate_sample

    start = date(2018, 1, 1)
    last = start + timedelta(days=args.days - 1)
    last_month = last.replace(day=1)
    home, data = args.work / "home", args.work / "data"
    shutil.rmtree(args.work, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ, DAGSTER_HOME=str(home), AMZN_DATA_DIR=str(data), PYTHONWARNINGS="ignore")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}; "
          f"{args.reviews:,} reviews over {args.days} days from {start}, 2 categories, {args.stations} stations", flush=True)

    t0 = time.perf_counter()
    sample = generate_sample(data, seed=1, start=start, days=args.days, reviews=args.reviews, stations=args.stations,
                             products_per_category=max(60, args.reviews // 50), reviewers=max(800, args.reviews // 4))
    print(f"generated {sample.review_files:,} review files, {sample.products:,} products, {sample.reporting_stations} "
          f"reporting stations ({sample.climate_rows:,} climate rows) in {time.perf_counter() - t0:.1f} s", flush=True)
    landed = child(["amzn-assets", "land"], env, args.work / "land.log")
    print(f"land: {landed['seconds']:.1f} s ({(args.work / 'land.log').read_text().splitlines()[0]})", flush=True)

    results = {}
    days = f"{start}...{last}"
    daily = dagster(["asset", "materialize", "-m", "amzn_assets", "--select", "group:reviews or group:climate", "--partition-range", days],
                    env, args.work / "daily.log")
    results["daily"] = daily | last_run(home)
    instance_before = du_mb(home)
    print(f"daily warehouse ({days}, {args.days} days): {daily['seconds']:.1f} s, {daily['seconds'] / args.days * 1000:.0f} ms per day, "
          f"Dagster {daily['dagster_s']:.1f} s, peak RSS {daily['peak_rss_mb']:.0f} MB; steps {results['daily']['steps_s']}", flush=True)

    months = f"{start}...{last_month}"
    analysis = dagster(["asset", "materialize", "-m", "amzn_assets", "--select", "group:analysis", "--partition-range", months],
                       env, args.work / "analysis.log")
    run = last_run(home)
    results["analysis"] = analysis | run
    n_months = (last_month.year - start.year) * 12 + last_month.month - start.month + 1
    print(f"analysis ({months}, {n_months} months): {analysis['seconds']:.1f} s, {analysis['seconds'] / n_months:.2f} s per month, "
          f"Dagster {analysis['dagster_s']:.1f} s, peak RSS {analysis['peak_rss_mb']:.0f} MB, run {run['status']}", flush=True)
    print(f"  steps (s): {run['steps_s']}")
    print(f"  events: {sum(run['events'].values())} {dict(sorted(run['events'].items()))}")
    stored = [n for _, n in run["materialization_bytes"]]
    print(f"  materialization events as stored: {len(stored)}, {sum(stored) / max(len(stored), 1) / 1000:.1f} kB each on average "
          f"(max {max(stored, default=0) / 1000:.1f} kB); instance grew {du_mb(home) - instance_before:.1f} MB", flush=True)
    sizes = metadata_sizes(home)
    for name, size in sizes.items():
        print(f"  {name}: {size['materializations']} materializations, chart {size['chart_bytes_mean'] / 1000:.1f} kB "
              f"(max {size['chart_bytes_max'] / 1000:.1f} kB), all metadata {size['metadata_bytes_mean'] / 1000:.1f} kB per materialization")
    results["metadata"] = sizes
    results["charts_s"] = chart_seconds(data / "warehouse")
    print(f"  the same charts drawn again from the written rows (s, all months): {results['charts_s']}", flush=True)

    if args.rerun_month:
        rerun = dagster(["asset", "materialize", "-m", "amzn_assets", "--select", "group:analysis", "--partition", args.rerun_month],
                        env, args.work / "rerun.log")
        results["rerun"] = rerun | last_run(home)
        print(f"one month again ({args.rerun_month}): {rerun['seconds']:.1f} s, Dagster {rerun['dagster_s']:.1f} s; "
              f"steps (s) {results['rerun']['steps_s']}", flush=True)

    counts = table_counts(data / "warehouse")
    results["tables"] = counts
    print("rows (partitions) per table: " + ", ".join(f"{t} {r:,} ({p})" for t, (r, p) in counts.items()))
    print(f"warehouse {du_mb(data / 'warehouse'):.1f} MB (analysis tables "
          f"{sum(du_mb(data / 'warehouse' / t) for t in ANALYSIS):.2f} MB); instance {du_mb(home):.1f} MB")
    for what in results.values():
        if isinstance(what, dict):
            what.pop("materialization_bytes", None)
    (args.work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"load at the end {os.getloadavg()[0]:.2f}; work dir {args.work} (results.json, *.log)")


if __name__ == "__main__":
    main()
