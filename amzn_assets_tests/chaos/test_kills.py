"""Chaos, short version: real SIGKILLs of the CLI at seeded random moments, then a run to the end,
compared with a clean run of the same input. The long version: benchmarks/chaos.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amzn_assets.data_dirs import DataDirs
from amzn_assets.upload_simulator.split import split_dump
from amzn_assets_tests.chaos.harness import copy_tree, kill_at_random, landing_snapshot, run_to_completion, seed_from_env
from amzn_assets_tests.conftest import FIXTURES

BIN = Path(sys.executable).parent
BEAUTY = FIXTURES / "All_Beauty_5.json.gz"


@pytest.fixture(scope="module")
def beauty_files(tmp_path_factory) -> Path:
    """The real All Beauty excerpt, one review per file (5,269 files, 1,030 of them exact repeats)."""
    folder = tmp_path_factory.mktemp("split") / "all_beauty"
    split_dump(BEAUTY, "all_beauty", folder, progress=False)
    return folder


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def clean_landing(tmp_path_factory, beauty_files) -> dict:
    """A clean `amzn-assets land` of the split excerpt: its snapshot and how long it took."""
    clean = uploaded(tmp_path_factory.mktemp("clean"), beauty_files)
    seconds = timed(lambda: run_to_completion([str(BIN / "amzn-assets"), "land"], env_for(clean)))
    return {"snapshot": landing_snapshot(clean), "seconds": seconds}


def env_for(dirs: DataDirs) -> dict:
    return {**os.environ, "AMZN_DATA_DIR": str(dirs.root)}


def uploaded(root: Path, files: Path) -> DataDirs:
    dirs = DataDirs(root)
    copy_tree(files, dirs.uploaded / "reviews" / "all_beauty")
    return dirs


@pytest.mark.timeout(240)
def test_land_killed_at_random_moments_then_finished_equals_a_clean_landing(tmp_path, beauty_files, clean_landing):
    land = [str(BIN / "amzn-assets"), "land"]
    chaos = uploaded(tmp_path / "chaos", beauty_files)
    window = (0.3, clean_landing["seconds"])
    kills = kill_at_random(land, env_for(chaos), kills=3, window=window, seed=seed_from_env(), what="amzn-assets land")
    print(kills)
    run_to_completion(land, env_for(chaos))
    expected = clean_landing["snapshot"]
    # 5,269 files: byte-identical repeats are duplicates; 4,239 distinct reviews (review identity).
    assert sum(expected["files"].values()) == expected["archived"] == 5269 and expected["reviews"] == 4239
    assert landing_snapshot(chaos) == expected, str(kills)


@pytest.mark.timeout(240)
def test_import_killed_at_random_moments_then_finished_equals_a_clean_import(tmp_path):
    command = lambda dirs: [str(BIN / "amzn-assets"), "import", str(BEAUTY), "--category", "all_beauty"]  # noqa: E731
    clean = DataDirs(tmp_path / "clean")
    seconds = timed(lambda: run_to_completion(command(clean), env_for(clean)))
    chaos = DataDirs(tmp_path / "chaos")
    kills = kill_at_random(command(chaos), env_for(chaos), kills=3, window=(0.3, seconds), seed=seed_from_env(), what="amzn-assets import")
    print(kills)
    run_to_completion(command(chaos), env_for(chaos))
    expected, got = landing_snapshot(clean), landing_snapshot(chaos)
    assert expected["reviews"] == 4239 and expected["files"] == {"landed": 1}
    # Importing content already imported is a recorded no-op: a run killed after its commit leaves
    # the next one a "duplicate" row. Everything else must equal the clean import.
    assert got.pop("files")["landed"] == 1 and expected.pop("files")
    assert got == expected, str(kills)


KILL_AT_STAGE = """
import os, signal, sys
from pathlib import Path
from amzn_assets.landing.intake import Lander
from amzn_assets.data_dirs import DataDirs

def stage(name):
    if name == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)

Lander(DataDirs(Path(sys.argv[1])), on_stage=stage).land_pending()
"""


@pytest.mark.parametrize("stage", ["segments_written", "committed", "bundle_written"])
def test_land_killed_at_each_gap_of_the_protocol_equals_a_clean_landing(tmp_path, beauty_files, clean_landing, stage):
    """A real SIGKILL at the gaps of the landing protocol: after the segments are written (before
    the commit), after the commit (before the files are archived) and after the bundle is written
    (before its sources are deleted)."""
    chaos = uploaded(tmp_path / "chaos", beauty_files)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_STAGE, str(chaos.root), stage], env=env_for(chaos), timeout=120)
    assert killed.returncode == -signal.SIGKILL
    run_to_completion([str(BIN / "amzn-assets"), "land"], env_for(chaos))
    assert landing_snapshot(chaos) == clean_landing["snapshot"]
