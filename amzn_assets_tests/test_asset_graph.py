"""The asset graph as data: a change to an asset, check, partitioning or storage contract, an automation
condition, freshness or retry policy, pool or catalog metadata is a visible diff of
amzn_assets_tests/snapshots/asset_graph.json in review.

After an intended change: AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/test_asset_graph.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from amzn_assets.definitions import defs
from amzn_assets.settings import Settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
STORAGE_KEYS = ("partition_column", "primary_key", "write_mode")


def describe_partitions(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    kind = type(partitions_def).__name__
    start = getattr(partitions_def, "start", None)
    schedule = getattr(partitions_def, "cron_schedule", None)
    return f"{kind}(start={start:%Y-%m-%d}, cron={schedule!r})" if start is not None else kind


def describe_freshness(policy) -> str | None:
    if policy is None:
        return None
    warn = policy.warn_window.to_timedelta() if policy.warn_window else None
    return f"{type(policy).__name__}(fail={policy.fail_window.to_timedelta()}, warn={warn})"


def describe_retry(assets_def) -> str | None:
    policy = assets_def.op.retry_policy if assets_def.is_executable else None
    return None if policy is None else f"max_retries={policy.max_retries} delay={policy.delay} {policy.backoff} {policy.jitter}"


def catalog(metadata) -> dict:
    """dagster/table_name and dagster/uri, the data directory written as $AMZN_DATA_DIR; the code reference
    relative to the repository."""
    data_dir = Settings.from_env().data_dir.as_uri()  # the settings defs() built the graph with
    out = {k: str(getattr(metadata[k], "value", metadata[k])).replace(data_dir, "$AMZN_DATA_DIR") for k in ("dagster/table_name", "dagster/uri") if k in metadata}
    refs = metadata.get("dagster/code_references")
    if refs:
        out["code"] = [Path(r.file_path).relative_to(Path(__file__).parents[1]).as_posix() for r in refs.code_references]
    return out


def graph_as_data() -> dict:
    built = defs()
    graph = built.resolve_asset_graph()
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
            "columns": [f"{c.name} {c.type}: {c.description}" for c in schema.columns] if schema else None,
            "checks": sorted(k.name for k in node.check_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "has_description": bool(node.description),
            "executable": node.is_executable,
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
            "freshness": describe_freshness(node.freshness_policy),
            "pools": sorted(node.pools or ()),
            "retry": describe_retry(node.assets_def),
            "catalog": catalog(metadata),
        }
    repository = built.get_repository_def()
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
        if asset["io_manager"] in ("io_manager", "staging_io_manager") and asset["executable"]:
            assert set(asset["storage"]) == set(STORAGE_KEYS), f"{key} lacks the storage contract metadata"
            assert asset["columns"], f"{key} has no column schema"
            assert all(not c.endswith(": None") for c in asset["columns"]), f"{key} has a column without a description"
            assert "dagster/uri" in asset["catalog"] or "dagster/table_name" in asset["catalog"], f"{key} says not where it lives"
            assert asset["kinds"], f"{key} has no kind"


def test_the_upload_area_starts_the_lineage_and_only_warehouse_writers_share_the_pool():
    assets = graph_as_data()["assets"]
    assert assets["upload_area"]["retry"] is None and assets["upload_area"]["catalog"]["dagster/uri"].endswith("/uploaded/")
    assert {k for k, a in assets.items() if "upload_area" in a["upstream"]} == {"landed_reviews", "landed_climate"}
    writers = {k for k, a in assets.items() if a["pools"] == ["amzn_warehouse"]}
    analysis = {"product_popularity", "category_trends", "weather_effect", "weather_correlation"}
    assert writers == {"users", "products", "datetime", "reviews_fact", "stations", "climate", "station_list", "product_catalog"} | analysis
    assert assets["rating_predictions"]["automation"] == "predictions_follow_the_data"
    assert {k for k, a in assets.items() if a["automation"] == "analysis_follows_the_data"} == analysis
