"""`amzn-assets import --materialize`: a dump spanning years, then exactly its days with data."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance
from dagster._core.instance.ref import InstanceRef

from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.conftest import FIXTURES
from amzn_assets_tests.webserver import env_for

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.timeout(300)
def test_import_materialize_writes_exactly_the_days_with_data(dirs, tmp_path, monkeypatch):
    lines = gzip.decompress((FIXTURES / "All_Beauty_5.json.gz").read_bytes()).splitlines()[::25]  # 2004..2018
    days = {datetime.fromtimestamp(json.loads(line)["unixReviewTime"], UTC).date().isoformat() for line in lines}
    dump = tmp_path / "slice.json.gz"
    dump.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    home = tmp_path / "home"
    env = env_for(dirs, home)

    done = subprocess.run(
        [str(BIN / "amzn-assets"), "import", str(dump), "--category", "beauty", "--materialize"],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "partition materializations" in done.stdout

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    span = (datetime.fromisoformat(max(days)) - datetime.fromisoformat(min(days))).days + 1
    assert span > 10 * len(days)  # years of days, few of them with reviews
    for asset in ("landed_reviews", "users", "products", "datetime", "reviews_fact"):
        assert set(instance.get_materialized_partitions(AssetKey(asset))) == days, asset
    stored = run_query(dirs.warehouse, "SELECT count(DISTINCT CAST(review_date AS VARCHAR)) FROM reviews_fact").rows[0][0]
    assert stored == len(days)
    # Only the months with data have a file, not a file per day (or month) of the span.
    assert {p.stem for p in (dirs.warehouse / "reviews_fact").glob("*.parquet")} == {d[:7] for d in days}
