"""The Celery jobs of the real code location on a real Redis and two real dagster-celery workers.

The integration test starts ``redis-server`` (`make test` installs it as root; skipped where it is missing unless
AMZN_TESTS_REQUIRE_ALL=1), one worker on the default queue ``dagster`` and one on ``ml_queue``
(``dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml -q ...``, the README's
commands), imports the All Beauty excerpt, and runs with ``dagster job execute -m amzn_assets``:
``warehouse_celery_job`` over the training window's days, ``ml_monthly_celery_job`` (tokenizer,
model, evaluation and its check) for one month with the tiny model preset, and
``ml_daily_celery_job`` (rating_predictions) for one day. It reads from each run's event log which
worker executed each step: dagster_celery's worker task reports "Executing steps <key> in celery
worker" with the metadata entry ``Celery worker`` = the worker's node name (``<name>@<host>``), and
the run process reports 'Submitting celery task for step "<key>" to queue "<queue>"'.

A Celery run with no worker waits forever and ignores SIGTERM, so every process runs in its own
process group, every wait is bounded, and the finally blocks SIGKILL the groups.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amzn_assets_tests.needs import require_executable, require_module

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELERY_YAML = REPO / "docker" / "celery.yaml"
CODE_LOCATION = "amzn_assets"
FIXTURES = REPO / "amzn_assets_tests" / "fixtures"
MONTH = "2018-05"  # the model partition; its window: WINDOW_MONTHS months of days ending 2018-05-31
WINDOW_MONTHS = "2"  # 2018-04 + 2018-05: 286 reviews of the excerpt, enough for the tiny model
WINDOW = ("2018-04-01", "2018-05-31")
DAY = "2018-05-12"  # scored by rating_predictions

WORKER_READY_S = 90  # both workers answer the broker
RUN_TIMEOUT_S = 420  # one `dagster job execute` (the model job imports TensorFlow in each step)
WAREHOUSE_STEPS = {
    "landed_reviews", "users", "products", "datetime", "reviews_fact", "landed_climate", "stations", "climate",
    "station_list", "product_catalog",  # unpartitioned reference data, in the same groups
}
WAREHOUSE_CHECK_STEPS = {"stations_stations_known_and_named_once"}  # a check with a step of its own
MODEL_STEPS = {"rating_tokenizer", "rating_model", "rating_model_evaluation"}
SUBMIT_RE = re.compile(r'Submitting celery task for step "(?P<step>[^"]+)" to queue "(?P<queue>[^"]+)"')


# ---------------------------------------------------------------------------------------------
# Process plumbing: own process group, log to a file, SIGKILL the group.


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n{text[-chars:]}"

    def quit_children(self) -> None:
        """Ask the wrapper's children to stop (a worker: SIGQUIT is celery's cold shutdown, which
        reaps its pool), so no orphan is left behind for an init that does not reap zombies."""
        if self.alive():
            for child in children(self.popen.pid):
                try:
                    os.kill(child, signal.SIGQUIT)
                except ProcessLookupError:
                    pass

    def kill(self, grace_s: float = 0) -> None:
        """Wait up to grace_s for an exit, then SIGKILL the process group (for a worker: the
        dagster-celery wrapper, celery and its pool children)."""
        if grace_s:
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def children(pid: int) -> list[int]:
    """The direct children of pid (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):  # state, ppid, ...
            out.append(int(stat.parent.name))
    return out


