"""Settings are data, read from the environment by the two entry points only; the code location is
built from any Settings in-process (defs_for), so a test varies a setting without another process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from dagster import AssetKey, BackfillPolicy, DefaultSensorStatus

from amzn_assets.definitions import defs_for
from amzn_assets.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1] / "amzn_assets"
# The CLI's main and the code location's definitions function; settings.py defines from_env.
ENTRY_POINTS = {"cli/__init__.py", "definitions.py", "settings.py"}


def test_only_the_two_entry_points_read_the_environment_settings():
    readers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\bfrom_env\(", path.read_text())
    }
    assert readers <= ENTRY_POINTS, f"Settings.from_env() outside the entry points: {sorted(readers - ENTRY_POINTS)}"
    assert "os.environ" not in (PACKAGE / "definitions.py").read_text()


def test_settings_import_nothing_of_the_package_but_the_data_directory_layout():
    for module in ("settings.py", "data_dirs.py"):
        imports = re.findall(r"^\s*(?:from|import) (amzn_assets[\w.]*)", (PACKAGE / module).read_text(), re.M)
        assert set(imports) <= {"amzn_assets.data_dirs"}, (module, imports)


def test_definitions_follow_the_settings_they_are_built_with(tmp_path):
    base = Settings(data_dir=tmp_path)
    other = replace(
        base, backfill_days_per_run="7", sensor_interval_s=5, sensors_running=True, model_sensor_running=True,
        stream_freshness_minutes=60, model_freshness_days=10, model_window_months=2, upload_url="s3://uploads/here",
    )
    default_graph, other_graph = defs_for(base).resolve_asset_graph(), defs_for(other).resolve_asset_graph()
    fact, other_fact = default_graph.get(AssetKey("reviews_fact")), other_graph.get(AssetKey("reviews_fact"))

    assert fact.backfill_policy == BackfillPolicy.single_run()
    assert other_fact.backfill_policy == BackfillPolicy.multi_run(7)
    assert fact.freshness_policy.fail_window.to_timedelta() == timedelta(hours=6)
    assert other_fact.freshness_policy.fail_window.to_timedelta() == timedelta(hours=1)
    evaluation = other_graph.get(AssetKey("rating_model_evaluation"))
    assert evaluation.freshness_policy.fail_window.to_timedelta() == timedelta(days=10)
    assert "the 2 months of reviews_fact" in other_graph.get(AssetKey("rating_tokenizer")).description
    upload_area = other_graph.get(AssetKey("upload_area"))
    assert upload_area.metadata["dagster/uri"] == "s3://uploads/here/uploaded/" and "s3" in upload_area.kinds
    assert default_graph.get(AssetKey("upload_area")).metadata["dagster/uri"] == (tmp_path / "uploaded").as_uri() + "/"

    for built, interval, status in ((defs_for(base), 30, DefaultSensorStatus.STOPPED), (defs_for(other), 5, DefaultSensorStatus.RUNNING)):
        sensors = built.get_repository_def().sensor_defs
        assert {(s.name, s.minimum_interval_seconds, s.default_status) for s in sensors} == {
            (name, interval, status) for name in ("stream_sensor", "analysis_automation", "rating_model_sensor", "rating_predictions_automation")
        }


def test_a_plain_module_imports_under_any_settings():
    """warehouse/star.py is plain code: a bad AMZN_BACKFILL_DAYS_PER_RUN is the code location's error, not its."""
    done = subprocess.run(
        [sys.executable, "-c", "import amzn_assets.warehouse.star"],
        env={**os.environ, "AMZN_BACKFILL_DAYS_PER_RUN": "x"}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
