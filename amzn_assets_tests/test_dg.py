"""`dg` (dagster-dg-cli, pinned with the Dagster release set) works on this project: [tool.dg] in
pyproject.toml names amzn_assets/domains as the defs folder and amzn_assets.definitions as the code
location; `dg check defs` validates it and `dg list defs` lists what the code location defines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from amzn_assets.definitions import defs

REPO = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"


def dg(*args: str, home: Path, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), "AMZN_DATA_DIR": str(data), "NO_COLOR": "1"}
    return subprocess.run([str(DG), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def dg_env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {"home": home, "data": tmp_path / "data"}


@pytest.mark.timeout(180)
def test_dg_check_defs_and_list_defs(dg_env):
    checked = dg("check", "defs", **dg_env)
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout + checked.stderr, checked.stderr[-3000:]

    listed = dg("list", "defs", "--json", **dg_env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    found = json.loads(listed.stdout)
    assets = {a["asset_key"]: a for a in found["assets"]}
    assert set(assets) == {node.key.to_user_string() for node in defs().resolve_asset_graph().asset_nodes}
    assert assets["landed_reviews"]["dependency_keys"] == ["upload_area"] and not assets["upload_area"]["is_executable"]
    assert assets["reviews_fact"]["source"].startswith("amzn_assets/domains/reviews/assets.py:")  # the code reference
    assert {s["name"] for s in found["sensors"]} == {"stream_sensor", "analysis_automation", "rating_model_sensor", "rating_predictions_automation"}
    assert {r["name"] for r in found["resources"]} >= {"io_manager", "landing", "staging_io_manager"}
