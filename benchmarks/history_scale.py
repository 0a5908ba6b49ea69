"""Benchmark: a category's whole history through the user's own Dagster instance.

    .venv/bin/python benchmarks/history_scale.py --reviews 1000000 [--entry import|backfill|both]
        [--instance sqlite|postgres] [--backend local|postgres] [--dump PATH] [--work DIR]

Makes (or reuses) a review dump of --reviews lines spread over ~13 years (benchmarks/make_review_dump.py:
4,770 days at 1M), then, from a fresh data directory and a fresh instance for each entry point:
- import: `amzn-assets import DUMP --materialize` (the stream job in the CLI's process);
- backfill: `amzn-assets import DUMP`, then `dagster asset materialize --select '*reviews_fact'
  --partition-range FIRST...LAST` (what the UI launches as a single-run backfill).
The instance is the Makefile's (dagster.yaml: SQLite under DAGSTER_HOME) or docker/dagster.yaml's
(PostgreSQL; here a throwaway pgserver). Each command runs in a child process that times Dagster's
own event handling (creating, logging and storing events: "Dagster's share"). Prints per entry:
reviews/s end to end, the import and the run, Dagster ms per day, events per day by type, the
instance's and the warehouse's size, and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHILD_CODE = r"""
import json, os, resource, sys, threading, time
from dagster._core.instance import DagsterInstance
from dagster._core.log_manager import DagsterLogManager
spent, depth = [0.0], threading.local()
def timed(original):
    def wrapper(*args, **kwargs):
        outer = not getattr(depth, "n", 0)
        depth.n = getattr(depth, "n", 0) + 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            depth.n -= 1
            if outer:
                spent[0] += time.perf_counter() - started
    return wrapper
DagsterLogManager.log_dagster_event = timed(DagsterLogManager.log_dagster_event)
DagsterInstance.handle_new_event = timed(DagsterInstance.handle_new_event)
started = time.perf_counter()
code = 0
try:
    if sys.argv[1] == "amzn-assets":
        from amzn_assets.cli import main
        code = main(sys.argv[2:])
    else:
        from dagster._cli import main as dagster_main
        sys.argv = ["dagster", *sys.argv[2:]]
        try:
            dagster_main()
        except SystemExit as exc:
            code = exc.code or 0
