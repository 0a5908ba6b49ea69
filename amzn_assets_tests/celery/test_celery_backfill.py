"""A backfill split into runs of a month (AMZN_BACKFILL_DAYS_PER_RUN), executed at the same time on
two Celery workers, into PostgreSQL: the same tables as one single-process run.

Real components: ``redis-server``, two ``dagster-celery`` workers on the default queue, a
``dagster-daemon`` (backfill daemon + run queue, which starts the runs side by side), PostgreSQL
(the suite's server). The backfill is requested as the UI's "Launch backfill" of
``warehouse_celery_job`` requests it (a PartitionBackfill of the job's partition set); the daemon
splits it by the job's backfill policy. Every month shares reviewers and products with the others,
so the runs upsert overlapping dimension keys concurrently.

Proven from the runs' event logs: three runs (31 + 28 + 31 days), all successful, running at the
same time, and both workers executed steps; with the warehouse pool (amzn_warehouse) limited to one
slot, no two steps that write PostgreSQL ran at the same time, across runs and workers, while the
runs themselves overlapped. Then every star table equals, row for row, the one a single in-process
run over the whole range wrote into another schema.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from amzn_assets.db_urls import libpq_url
from amzn_assets.wiring.policies import WAREHOUSE_POOL
from amzn_assets_tests.celery.test_celery import (  # noqa: F401  (fixtures)
    BIN,
    CELERY_YAML,
    REPO,
    Proc,
    celery_app,
    placements,
    redis_url,
    scratch,
    start,
    wait_until,
)

FIRST, LAST = "2018-01-01", "2018-03-31"
DAYS_PER_RUN = 31
STAR = ("reviews_fact", "users", "products", "datetime", "stations", "climate")
BACKFILL_TIMEOUT_S = 360  # the backfill daemon loops every 30 s; 2 cores, shared


def in_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture
def schemas(postgres_url):
    names = {role: f"t_{role}_{uuid.uuid4().hex[:8]}" for role in ("celery", "single", "ledger")}
    for name in names.values():
        query(postgres_url, f'CREATE SCHEMA "{name}"; SELECT 1')
    yield names
    for name in names.values():
        query(postgres_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE; SELECT 1')


@pytest.fixture
def env(scratch: Path, redis_url: str, postgres_url: str, schemas: dict, monkeypatch) -> dict:
    from amzn_assets.generate import generate_sample
    from amzn_assets.wiring.resources import LandingZone
    from amzn_assets_tests.daemon import create_instance

    home = scratch / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it: this process opens the test's instance
    create_instance(home)  # before the workers and the daemon open it together
    data = scratch / "data"
    ledger = in_schema(postgres_url, schemas["ledger"])
    # Three months; 150 reviewers and 40 products shared by every month.
    generate_sample(data, seed=11, days=90, reviews=1800, reviewers=150, products_per_category=20, stations=2)
    LandingZone(data_dir=str(data), ledger_url=ledger).lander().land_pending()
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "AMZN_DATA_DIR": str(data),
        "AMZN_BACKEND": "postgres",
        "AMZN_POSTGRES_URL": postgres_url,
        "AMZN_POSTGRES_SCHEMA": schemas["celery"],
        "AMZN_LEDGER_URL": ledger,
        "AMZN_UPLOAD_URL": "",
        "AMZN_SENSORS_RUNNING": "0",
        "AMZN_BACKFILL_DAYS_PER_RUN": str(DAYS_PER_RUN),
        "DAGSTER_CELERY_BROKER_URL": f"{redis_url}/0",
        "DAGSTER_CELERY_BACKEND_URL": f"{redis_url}/1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "PYTHONUNBUFFERED": "1",
    }


def request_backfill(home: str, partitions: list[str]) -> str:
    """What the UI's "Launch backfill" of warehouse_celery_job stores: a PartitionBackfill of the
    job's partition set, found by the daemon through the code location's name."""
    from dagster import DagsterInstance
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemotePartitionSetOrigin, RemoteRepositoryOrigin
    from dagster._core.utils import make_new_backfill_id
    from dagster._time import get_current_timestamp

    origin = RemotePartitionSetOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=RegisteredCodeLocationOrigin(location_name="amzn_assets"),
            repository_name="__repository__",
        ),
        partition_set_name="warehouse_celery_job_partition_set",
    )
    backfill_id = make_new_backfill_id()
    with DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
        assert Path(instance.root_directory) == Path(home), "DAGSTER_HOME must be the test's instance"
        instance.add_backfill(
            PartitionBackfill(
                backfill_id=backfill_id,
                partition_set_origin=origin,
                status=BulkActionStatus.REQUESTED,
                partition_names=partitions,
                from_failure=False,
                reexecution_steps=None,
                tags={},
                backfill_timestamp=get_current_timestamp(),
            )
        )
    return backfill_id


def pool_step_spans(instance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of each step of the run in the warehouse pool: STEP_START to STEP_SUCCESS."""
    from dagster import DagsterEventType

    starts, ends = {}, {}
    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}):
        if record.step_key in STAR:
            target = starts if record.dagster_event.event_type == DagsterEventType.STEP_START else ends
            target[record.step_key] = record.timestamp
    return [(starts[k], ends[k], f"{run_id[:8]}:{k}") for k in starts]


def days(first: str, last: str) -> list[str]:
    import datetime as dt

    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


