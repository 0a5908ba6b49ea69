"""The user's entry points: the dagster CLI, the webserver's GraphQL API and `amzn-assets`."""

from __future__ import annotations

import subprocess

import pyarrow.parquet as pq
import pytest

from amzn_assets.definitions import defs
from amzn_assets_tests.webserver import BIN, REPO, env_for, running_webserver
from amzn_assets_tests.warehouse_files import day_rows


def dagster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dagster"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


def test_dagster_cli_materializes_a_range_then_reviews_fact_for_one_day(dirs, sample, tmp_path):
    env = env_for(dirs, tmp_path / "home")
    ranged = dagster(env, "asset", "materialize", "-m", "amzn_assets", "--select", "group:reviews or group:climate", "--partition-range", "2018-01-01...2018-01-03")
    assert ranged.returncode == 0, ranged.stderr[-3000:]
    month_file = dirs.warehouse / "reviews_fact" / "2018-01.parquet"
    before = day_rows(month_file.parent, "2018-01-02")
    mtime = month_file.stat().st_mtime_ns

    single = dagster(env, "asset", "materialize", "-m", "amzn_assets", "--select", "reviews_fact", "--partition", "2018-01-02")
    assert single.returncode == 0, single.stderr[-3000:]
    assert "RUN_SUCCESS" not in single.stderr + single.stdout  # dagster.yaml: the console shows INFO and above
    assert month_file.stat().st_mtime_ns != mtime, "the partition was not rewritten"
    assert day_rows(month_file.parent, "2018-01-02").equals(before)


def test_amzn_assets_cli_land_query_and_summary(dirs, sample):
    cli = [str(BIN / "amzn-assets"), "--data-dir", str(dirs.root)]
    landed = subprocess.run([*cli, "land"], capture_output=True, text=True, timeout=60)
    assert landed.returncode == 0 and f"landed {400 + 6} files" in landed.stdout, landed.stdout
    missing = subprocess.run([*cli, "query", "select count(*) from reviews_fact"], capture_output=True, text=True)
    assert missing.returncode == 1 and "Tables materialized so far: none" in missing.stderr


def test_amzn_assets_reset_deletes_the_pipeline_folders_only_with_yes(dirs, sample):
    from amzn_assets.cli import main

    assert main(["--data-dir", str(dirs.root), "land"]) == 0
    (dirs.root / "models" / "rating_model" / "2018-01").mkdir(parents=True)
    folders = [dirs.landed, dirs.raw, dirs.root / "models"]
    assert all(f.exists() for f in folders)

    assert main(["--data-dir", str(dirs.root), "reset"]) == 2  # without --yes: nothing happens
    assert all(f.exists() for f in folders)
    assert main(["--data-dir", str(dirs.root), "reset", "--yes"]) == 0
    assert not any(f.exists() for f in folders)
    assert not dirs.uploaded.exists()  # the SQLite ledger lived in landed/


@pytest.mark.timeout(180)
def test_webserver_serves_the_asset_graph(dirs, tmp_path):
    with running_webserver(env_for(dirs, tmp_path / "home")) as (_, nodes):
        graph = {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]} for n in nodes}
        expected = {
            node.key.to_user_string(): {k.to_user_string() for k in node.parent_keys} for node in defs().resolve_asset_graph().asset_nodes
        }
        assert graph == expected
        assert graph["reviews_fact"] == {"landed_reviews", "users", "products", "datetime"}
        assert graph["climate"] == {"landed_climate", "stations", "datetime"}
        assert graph["landed_reviews"] == graph["landed_climate"] == {"upload_area"}  # the external asset starts the lineage
        assert graph["rating_model"] == {"reviews_fact", "rating_tokenizer"}
        assert graph["rating_model_evaluation"] == {"reviews_fact", "rating_model"}
        assert graph["rating_predictions"] == {"reviews_fact", "rating_model"}
        partitions = {"/".join(n["assetKey"]["path"]): n["partitionDefinition"] for n in nodes}
        assert {key for key, p in partitions.items() if p is None} == {"station_list", "product_catalog", "upload_area"}  # reference data, the uploads
        assert {p["type"] for p in partitions.values() if p} == {"TIME_WINDOW"}
