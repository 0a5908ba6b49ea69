"""Chaos, short version, on the Dagster side: a `dagster asset materialize` run SIGKILLed, PostgreSQL
restarted (fast and immediate) under a run and under a landing, a dagster-daemon SIGKILLed while
the sensors stream. Each ends with the same tables and ledger as a clean run of the same input."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.bulk import import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.ledger import Ledger
from amzn_assets.db_urls import libpq_url
from amzn_assets.data_dirs import DataDirs
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.chaos.harness import (
    kill_at_random, landing_snapshot, run_to_completion, seed_from_env, table_snapshot,
)
from amzn_assets_tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FIRST, LAST = "2016-01-01", "2016-02-15"  # 46 days, ~150 real reviews on ~25 of them
REVIEW_GROUP = ["landed_reviews", "users", "products", "datetime", "reviews_fact"]


def imported(root: Path) -> DataDirs:
    dirs = DataDirs(root)
    import_dump(Lander(dirs), FIXTURES / "All_Beauty_5.json.gz", category="all_beauty")
    return dirs


def materialize_cli(dirs: DataDirs, home: Path) -> list[str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return [str(BIN / "dagster"), "asset", "materialize", "-m", "amzn_assets", "--select", "group:reviews",
            "--partition-range", f"{FIRST}...{LAST}"]


def clean_run(dirs: DataDirs, backend: str = "local", **settings) -> None:
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            all_assets, selection=REVIEW_GROUP, instance=instance,
            resources=resources_for(backend, str(dirs.root), **settings),
            tags={"dagster/asset_partition_range_start": FIRST, "dagster/asset_partition_range_end": LAST},
        )
    assert result.success


def local_tables(dirs: DataDirs) -> dict:
    return table_snapshot(lambda sql: run_query(dirs.warehouse, sql).rows)


def pg_tables(url: str, schema: str) -> dict:
    def query(sql: str):
        with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
            cur.execute(sql)
            return cur.fetchall()

    return table_snapshot(query)


@pytest.mark.timeout(240)
def test_materialize_killed_then_rerun_equals_a_clean_run(tmp_path):
    clean = imported(tmp_path / "clean")
    clean_run(clean)
    chaos = imported(tmp_path / "chaos")
    command = materialize_cli(chaos, tmp_path / "home")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "AMZN_DATA_DIR": str(chaos.root)}
    kills = kill_at_random(command, env, kills=1, window=(5.0, 11.0), seed=seed_from_env(), what="dagster asset materialize", cwd=REPO)
    print(kills)
    run_to_completion(command, env, cwd=REPO, timeout=180)
    expected = local_tables(clean)
    assert expected["reviews_fact"][0] > 100
    assert local_tables(chaos) == expected, str(kills)


# -- PostgreSQL restarted under a run ----------------------------------------------------------------


@pytest.fixture
def own_postgres():
    """A PostgreSQL of this test's own (restarting the session's server would disturb other tests)."""
    import tempfile

    import pgserver

    # Not under pytest's tmp_path: the server's own user must reach it, and its socket path stay short.
    server = pgserver.get_server(tempfile.mkdtemp(prefix="amzn-chaos-pg-"), cleanup_mode="delete")
    yield server
    server.cleanup()


def restart(server, mode: str, done: list) -> None:
    """pg_ctl restart -m fast|immediate (output to files: a pipe would be inherited by the server)."""
    import subprocess

    from pgserver._commands import POSTGRES_BIN_PATH

    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-l", str(server.log), "-w", "-m", mode, "restart"],
        user=server.system_user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True,
    )
    done.append(mode)


def new_schema(url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    return schema


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_under_a_run_and_a_landing_then_rerun_equals_a_clean_run(tmp_path, own_postgres, mode):
    url = own_postgres.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    clean_schema, chaos_schema = new_schema(url), new_schema(url)
    clean = imported(tmp_path / "clean")
    os.environ["AMZN_POSTGRES_SCHEMA"] = clean_schema
    try:
        clean_run(clean, "postgres", postgres_url=url, ledger_url=f"sqlite:///{clean.landed / 'ledger.sqlite'}")
    finally:
        os.environ.pop("AMZN_POSTGRES_SCHEMA")

    # The landing ledger on PostgreSQL, restarted while `amzn-assets land` lands the split excerpt.
    chaos = DataDirs(tmp_path / "chaos")
    folder = chaos.uploaded / "reviews" / "all_beauty"
    folder.mkdir(parents=True)
    with gzip.open(FIXTURES / "All_Beauty_5.json.gz", "rb") as dump:
        for number, line in enumerate(dump):
            (folder / f"r{number:05d}.json.gz").write_bytes(gzip.compress(line, mtime=0))
    ledger_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{chaos_schema}"
    env = {**os.environ, "AMZN_DATA_DIR": str(chaos.root), "AMZN_LEDGER_URL": ledger_url, "DAGSTER_HOME": str(tmp_path / "home"),
           "AMZN_BACKEND": "postgres", "AMZN_POSTGRES_URL": url, "AMZN_POSTGRES_SCHEMA": chaos_schema}
    restarted_land = restart_during([str(BIN / "amzn-assets"), "land"], env, own_postgres, mode, after=1.0)
    run_to_completion([str(BIN / "amzn-assets"), "land"], env)
    assert Ledger(ledger_url).file_status_counts() == {"landed": 4242, "duplicate": 1027}, restarted_land

    # The star schema on PostgreSQL, restarted while a materialization writes it.
    command = materialize_cli(chaos, tmp_path / "home")
    restarted_run = restart_during(command, env, own_postgres, mode, after=7.0, cwd=REPO)
    # The steps' RetryPolicy (wiring/policies.py) carries the run over the restart: it succeeds by itself.
    assert " exit 0 " in restarted_run, restarted_run
    run_to_completion(command, env, cwd=REPO, timeout=180)
    expected = pg_tables(url, clean_schema)
    assert expected["reviews_fact"][0] > 100
    assert pg_tables(url, chaos_schema) == expected, restarted_run


def restart_during(command, env, server, mode: str, *, after: float, cwd=None) -> str:
    """Run the command; restart PostgreSQL `after` seconds in; return what happened to the command."""
    import subprocess

    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done: list = []
    timer = threading.Timer(after, restart, (server, mode, done))
    timer.start()
    _, err = process.communicate(timeout=240)
    timer.join()
    assert done == [mode], "PostgreSQL was not restarted"
    return f"{mode} restart {after}s into {command[0]}: exit {process.returncode} {err[-300:] if process.returncode else ''}"


# -- the daemon killed while the sensors stream ------------------------------------------------------


@pytest.mark.timeout(480)
def test_daemon_killed_while_streaming_then_restarted_equals_a_clean_stream(tmp_path):
    from dagster import RunsFilter

    from amzn_assets.domains.stream.job import stream_job
    from amzn_assets.upload_simulator.split import file_name, gz
    from amzn_assets.upload_simulator.upload import upload_files
    from amzn_assets_tests.daemon import instance_at, running_daemon, wait_for

    source = tmp_path / "split" / "all_beauty"
    source.mkdir(parents=True)
    with gzip.open(FIXTURES / "All_Beauty_5.json.gz", "rt") as dump:
        for number, line in enumerate(dump, start=1):
            if number % 4 == 0 and json.loads(line)["unixReviewTime"] >= 1500000000:  # ~220 reviews, 2017-07..2018
                (source / file_name("all_beauty", number)).write_bytes(gz(line.encode()))
    clean = DataDirs(tmp_path / "clean")
    shutil.copytree(source, clean.uploaded / "reviews" / "all_beauty")
    with DagsterInstance.ephemeral() as instance:
        assert stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(clean.root))).success
    expected = local_tables(clean)

    import random

    seed = seed_from_env()
    # Timed from the first stream run's creation, not from the daemon's start (which a slow machine
    # stretches): 0-6 s covers its launch, its landing, its writes and the time after it.
    kill_after = random.Random(seed).uniform(0.0, 6.0)
    chaos, home, log = DataDirs(tmp_path / "chaos"), tmp_path / "home", tmp_path / "daemon.log"
    with running_daemon(chaos, home, log, kill_with=signal.SIGKILL):
        upload_files(["all_beauty"], source_dir=source.parent, target=chaos.uploaded, rate="6000/s", progress=False, copy=True)
        with instance_at(home) as instance:
            wait_for(lambda: instance.get_runs(RunsFilter(job_name="stream_job")), 120, "the first stream run", log, home)
        time.sleep(kill_after)
    print(f"daemon SIGKILLed {kill_after:.1f}s after its first stream run was created (seed {seed})")
    with running_daemon(chaos, home, log):
        def caught_up() -> bool:
            try:
                return local_tables(chaos).get("reviews_fact") == expected["reviews_fact"] and not any(
                    p.is_file() for p in chaos.uploaded.rglob("*"))
            except Exception:  # noqa: BLE001 - not materialized yet
                return False

        wait_for(caught_up, 360, "the restarted daemon to finish the stream", log, home)
        with instance_at(home) as instance:
            wait_for(lambda: all(r.is_finished for r in instance.get_runs(RunsFilter(job_name="stream_job"))), 120, "runs to end", log, home)
    assert local_tables(chaos) == expected
    assert landing_snapshot(chaos)["reviews"] == landing_snapshot(clean)["reviews"]
