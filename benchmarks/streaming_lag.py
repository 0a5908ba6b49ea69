"""Benchmark: end-to-end lag from upload to reviews_fact under a real dagster-daemon.

    .venv/bin/python benchmarks/streaming_lag.py [--rounds 3] [--files 100] [--interval 5]

Each round generates `--files` one-review files for a new day, uploads them at once and waits
until every one is in reviews_fact; the lag is measured from the end of the upload. The daemon
runs with AMZN_SENSOR_INTERVAL_S=--interval (the default deployment uses 30 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--interval", type=int, default=5)
    args = parser.parse_args()

    from amzn_assets.generate import generate_sample
    from amzn_assets.data_dirs import DataDirs
    from amzn_assets.upload_simulator.upload import upload_files
    from amzn_assets.backends.local.query import run_query

    work = Path(tempfile.mkdtemp(prefix="amzn-lag-"))
    dirs = DataDirs(work / "data")
    home = work / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "AMZN_DATA_DIR": str(dirs.root),
           "AMZN_SENSOR_INTERVAL_S": str(args.interval), "AMZN_SENSORS_RUNNING": "1"}
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)

    def in_fact() -> int:
        try:
            return run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0]
        except Exception:  # noqa: BLE001 - nothing materialized yet
            return 0

    lags = []
    try:
        time.sleep(5)  # let the daemon load the code location
        for round_ in range(args.rounds):
            staging = work / f"gen{round_}"
            generate_sample(staging, seed=100 + round_, start=date(2019, 1, 1) + timedelta(days=round_), days=1,
                            reviews=args.files, categories=("lag",), stations=1)
            source = work / "split"
            shutil.copytree(staging / "uploaded" / "reviews", source, dirs_exist_ok=True)
            expected = in_fact() + args.files
            upload_files(["lag"], source_dir=source, target=dirs.uploaded, progress=False)
            uploaded = time.monotonic()
            while in_fact() < expected:
                if time.monotonic() - uploaded > 300:
                    raise SystemExit("timed out after 300 s")
                time.sleep(0.25)
            lags.append(time.monotonic() - uploaded)
            print(f"round {round_ + 1}: {args.files} reviews in reviews_fact {lags[-1]:.1f} s after the upload")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"sensor interval {args.interval} s: lag median {statistics.median(lags):.1f} s, max {max(lags):.1f} s")


if __name__ == "__main__":
    main()
