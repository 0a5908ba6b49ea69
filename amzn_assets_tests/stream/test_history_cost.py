"""What keeps a category's history cheap (issue 18), checked on small inputs:

- the embedded instance (dagster.yaml) stores a run's per-day events in batches: a stream run over
  N days records ~9 events per day in a number of storage transactions that does not grow with N,
  and what it records is what Dagster's own SQLite storage records one by one;
- the warehouse's parquet files are per month, not per day;
- the stream takes batches of one history together (each day applied once), not a run per batch.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.instance.ref import InstanceRef

from amzn_assets_tests.deployment import resources_for
from amzn_assets.domains.stream.job import stream_job
from amzn_assets.landing.bulk import import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.stream.apply import take_batches
from amzn_assets.wiring.sqlite_instance import BatchingSqliteEventLogStorage
from amzn_assets_tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
PLAIN_SQLITE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


def history(tmp_path: Path, every: int) -> Path:
    """Every `every`-th real review of the All Beauty excerpt: a few hundred days over 2004..2018."""
    lines = gzip.decompress((FIXTURES / "All_Beauty_5.json.gz").read_bytes()).splitlines()[::every]
    dump = tmp_path / f"history-{every}.json.gz"
    dump.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return dump


def instance_at(home: Path, yaml: str, monkeypatch) -> DagsterInstance:
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def stream_run(dirs, tmp_path, monkeypatch, home: str, yaml: str, every: int, calls: Counter):
    dirs.root.mkdir(parents=True, exist_ok=True)
    import_dump(Lander(dirs), str(history(tmp_path, every)), kind="reviews", category="beauty")
    with instance_at(tmp_path / home, yaml, monkeypatch) as instance:
        storage = instance.event_log_storage
        for method in ("store_event", "store_event_batch"):
            original = getattr(storage, method)

            def counted(*args, _original=original, _method=method, **kwargs):
                calls[_method] += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(storage, method, counted)
        result = stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
        assert result.success
        days = sorted(instance.get_materialized_partitions(AssetKey("reviews_fact")))
        checks = {
            (check.name, info.partition_key): info.latest_execution_status.value
            for check in (AssetCheckKey(AssetKey("reviews_fact"), name) for name in ("references_exist", "matches_landed_reviews"))
            for info in instance.event_log_storage.get_asset_check_partition_info([check])
        }
        materialized = {name: instance.get_materialized_partitions(AssetKey(name)) for name in ("landed_reviews", "users", "products", "datetime")}
        return type(storage), days, checks, materialized


@pytest.mark.timeout(600)
def test_per_day_events_are_stored_in_batches_that_do_not_grow_with_the_days(tmp_path, monkeypatch):
    from amzn_assets.data_dirs import DataDirs

    runs = {}
    for every in (40, 10):  # ~130 and ~380 review days
        calls: Counter = Counter()
        dirs = DataDirs(tmp_path / f"data-{every}")
        kind, days, checks, materialized = stream_run(dirs, tmp_path, monkeypatch, f"home-{every}", (REPO / "dagster.yaml").read_text(), every, calls)
        assert kind is BatchingSqliteEventLogStorage
        assert all(set(days) == set(partitions) for partitions in materialized.values())
        assert set(checks.values()) == {"SUCCEEDED"} and len(checks) == 2 * len(days)
        runs[every] = (len(days), calls)
    (few, few_calls), (many, many_calls) = runs[40], runs[10]
    assert many > 2.5 * few > 200
    # ~9 events per day; the stores one by one (run start, steps, logs) do not depend on the days.
    assert many_calls["store_event"] == few_calls["store_event"] < 60
    assert many_calls["store_event_batch"] <= few_calls["store_event_batch"] + 2 < 20


@pytest.mark.timeout(600)
def test_the_batched_instance_records_what_dagsters_sqlite_storage_records(tmp_path, monkeypatch):
    from amzn_assets.data_dirs import DataDirs

    outcomes = []
    for name, yaml in (("batched", (REPO / "dagster.yaml").read_text()), ("plain", PLAIN_SQLITE)):
        kind, days, checks, materialized = stream_run(DataDirs(tmp_path / f"data-{name}"), tmp_path, monkeypatch, f"home-{name}", yaml, 60, Counter())
        assert (kind is BatchingSqliteEventLogStorage) == (name == "batched")
        outcomes.append((days, checks, {k: set(v) for k, v in materialized.items()}))
    assert outcomes[0] == outcomes[1] and outcomes[0][0]


def test_the_stream_applies_batches_of_one_history_together(tmp_path):
    from amzn_assets.data_dirs import DataDirs

    dirs = DataDirs(tmp_path / "data")
    dirs.root.mkdir(parents=True)
    lander = Lander(dirs)
    dump = history(tmp_path, 2)
    lines = gzip.decompress(dump.read_bytes()).splitlines()
    for part in range(4):  # four imports, each spanning the whole history
        piece = tmp_path / f"part-{part}.json.gz"
        piece.write_bytes(gzip.compress(b"\n".join(lines[part::4]) + b"\n"))
        import_dump(lander, str(piece), kind="reviews", category="beauty")
    batches, days = take_batches(lander.ledger, LandedReader(lander.ledger, lander.segments))
    assert len(batches) == 4, "one run applies them all, each day once"
    assert len(days["reviews"]) > 600
