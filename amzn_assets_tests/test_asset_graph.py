"""The asset graph as data: a change to an asset, check, partitioning or storage contract is a
visible diff of amzn_assets_tests/snapshots/asset_graph.json in review.

After an intended change: AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/test_asset_graph.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from amzn_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
STORAGE_KEYS = ("partition_column", "primary_key", "write_mode")


def describe_partitions(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    kind = type(partitions_def).__name__
    start = getattr(partitions_def, "start", None)
    schedule = getattr(partitions_def, "cron_schedule", None)
    return f"{kind}(start={start:%Y-%m-%d}, cron={schedule!r})" if start is not None else kind


def graph_as_data() -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for node in sorted(graph.asset_nodes, key=lambda n: n.key.to_user_string()):
        metadata = node.metadata
        schema = metadata.get("dagster/column_schema")
        assets[node.key.to_user_string()] = {
            "group": node.group_name,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": describe_partitions(node.partitions_def),
            "io_manager": node.io_manager_key,
            "storage": {k: metadata[k] for k in STORAGE_KEYS if k in metadata},
            "columns": [f"{c.name} {c.type}" for c in schema.columns] if schema else None,
            "checks": sorted(k.name for k in node.check_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "has_description": bool(node.description),
        }
    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "jobs": sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__")),
        "sensors": sorted(s.name for s in repository.sensor_defs),
    }


def test_the_asset_graph_matches_its_snapshot():
    current = json.dumps(graph_as_data(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("AMZN_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), f"no snapshot yet: run with AMZN_UPDATE_SNAPSHOTS=1 to write {SNAPSHOT}"
    assert current == SNAPSHOT.read_text(), (
        "the asset graph changed: review the difference, then AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/test_asset_graph.py"
    )


def test_every_asset_is_described_grouped_and_owned():
    for key, asset in graph_as_data()["assets"].items():
        assert asset["has_description"], f"{key} has no description"
        assert asset["group"] != "default", f"{key} is in no group"
        assert asset["owners"], f"{key} has no owner"
        if asset["io_manager"] in ("io_manager", "staging_io_manager"):
            assert set(asset["storage"]) == set(STORAGE_KEYS), f"{key} lacks the storage contract metadata"
            assert asset["columns"], f"{key} has no column schema"