@pytest.mark.timeout(900, method="signal")
def test_a_backfill_split_into_monthly_runs_runs_on_two_workers_and_equals_one_run(env, scratch, postgres_url, schemas):
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster._core.instance.ref import InstanceRef

    suffix = uuid.uuid4().hex[:6]
    host = socket.gethostname()
    names = [f"amzn-w1-{suffix}", f"amzn-w2-{suffix}"]
    nodes = [f"{n}@{host}" for n in names]
    procs: list[Proc] = []
    app = celery_app(env)
    try:
        for name in names:
            procs.append(start(name, [
                str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(CELERY_YAML),
                "-q", "dagster", "--name", name, "--loglevel", "INFO",
                "--", "--concurrency=1", "--without-gossip", "--without-mingle",
            ], env, scratch))

        def both_listen() -> bool:
            replies = app.control.inspect(destination=nodes, timeout=1.0).active_queues() or {}
            return all("dagster" in {q["name"] for q in replies.get(node, [])} for node in nodes)

        wait_until(both_listen, 90, f"both workers to answer on {nodes}", tuple(procs))
        with DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance:
            instance.event_log_storage.set_concurrency_slots(WAREHOUSE_POOL, 1)  # `dagster instance concurrency set`
        backfill_id = request_backfill(env["DAGSTER_HOME"], days(FIRST, LAST))
        started = time.monotonic()
        daemon = start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")], env, scratch)
        procs.append(daemon)

        with DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance:
            backfill_runs = RunsFilter(tags={"dagster/backfill": backfill_id})

            def finished() -> bool:
                runs = instance.get_runs(backfill_runs)
                failed = [r for r in runs if r.status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)]
                if failed:
                    logs = "\n".join(e.message or "" for e in instance.all_logs(failed[0].run_id) if e.level >= 40)
                    raise AssertionError(f"run {failed[0].run_id} {failed[0].status}:\n{logs[-3000:]}")
                return len(runs) == 3 and all(r.status == DagsterRunStatus.SUCCESS for r in runs)

            wait_until(finished, BACKFILL_TIMEOUT_S, f"backfill {backfill_id}: three successful runs", tuple(procs))
            seconds = time.monotonic() - started
            runs = sorted(instance.get_runs(backfill_runs), key=lambda r: r.tags["dagster/asset_partition_range_start"])
            ranges = [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"]) for r in runs]
            assert ranges == [("2018-01-01", "2018-01-31"), ("2018-02-01", "2018-03-03"), ("2018-03-04", "2018-03-31")]
            assert {r.job_name for r in runs} == {"warehouse_celery_job"}

            # The runs ran at the same time: each started before another one ended.
            records = {r.dagster_run.run_id: r for r in instance.get_run_records(backfill_runs)}
            spans = sorted((records[r.run_id].start_time, records[r.run_id].end_time) for r in runs)
            assert any(later_start < earlier_end for (_, earlier_end), (later_start, _) in zip(spans, spans[1:])), spans

            # Both workers executed steps (the "Celery worker" each step reports).
            workers = {}
            for run in runs:
                for step, where in placements(instance, run.run_id).items():
                    workers.setdefault(where.worker, []).append(step)
            assert set(workers) == set(nodes), workers

            # The pool of one: the steps that write the warehouse never overlapped, across runs.
            spans = sorted(span for run in runs for span in pool_step_spans(instance, run.run_id))
            assert len(spans) == 3 * len(STAR), spans
            overlaps = [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
            assert not overlaps, overlaps
    finally:
        for proc in procs:
            proc.quit_children()
        for proc in procs:
            proc.kill(grace_s=10)
        app.close()

    single_process_run(env, postgres_url, schemas["single"])
    for table in STAR:
        celery, single = schemas["celery"], schemas["single"]
        counts = query(postgres_url, f'SELECT (SELECT count(*) FROM "{celery}"."{table}"), (SELECT count(*) FROM "{single}"."{table}")')
        differ = query(
            postgres_url,
            f'SELECT count(*) FROM ((SELECT * FROM "{celery}"."{table}" EXCEPT ALL SELECT * FROM "{single}"."{table}") '
            f'UNION ALL (SELECT * FROM "{single}"."{table}" EXCEPT ALL SELECT * FROM "{celery}"."{table}")) d',
        )
        assert counts[0][0] == counts[0][1] > 0 and differ == [(0,)], (table, counts, differ)
    print(f"backfill of {len(days(FIRST, LAST))} days in 3 runs on 2 workers: {seconds:.1f}s")


def single_process_run(env: dict, postgres_url: str, schema: str) -> None:
    """The whole range in one in-process run (a subprocess: the code location reads its settings
    from the environment when it loads), into its own schema."""
    code = (
        "from dagster import DagsterInstance, materialize\n"
        "from dagster import AssetSelection\n"
        "from amzn_assets.definitions import defs\n"
        "defs = defs()\n"
        "from amzn_assets.wiring.groups import WAREHOUSE\n"
        f"tags = {{'dagster/asset_partition_range_start': {FIRST!r}, 'dagster/asset_partition_range_end': {LAST!r}}}\n"
        "keys = AssetSelection.groups(*WAREHOUSE).resolve(defs.resolve_asset_graph())\n"
        "with DagsterInstance.ephemeral() as instance:\n"
        "    assert materialize(defs.assets, selection=list(keys), resources=defs.resources, instance=instance, tags=tags).success\n"
    )
    single_env = {**env, "AMZN_POSTGRES_SCHEMA": schema, "AMZN_BACKFILL_DAYS_PER_RUN": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=single_env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-4000:]