finally:
    with open(os.environ["BENCH_RESULT"], "w") as out:
        json.dump({"seconds": time.perf_counter() - started, "dagster_s": spent[0], "code": code,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, out)
"""


def child(args: list[str], env: dict, log: Path) -> dict:
    result = log.with_suffix(".json")
    env = env | {"BENCH_RESULT": str(result)}
    with open(log, "w") as out:
        proc = subprocess.run([sys.executable, "-c", CHILD_CODE, *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    stats = json.loads(result.read_text())
    if proc.returncode or stats["code"]:
        sys.exit(f"{' '.join(args[:3])} failed (exit {proc.returncode}); see {log}")
    return stats


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def instance_yaml(kind: str, pg_url: str | None) -> str:
    base = (REPO / "dagster.yaml").read_text()
    if kind == "sqlite":
        return base
    # docker/dagster.yaml's storage (dagster-postgres), pointed at the throwaway server.
    head, _, rest = base.partition("\nstorage:\n")
    rest = rest.split("\n\n", 1)[1]
    return head + f"\nstorage:\n  postgres:\n    postgres_url: \"{pg_url}\"\n\n" + rest


def events_by_type(home: Path, kind: str, pg_url: str | None) -> dict[str, int]:
    import sqlalchemy

    url = f"sqlite:///{home / 'history' / 'runs' / 'index.db'}" if kind == "sqlite" else pg_url
    query = "SELECT dagster_event_type, count(*) FROM event_logs WHERE dagster_event_type IS NOT NULL GROUP BY 1"
    with sqlalchemy.create_engine(url).connect() as conn:
        counts = dict(conn.execute(sqlalchemy.text(query)).fetchall())
    if kind == "sqlite":  # the index shard mirrors asset, check and run events; count steps' too
        planned = counts.get("ASSET_MATERIALIZATION_PLANNED", 0)
        counts = {k: v for k, v in counts.items() if k.startswith(("ASSET", "PIPELINE", "RUN"))} | {"ASSET_MATERIALIZATION_PLANNED": planned}
    return {k: v for k, v in counts.items() if v}


def pg_size_mb(url: str, what: str) -> float:
    import sqlalchemy

    with sqlalchemy.create_engine(url).connect() as conn:
        return float(conn.execute(sqlalchemy.text(what)).scalar() or 0) / 1e6


def run_entry(entry: str, dump: Path, reviews: int, work: Path, args, server) -> dict:
    home, data = work / f"{entry}-home", work / f"{entry}-data"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    home.mkdir(parents=True)
    pg_url = None
    env = dict(os.environ, DAGSTER_HOME=str(home), AMZN_DATA_DIR=str(data), PYTHONWARNINGS="ignore")
    if server is not None:
        import sqlalchemy

        db = f"bench_{entry}_{int(time.time())}"
        admin = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
        with sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{db}"'))
        pg_url = server.get_uri(db).replace("postgresql://", "postgresql+psycopg2://", 1)
        if args.instance == "postgres":  # as docker/docker-compose.yml sets it for that instance
            env.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
        if args.backend == "postgres":
            env |= {"AMZN_BACKEND": "postgres", "AMZN_POSTGRES_URL": server.get_uri(db)}
    (home / "dagster.yaml").write_text(instance_yaml(args.instance, pg_url))
    started = time.perf_counter()
    if entry == "import":
        stats = child(["amzn-assets", "import", str(dump), "--category", "bench", "--materialize"], env, work / f"{entry}.log")
        log = (work / f"{entry}.log").read_text()
        import_s = float(log.split(" rows/s)")[0].rsplit(" in ", 1)[1].split("s (")[0])
        run_s, dagster_s, peak = stats["seconds"] - import_s, stats["dagster_s"], stats["peak_rss_mb"]
    else:
        imported = child(["amzn-assets", "import", str(dump), "--category", "bench"], env, work / f"{entry}-import.log")
        log = (work / f"{entry}-import.log").read_text()
        span = log.split("--partition-range ")[1].split()[0]
        import_s = imported["seconds"]
        stats = child(["dagster", "asset", "materialize", "-m", "amzn_assets", "--select", "*reviews_fact", "--partition-range", span],
                      env, work / f"{entry}.log")
        run_s, dagster_s, peak = stats["seconds"], stats["dagster_s"], max(stats["peak_rss_mb"], imported["peak_rss_mb"])
    total = time.perf_counter() - started
    days = int(log.split(" days)")[0].rsplit("(", 1)[1])  # the import's line: FIRST..LAST (N days)
    events = events_by_type(home, args.instance, pg_url)
    instance_mb = du_mb(home) if args.instance == "sqlite" else pg_size_mb(pg_url, "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
    warehouse_mb = du_mb(data / "warehouse") if args.backend == "local" else pg_size_mb(pg_url, "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')")
    return {
        "entry": entry, "reviews": reviews, "days": days, "total_s": round(total, 1), "import_s": round(import_s, 1),
        "run_s": round(run_s, 1), "reviews_per_s": round(reviews / total), "dagster_s": round(dagster_s, 1),
        "dagster_ms_per_day": round(dagster_s / days * 1000, 2), "events": events,
        "events_per_day": round(sum(events.values()) / days, 2), "instance_mb": round(instance_mb, 1),
        "warehouse_mb": round(warehouse_mb, 1), "landed_mb": round(du_mb(data / "landed"), 1), "peak_rss_mb": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--dump", type=Path, help="an existing dump (default: made once under --work)")
    parser.add_argument("--entry", choices=["import", "backfill", "both"], default="both")
    parser.add_argument("--instance", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--backend", choices=["local", "postgres"], default="local")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "amzn-history-scale")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    dump = args.dump or args.work / f"dump-{args.reviews}.json.gz"
    if not dump.exists():
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_review_dump.py"), str(dump), "--lines", str(args.reviews)], check=True)
    server = None
    if "postgres" in (args.instance, args.backend):
        import pgserver

        server = pgserver.get_server(args.work / "pg", cleanup_mode="delete")
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.2f}; "
          f"instance {args.instance}, backend {args.backend}, {args.reviews:,} reviews")
    for entry in (["import", "backfill"] if args.entry == "both" else [args.entry]):
        result = run_entry(entry, dump, args.reviews, args.work, args, server)
        print(json.dumps(result))
        print(f"{entry}: {result['total_s']} s in all ({result['reviews_per_s']:,} reviews/s; import {result['import_s']} s, "
              f"run {result['run_s']} s) over {result['days']:,} days; Dagster {result['dagster_ms_per_day']} ms/day, "
              f"{result['events_per_day']} events/day; instance {result['instance_mb']} MB, warehouse {result['warehouse_mb']} MB; "
              f"peak RSS {result['peak_rss_mb']} MB", flush=True)
    print(f"load at the end {os.getloadavg()[0]:.2f}; work dir {args.work}")


if __name__ == "__main__":
    main()
