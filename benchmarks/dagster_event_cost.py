"""Benchmark: what Dagster's bookkeeping costs per partition, the number the stream design rests on.

    .venv/bin/python benchmarks/dagster_event_cost.py [--days 365] [--instance repo|plain]

On a fresh on-disk SQLite instance, times (a) one run materializing five no-op daily assets over a
--days range (a single-run backfill: planned + materialization events for every day of the range)
and (b) one op reporting the same 5 x --days materializations (what stream_job records for exactly
the days it wrote): with --instance repo, the repository's dagster.yaml (events stored in batches,
amzn_assets/wiring/sqlite_instance.py; the op records them with wiring.events.log_batch); with
--instance plain, Dagster's own SQLite storage and one context.log_event per materialization.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--instance", choices=["repo", "plain"], default="repo")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="amzn-dagster-cost-"))
    repo_yaml = (Path(__file__).resolve().parents[1] / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(repo_yaml if args.instance == "repo" else "telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)

    import logging

    from dagster import (
        AssetKey, AssetMaterialization, BackfillPolicy, DagsterInstance, DailyPartitionsDefinition, asset,
        in_process_executor, job, materialize, op,
    )

    logging.getLogger("dagster").setLevel(logging.WARNING)
    daily = DailyPartitionsDefinition("2000-01-01")
    common = dict(partitions_def=daily, backfill_policy=BackfillPolicy.single_run())
    names = ["a1", "a2", "a3", "a4", "a5"]

    def no_op(name: str, upstream: list):
        @asset(name=name, deps=upstream, **common)
        def _asset() -> None:
            return None

        return _asset

    assets = []
    for name in names:
        assets.append(no_op(name, assets[-1:]))
    days = daily.get_partition_keys()[: args.days]

    @op
    def report(context):
        events = [AssetMaterialization(AssetKey(name), partition=day) for name in names for day in days]
        if args.instance == "repo":
            from amzn_assets.wiring.events import log_batch

            log_batch(context, events)
        else:
            for event in events:
                context.log_event(event)

    @job(executor_def=in_process_executor)
    def reporting():
        report()

    with DagsterInstance.get() as instance:
        started = time.perf_counter()
        materialize(assets, instance=instance, tags={"dagster/asset_partition_range_start": days[0],
                                                     "dagster/asset_partition_range_end": days[-1]})
        ranged = time.perf_counter() - started
        started = time.perf_counter()
        reporting.execute_in_process(instance=instance)
        reported = time.perf_counter() - started
    events = len(names) * len(days)
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load[0]:.2f}; instance {args.instance}")
    print(f"(a) 5 assets x {len(days)} days in one range run: {ranged:.1f} s ({ranged / events * 1000:.1f} ms per asset-day)")
    print(f"(b) {events} reported materializations from one op: {reported:.1f} s ({reported / events * 1000:.1f} ms each)")


if __name__ == "__main__":
    main()