def start(name: str, args: list[str], env: dict, logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, popen, log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, procs: tuple[Proc, ...] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise AssertionError(f"{p.name} exited ({p.popen.returncode}) while waiting for {what}\n{p.tail()}")
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n" + "\n".join(p.tail() for p in procs))


# ---------------------------------------------------------------------------------------------
# Fixtures: a scratch dir, Redis, the environment, two workers.


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Its own temp dir, not pytest's numbered one (a concurrent session may prune those).
    path = Path(tempfile.mkdtemp(prefix="amzn-test-celery-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def redis_url(scratch: Path) -> Iterator[str]:
    server = require_executable("redis-server", "apt-get install -y redis-server; make test does it as root")
    import redis

    port = free_port()
    proc = start(
        "redis",
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(scratch)],
        dict(os.environ), scratch,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)

        def pong() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(pong, 20, "redis-server to answer PING", (proc,))
        client.close()
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.kill()


@pytest.fixture
def celery_env(scratch: Path, redis_url: str, monkeypatch) -> dict:
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    from amzn_assets.landing.bulk import import_dump
    from amzn_assets.landing.intake import Lander
    from amzn_assets.data_dirs import DataDirs

    home = scratch / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    # Create the SQLite storage now: two workers starting at once on an empty DAGSTER_HOME race to
    # create it ("table runs already exists") and one of them dies.
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it
    DagsterInstance.from_ref(InstanceRef.from_dir(str(home))).dispose()
    data = scratch / "data"
    import_dump(Lander(DataDirs(data)), FIXTURES / "All_Beauty_5.json.gz", category="all_beauty")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "AMZN_DATA_DIR": str(data),
        "AMZN_BACKEND": "local",
        "AMZN_UPLOAD_URL": "",
        "AMZN_LEDGER_URL": "",
        "AMZN_MODEL_PRESET": "tiny",
        "AMZN_MODEL_WINDOW_MONTHS": WINDOW_MONTHS,
        "DAGSTER_CELERY_BROKER_URL": f"{redis_url}/0",
        "DAGSTER_CELERY_BACKEND_URL": f"{redis_url}/1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # `celery` for dagster-celery
        # The workers import the code location by module name.
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Workers:
    default: Proc
    ml: Proc
    default_node: str  # Celery node names: <--name>@<hostname>
    ml_node: str


def celery_app(env: dict):
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    return make_app(
        CeleryExecutor.for_cli(broker=env["DAGSTER_CELERY_BROKER_URL"], backend=env["DAGSTER_CELERY_BACKEND_URL"]).app_args()
    )


@pytest.fixture
def workers(celery_env: dict, scratch: Path) -> Iterator[Workers]:
    suffix = uuid.uuid4().hex[:6]
    names = {"dagster": f"amzn-default-{suffix}", "ml_queue": f"amzn-ml-{suffix}"}
    host = socket.gethostname()
    procs: dict[str, Proc] = {}
    app = celery_app(celery_env)
    try:
        for queue, name in names.items():
            procs[queue] = start(
                name,
                [
                    str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                    "-y", str(CELERY_YAML), "-q", queue, "--name", name, "--loglevel", "INFO",
                    "--", "--concurrency=2", "--without-gossip", "--without-mingle",
                ],
                celery_env, scratch,
            )
        nodes = {queue: f"{name}@{host}" for queue, name in names.items()}
        seen: dict = {}

        def both_listen() -> bool:
            # control inspect over the broker, 1 s per try: {node: [{"name": queue, ...}, ...]}
            replies = app.control.inspect(destination=list(nodes.values()), timeout=1.0).active_queues() or {}
            seen.update(replies)
            return all(
                queue in {q["name"] for q in replies.get(node, [])} for queue, node in nodes.items()
            )

        wait_until(both_listen, WORKER_READY_S, f"both workers to answer on {list(nodes.values())}", tuple(procs.values()))
        # Each worker listens on its own queue only.
        assert {q["name"] for q in seen[nodes["dagster"]]} == {"dagster"}
        assert {q["name"] for q in seen[nodes["ml_queue"]]} == {"ml_queue"}
        yield Workers(procs["dagster"], procs["ml_queue"], nodes["dagster"], nodes["ml_queue"])
    finally:
        for proc in procs.values():
            proc.quit_children()
        for proc in procs.values():
            proc.kill(grace_s=10)
        app.close()


# ---------------------------------------------------------------------------------------------
# Running a job and reading its event log.


def execute_job(job: str, tags: dict, env: dict, scratch: Path, watch: tuple[Proc, ...], allow_failed_check: bool = False) -> None:
    """`dagster job execute` with these run tags (a partition or a range), in its own process group,
    SIGKILLed past RUN_TIMEOUT_S. allow_failed_check: a run failed by a blocking asset check (and
    nothing else) is accepted."""
    proc = start(
        f"run-{job}",
        [
            str(BIN / "dagster"), "job", "execute", "-m", CODE_LOCATION, "-d", str(REPO), "-j", job,
            "--tags", json.dumps(tags),
        ],
        env, scratch,
    )
    try:
        try:
            rc = proc.popen.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{job} did not finish in {RUN_TIMEOUT_S}s (a Celery run waits forever without a worker)\n"
                + "\n".join(p.tail() for p in (proc, *watch))
            ) from None
        if rc != 0 and allow_failed_check and "DagsterAssetCheckFailedError" in proc.tail(50_000):
            return
        assert rc == 0, f"{job} failed ({rc})\n" + "\n".join(p.tail() for p in (proc, *watch))
    finally:
        proc.kill()


@dataclass
class StepPlacement:
    queue: str | None = None  # where the run process submitted the step
    worker: str | None = None  # the Celery node that executed it


def placements(instance, run_id: str) -> dict[str, StepPlacement]:
    from dagster import DagsterEventType

    out: dict[str, StepPlacement] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        if event is None or not record.step_key:
            continue
        placement = out.setdefault(record.step_key, StepPlacement())
        submitted = SUBMIT_RE.search(event.message or "")
        if submitted:
            assert submitted["step"] == record.step_key
            placement.queue = submitted["queue"]
        metadata = event.engine_event_data.metadata if event.engine_event_data else {}
        if "Celery worker" in metadata:
            placement.worker = metadata["Celery worker"].value
    return out


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


# ---------------------------------------------------------------------------------------------
# Tests.


RANGE_TAGS = {"dagster/asset_partition_range_start": WINDOW[0], "dagster/asset_partition_range_end": WINDOW[1]}


def resolved_jobs(monkeypatch, scratch) -> dict:
    monkeypatch.setenv("AMZN_DATA_DIR", str(scratch))
    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://127.0.0.1:1/1")
    from amzn_assets.definitions import defs

    return {name: defs().resolve_job_def(name) for name in ("warehouse_celery_job", "ml_monthly_celery_job", "ml_daily_celery_job")}


def test_jobs_route_ml_steps_to_ml_queue_in_the_plan(monkeypatch, scratch):
    """No broker needed: the steps the executor will submit carry the queue tag of their asset."""
    from dagster._core.execution.api import create_execution_plan
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    queues = {}
    for name, job in resolved_jobs(monkeypatch, scratch).items():
        assert job.executor_def.name == "celery_redis"
        partition = MONTH if name == "ml_monthly_celery_job" else DAY
        plan = create_execution_plan(job, run_config={}, tags={"dagster/partition": partition})
        queues[name] = {s.key: s.tags.get(DAGSTER_CELERY_QUEUE_TAG, "dagster") for s in plan.steps}
    # Every warehouse step, its checks' steps included, goes to the default queue.
    assert WAREHOUSE_STEPS <= set(queues["warehouse_celery_job"])
    assert set(queues["warehouse_celery_job"].values()) == {"dagster"}
    # The checks read a JSON file: they need no TensorFlow and run on the default queue.
    check_steps = set(queues["ml_monthly_celery_job"]) - MODEL_STEPS
    assert check_steps and all("rating_model_beats_baselines" in s or "rating_model_sanity" in s for s in check_steps)
    assert queues["ml_monthly_celery_job"] == {**{k: "ml_queue" for k in MODEL_STEPS}, **{k: "dagster" for k in check_steps}}
    assert queues["ml_daily_celery_job"] == {"rating_predictions": "ml_queue"}


def test_each_celery_job_resolves_on_one_partitions_definition():
    from amzn_assets.definitions import defs
    from amzn_assets.domains.rating_model import monthly_partitions
    from amzn_assets.wiring.partitions import daily_partitions

    expected = {
        "warehouse_celery_job": daily_partitions,
        "ml_daily_celery_job": daily_partitions,
        "ml_monthly_celery_job": monthly_partitions,
    }
    for name, partitions in expected.items():
        job = defs().resolve_job_def(name)
        assert job.executor_def.name == "celery_redis"
        assert job.partitions_def == partitions, name


def pass_the_model_check(metrics_path: Path) -> None:
    """Make the stored evaluation beat every baseline (MAE^M and macro-F1), so rating_predictions accepts
    the month (this test is about where steps run, not about the tiny model's quality)."""
    metrics = json.loads(metrics_path.read_text())
    baselines = ("majority", "tfidf_lr", "lexicon")
    metrics["model"]["mae_macro"] = min(metrics[b]["mae_macro"] for b in baselines) - 0.01
    metrics["model"]["macro_f1"] = max(metrics[b]["macro_f1"] for b in baselines) + 0.01
    metrics_path.write_text(json.dumps(metrics))


@pytest.mark.timeout(900, method="signal")
def test_celery_runs_put_ml_steps_on_the_ml_worker(celery_env, workers, scratch):
    """The real assets: warehouse steps on the default worker, the model's steps on the ml_queue
    worker, proven from the runs' event logs; the model and predictions really exist afterwards."""
    require_module("tensorflow")
    require_module("sentencepiece")
    require_module("sklearn")
    watch = (workers.default, workers.ml)
    seconds = {}
    for job, tags in (
        ("warehouse_celery_job", RANGE_TAGS),
        ("ml_monthly_celery_job", {"dagster/partition": MONTH}),
        ("ml_daily_celery_job", {"dagster/partition": DAY}),
    ):
        started = time.monotonic()
        if job == "ml_daily_celery_job":
            pass_the_model_check(Path(celery_env["AMZN_DATA_DIR"]) / "models" / "rating_model_evaluation" / MONTH / "metrics.json")
        # The tiny model may lose to a baseline: its blocking check then fails the run after every step ran.
        execute_job(job, tags, celery_env, scratch, watch, allow_failed_check=job == "ml_monthly_celery_job")
        seconds[job] = round(time.monotonic() - started, 1)

    from dagster import AssetKey, DagsterInstance, DagsterRunStatus
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(celery_env["DAGSTER_HOME"])) as instance:
        runs = {r.job_name: r for r in instance.get_runs()}
        assert set(runs) == set(seconds)
        for run in runs.values():
            allowed = {DagsterRunStatus.SUCCESS} | ({DagsterRunStatus.FAILURE} if run.job_name == "ml_monthly_celery_job" else set())
            assert run.status in allowed, run.job_name

        warehouse = placements(instance, runs["warehouse_celery_job"].run_id)
        assert set(warehouse) == WAREHOUSE_STEPS | WAREHOUSE_CHECK_STEPS
        for step, where in warehouse.items():
            assert where == StepPlacement("dagster", workers.default_node), (step, where)

        monthly = placements(instance, runs["ml_monthly_celery_job"].run_id)
        assert MODEL_STEPS < set(monthly)
        for step, where in monthly.items():
            expected = workers.ml_node if step in MODEL_STEPS else workers.default_node  # the check: default
            assert where.worker == expected, (step, where)
            assert where.queue == ("ml_queue" if step in MODEL_STEPS else "dagster"), (step, where)

        daily = placements(instance, runs["ml_daily_celery_job"].run_id)
        assert daily == {"rating_predictions": StepPlacement("ml_queue", workers.ml_node)}

        evaluation = instance.get_latest_materialization_event(AssetKey("rating_model_evaluation")).asset_materialization
        assert evaluation.partition == MONTH
        assert 0 <= evaluation.metadata["model_mae"].value <= 4
        predictions = instance.get_latest_materialization_event(AssetKey("rating_predictions")).asset_materialization
        assert predictions.partition == DAY and predictions.metadata["rows"].value > 0

    models = Path(celery_env["AMZN_DATA_DIR"]) / "models"
    assert (models / "rating_model" / MONTH / "model.keras").is_file()
    assert (models / "rating_predictions" / DAY / "predictions.parquet").is_file()
    print(f"celery runs (s): {seconds}")
