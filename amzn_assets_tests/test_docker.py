"""The docker compose deployment (docker/) is consistent with the code, Dagster and dagster-celery.

No Docker engine is needed: the files are parsed and cross-checked.

* docker/docker-compose.yml (YAML anchors and merge keys expanded by yaml.safe_load): the six
  services, one image and environment for the four project services, every environment variable
  the services need (the code's AMZN_* / DAGSTER_* names are found by scanning amzn_assets/), the
  Celery queues, health-gated start, and defaults that agree with docker/.env.example.
* docker/dagster.yaml: validated by Dagster's own instance-config loader, the dagster-postgres URL
  it yields, the same run queue limits and retries as ../dagster.yaml, and a real DagsterInstance
  on PostgreSQL (the suite's server) created from it, its database made by the postgres init script.
* docker/celery.yaml: validated by dagster-celery's worker config loader, and the Celery config
  module that `dagster-celery worker start` writes from it.
* docker/Dockerfile: a small parser checks the base image, EXTRAS, the COPY sources, the paths the
  compose commands use inside the image, the non-root user and CMD; the extras snippet is run.
* `docker compose config -q` when a compose client is installed (it parses, no engine needed).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
INSTANCE_YAML = DOCKER / "dagster.yaml"
CELERY_YAML = DOCKER / "celery.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
PG_INIT = DOCKER / "postgres-init" / "10-create-dagster-db.sh"
VENV_BIN = Path(sys.executable).parent

SERVICES = {"postgres", "redis", "webserver", "daemon", "worker", "worker_2", "ml_worker"}
PROJECT_SERVICES = ["webserver", "daemon", "worker", "worker_2", "ml_worker"]
# Always needed by the services, whether or not the code reads them yet.
CORE_ENV = {"AMZN_BACKEND", "AMZN_POSTGRES_URL", "AMZN_DATA_DIR"}
# Variables the code reads that the services must share when they appear in amzn_assets/:
# the core ones, the Postgres backend's, Dagster's Postgres storage and the Celery broker.
RELEVANT_PREFIXES = ("AMZN_POSTGRES_", "DAGSTER_PG_", "DAGSTER_CELERY_")
ENV_READ = re.compile(
    r"""(?:os\.environ(?:\.get)?\s*[\[(]|os\.getenv\s*\(|EnvVar(?:\.int)?\s*\()\s*["']((?:AMZN|DAGSTER)_[A-Z0-9_]+)["']"""
)
DEFAULTED = re.compile(r"\$\{([A-Z0-9_]+):-([^}]*)\}")


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


# Settings.from_env (amzn_assets/settings.py) reads every variable through its get("NAME", ...).
SETTINGS_READ = re.compile(r"""\bget\(\s*["']((?:AMZN|DAGSTER)_[A-Z0-9_]+)["']""")


def env_read_by_code() -> set[str]:
    names: set[str] = set(SETTINGS_READ.findall((REPO / "amzn_assets" / "settings.py").read_text(encoding="utf-8")))
    for path in (REPO / "amzn_assets").rglob("*.py"):
        names |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def env_sources(node) -> set[str]:
    """The names of every `{env: NAME}` in a Dagster config tree."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_sources(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_sources(v) for v in node)) if node else set()
    return set()


def compose_default(value: str) -> str:
    """`${VAR:-default}` -> default (what compose uses without a .env); plain values unchanged."""
    return DEFAULTED.sub(lambda m: m.group(2), str(value))


def command_args(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def option(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


class Dockerfile:
    """Just enough of a Dockerfile parser for our own file."""

    def __init__(self, text: str):
        logical, pending = [], ""
        for raw in text.splitlines():
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if line.startswith("#"):  # a comment inside a continued instruction
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            logical.append(pending + line)
            pending = ""
        self.instructions = [(ins.split(None, 1)[0].upper(), ins.split(None, 1)[1]) for ins in logical]
        self.workdir = PurePosixPath("/")
        self.env: dict[str, str] = {}
        self.args: dict[str, str] = {}
        self.copies: list[tuple[list[str], PurePosixPath, bool]] = []  # (repo sources, image dest, dest is a folder)
        self.users: list[str] = []
        for name, rest in self.instructions:
            if name == "WORKDIR":
                self.workdir = self.workdir / rest.strip()
            elif name == "ENV":
                for token in shlex.split(rest):
                    key, _, value = token.partition("=")
                    self.env[key] = value
            elif name == "ARG":
                key, _, value = rest.strip().partition("=")
                self.args[key] = value.strip('"')
            elif name == "COPY":
                parts = [p for p in shlex.split(rest) if not p.startswith("--")]
                sources, dest = parts[:-1], parts[-1]
                self.copies.append((sources, self.workdir / dest, dest.endswith("/") or len(sources) > 1))
            elif name == "USER":
                self.users.append(rest.strip())

    def all(self, name: str) -> list[str]:
        return [rest for n, rest in self.instructions if n == name]

    def source_of(self, image_path: str) -> Path | None:
        """The repo file or folder that ends up at image_path (the last COPY wins), or None."""
        target = PurePosixPath(image_path)
        for sources, dest, dest_is_dir in reversed(self.copies):
            for src in sources:
                repo_src = REPO / src.rstrip("/")
                if repo_src.is_dir():  # a folder's contents go into dest
                    if target == dest or dest in target.parents:
                        return repo_src / target.relative_to(dest)
                elif (dest / PurePosixPath(src).name if dest_is_dir else dest) == target:
                    return repo_src
        return None


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile(DOCKERFILE.read_text())


# --------------------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------------------


def test_the_seven_services_exist(compose):
    assert set(compose["services"]) == SERVICES
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


def test_project_services_use_the_project_image_and_one_environment(compose):
    services = compose["services"]
    first = services[PROJECT_SERVICES[0]]
    for name in PROJECT_SERVICES:
        service = services[name]
        build = service["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == REPO, name
        context = COMPOSE_FILE.parent / build["context"]
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve(), name
        assert service["image"] == first["image"] and "amzn-assets" in service["image"], name
        # One anchor: the same mapping (after merge keys), not four hand-kept copies.
        assert service["environment"] == first["environment"], name
        assert "data:/data" in service["volumes"], name
    assert "x-amzn-env" in compose and first["environment"] == compose["x-amzn-env"]
    assert "data" in compose["volumes"]


def test_every_variable_the_services_need_is_set(compose):
    from_code = env_read_by_code()
    assert "AMZN_DATA_DIR" in from_code, "the scan of amzn_assets/ for environment variables found nothing"
    instance_env = env_sources(yaml.safe_load(INSTANCE_YAML.read_text()))
    celery_env = env_sources(yaml.safe_load(CELERY_YAML.read_text()))
    assert {n for n in instance_env if n.startswith("DAGSTER_PG_")} == {
        "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD",
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_DB",
    }
    assert celery_env == {"DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL"}
    relevant_from_code = {n for n in from_code if n in CORE_ENV or n.startswith(RELEVANT_PREFIXES)}
    required = CORE_ENV | instance_env | celery_env | relevant_from_code
    for name in PROJECT_SERVICES:
        environment = compose["services"][name]["environment"]
        missing = required - set(environment)
        assert not missing, f"{name} lacks {sorted(missing)}"

    env = {k: compose_default(v) for k, v in compose["x-amzn-env"].items()}
    assert env["AMZN_BACKEND"] == "postgres"
    assert env["AMZN_DATA_DIR"] == "/data"
    assert env["AMZN_POSTGRES_URL"] == "postgresql://amzn:amzn@postgres:5432/amzn"
    assert env["DAGSTER_PG_HOST"] == "postgres"
    assert env["DAGSTER_CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert env["DAGSTER_CELERY_BACKEND_URL"] == "redis://redis:6379/1"
    assert int(env["AMZN_SENSOR_INTERVAL_S"]) > 0
    # The Dagster database lives on the postgres service, with the credentials that service creates.
    pg_env = {k: compose_default(v) for k, v in compose["services"]["postgres"]["environment"].items()}
    assert env["DAGSTER_PG_USERNAME"] == pg_env["POSTGRES_USER"]
    assert env["DAGSTER_PG_PASSWORD"] == pg_env["POSTGRES_PASSWORD"]
    assert env["DAGSTER_PG_DB"] == pg_env["DAGSTER_PG_DB"]
    user, password, db = pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"]
    assert env["AMZN_POSTGRES_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"


def test_secrets_can_be_overridden_and_env_example_matches(compose):
    env = compose["x-amzn-env"]
    pg_env = compose["services"]["postgres"]["environment"]
    for value in (env["DAGSTER_PG_PASSWORD"], pg_env["POSTGRES_PASSWORD"], env["AMZN_POSTGRES_URL"]):
        assert DEFAULTED.fullmatch(value), f"{value!r} is not ${{VAR:-default}}"
    defaults = dict(DEFAULTED.findall(COMPOSE_FILE.read_text()))
    example = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert example, ".env.example is empty"
    for key, value in example.items():
        assert key in defaults, f".env.example sets {key}, which docker-compose.yml does not read"
        assert defaults[key] == value, f"{key}: .env.example says {value!r}, the compose default is {defaults[key]!r}"


def test_workers_listen_on_their_queues(compose, dockerfile):
    for name, queue in (("worker", "dagster"), ("worker_2", "dagster"), ("ml_worker", "ml_queue")):
        args = command_args(compose["services"][name])
        assert args[:3] == ["dagster-celery", "worker", "start"], args
        assert option(args, "-A") == ["dagster_celery.app"]
        assert option(args, "-q") == [queue]
        (config_yaml,) = option(args, "-y")
        source = dockerfile.source_of(config_yaml)
        assert source is not None and source.resolve() == CELERY_YAML.resolve(), (
            f"{config_yaml} is not docker/celery.yaml in the image"
        )
    # The default dagster-celery app routes its tasks to the queue the `worker` service listens on.
    from dagster_celery.make_app import make_app

    assert [q.name for q in make_app().conf.task_queues] == ["dagster"]


def test_two_default_queue_workers_share_the_split_backfills(compose, monkeypatch):
    """Two identical workers on the default queue, and a backfill split into runs of a month (the
    runs the run queue starts side by side): what docs/scaling.md deploys."""
    from dagster import BackfillPolicy

    from amzn_assets.settings import BACKFILL_DAYS_ENV, Settings
    from amzn_assets.wiring.partitions import daily_backfill_policy

    services = compose["services"]
    default_queue = [name for name, svc in services.items() if "command" in svc and option(command_args(svc), "-q") == ["dagster"]]
    assert sorted(default_queue) == ["worker", "worker_2"]
    assert command_args(services["worker"]) == command_args(services["worker_2"])
    days = compose_default(compose["x-amzn-env"][BACKFILL_DAYS_ENV])
    monkeypatch.setenv(BACKFILL_DAYS_ENV, days)
    assert daily_backfill_policy(Settings.from_env()) == BackfillPolicy.multi_run(int(days)) and int(days) == 31
    monkeypatch.setenv(BACKFILL_DAYS_ENV, "")
    assert daily_backfill_policy(Settings.from_env()) == BackfillPolicy.single_run()  # the code's default
    monkeypatch.setenv(BACKFILL_DAYS_ENV, "a month")
    with pytest.raises(ValueError, match="whole number of days"):
        daily_backfill_policy(Settings.from_env())


def test_webserver_and_daemon_commands(compose, dockerfile):
    web = compose["services"]["webserver"]
    assert command_args(web) == ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
    assert any(str(p).split(":")[-1] == "3000" for p in web["ports"]), web["ports"]
    assert command_args(compose["services"]["daemon"]) == ["dagster-daemon", "run", "-w", "workspace.yaml"]
    for name in PROJECT_SERVICES:
        args = command_args(compose["services"][name])
        # The image installs the same pinned packages as this venv: the console scripts exist.
        assert (VENV_BIN / args[0]).exists(), f"{args[0]} is not a console script of the installed packages"
        for workspace in option(args, "-w"):
            source = dockerfile.source_of(str(dockerfile.workdir / workspace))
            assert source is not None and source.is_file(), f"{workspace} is not in the image's WORKDIR"


def test_start_is_gated_on_healthy_postgres_and_redis(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    for name in PROJECT_SERVICES:
        depends = services[name]["depends_on"]
        for dependency in ("postgres", "redis"):
            assert depends[dependency]["condition"] == "service_healthy", f"{name} -> {dependency}"


def test_postgres_init_script_is_mounted_and_valid_sh(compose):
    mounts = compose["services"]["postgres"]["volumes"]
    init = [m for m in mounts if m.split(":")[1].startswith("/docker-entrypoint-initdb.d/")]
    assert init, mounts
    for mount in init:
        assert (COMPOSE_FILE.parent / mount.split(":")[0]).resolve().is_file(), mount
    subprocess.run(["sh", "-n", str(PG_INIT)], check=True)


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], check=False, capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and subprocess.run([standalone, "version"], check=False, capture_output=True).returncode == 0:
        return [standalone]
    return None


def test_docker_compose_config_parses():
    client = _compose_client()
    if client is None:
        pytest.skip(
            "no compose client: `docker compose` (the compose CLI plugin) is not installed"
            + (" (the docker client is)" if shutil.which("docker") else " (nor the docker client)")
            + " and there is no docker-compose binary"
        )
    result = subprocess.run(
        [*client, "-f", str(COMPOSE_FILE), "config", "-q"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------------
# dagster.yaml
# --------------------------------------------------------------------------------------------------

PG_ENV = {
    "DAGSTER_PG_USERNAME": "amzn",
    "DAGSTER_PG_PASSWORD": "s3cret",
    "DAGSTER_PG_HOST": "postgres",
    "DAGSTER_PG_DB": "dagster",
}


def test_instance_yaml_is_postgres_from_the_environment():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    assert list(config["storage"]) == ["postgres"]
    db = config["storage"]["postgres"]["postgres_db"]
    for key, env in (
        ("username", "DAGSTER_PG_USERNAME"),
        ("password", "DAGSTER_PG_PASSWORD"),
        ("hostname", "DAGSTER_PG_HOST"),
        ("db_name", "DAGSTER_PG_DB"),
    ):
        assert db[key] == {"env": env}
    assert db["port"] == 5432
    assert config["telemetry"] == {"enabled": False}
    # The same run queue and retries as the embedded default.
    embedded = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["concurrency"] == embedded["concurrency"]
    assert config["run_queue"] == embedded["run_queue"] == {"dequeue_interval_seconds": 1}
    assert config["run_monitoring"] == embedded["run_monitoring"] and embedded["run_monitoring"]["enabled"]
    assert config["run_retries"] == embedded["run_retries"]
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "amzn/serial", "limit": 1} in limits


def test_instance_yaml_passes_dagsters_validation(tmp_path, monkeypatch):
    import sqlalchemy
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.storage.config import pg_config
    from dagster_postgres.utils import pg_url_from_config

    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))  # validates; connects to nothing
    assert custom_class is None
    assert config["run_retries"]["enabled"] is True and config["run_retries"]["max_retries"] == 1
    # What dagster-postgres makes of it: the env values, and a driver this image has (psycopg2;
    # SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql:// URL).
    processed = process_config(resolve_to_config_type(pg_config()), config["storage"]["postgres"])
    assert processed.success, processed.errors
    pg = processed.value
    url = pg_url_from_config(pg)
    assert url == "postgresql+psycopg2://amzn:s3cret@postgres:5432/dagster"
    assert sqlalchemy.create_engine(url).dialect.driver == "psycopg2"


def _psql() -> str | None:
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("psql")


def test_instance_yaml_runs_on_a_real_postgres(postgres_url, tmp_path, monkeypatch):
    """docker/dagster.yaml on the suite's PostgreSQL: the init script creates the Dagster database,
    then a DagsterInstance is created from the file (only the server's location is added: the
    suite's server may listen on a Unix socket or another port), creates its tables and queries them."""
    import sqlalchemy
    from dagster import DagsterInstance
    from dagster._core.launcher import DefaultRunLauncher
    from dagster_postgres import PostgresRunStorage
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    socket_dir = url.query.get("host")
    db_name = f"dagster_docker_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(url.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    psql = _psql()
    try:
        if psql:  # what the postgres image does on its first start
            env = {
                **os.environ,
                "PATH": f"{Path(psql).parent}{os.pathsep}{os.environ['PATH']}",
                "PGHOST": socket_dir or url.host or "",
                "PGPORT": str(url.port or 5432),
                "PGPASSWORD": url.password or "",
                "POSTGRES_USER": url.username,
                "POSTGRES_DB": url.database,
                "DAGSTER_PG_DB": db_name,
            }
            result = subprocess.run(
                ["sh", str(PG_INIT)], check=False, env=env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, result.stderr
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')

        config = yaml.safe_load(INSTANCE_YAML.read_text())
        db = config["storage"]["postgres"]["postgres_db"]
        if socket_dir:
            db["params"] = {"host": socket_dir}
        if url.port:
            db["port"] = url.port
        (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username)
        monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
        monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "")
        monkeypatch.setenv("DAGSTER_PG_DB", db_name)

        instance = DagsterInstance.from_config(str(tmp_path))
        try:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert instance.get_runs() == []
            assert isinstance(instance.run_launcher, DefaultRunLauncher)
            queue = instance.get_concurrency_config().run_queue_config
            assert queue.max_concurrent_runs == 4
            assert [dict(t) for t in queue.tag_concurrency_limits] == [{"key": "amzn/serial", "limit": 1}]
            assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        finally:
            instance.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.dispose()


# --------------------------------------------------------------------------------------------------
# celery.yaml
# --------------------------------------------------------------------------------------------------


def test_celery_yaml_is_the_executor_config(tmp_path, monkeypatch):
    from dagster_celery.cli import get_config_dir, get_validated_config

    config = yaml.safe_load(CELERY_YAML.read_text())
    block = config["execution"]["config"]
    assert block["broker"] == {"env": "DAGSTER_CELERY_BROKER_URL"}
    assert block["backend"] == {"env": "DAGSTER_CELERY_BACKEND_URL"}

    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "redis://redis:6379/0")
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://redis:6379/1")
    validated = get_validated_config(str(CELERY_YAML))
    assert validated["broker"] == "redis://redis:6379/0"
    assert validated["backend"] == "redis://redis:6379/1"

    # `dagster-celery worker start -y` writes this module and starts celery with it on PYTHONPATH.
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    module = Path(get_config_dir(str(CELERY_YAML))) / "dagster_celery_config.py"
    text = module.read_text()
    assert "broker_url = 'redis://redis:6379/0'" in text
    assert "result_backend = 'redis://redis:6379/1'" in text


# --------------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------------


def test_dockerfile_base_extras_env_and_user(dockerfile):
    (base,) = dockerfile.all("FROM")
    assert base.strip() == "python:3.11-slim-bookworm"
    assert dockerfile.args.get("EXTRAS") == "ml"
    assert str(dockerfile.workdir) == "/opt/amzn-assets"
    assert dockerfile.env["DAGSTER_HOME"] == "/opt/dagster/home"
    assert dockerfile.env["AMZN_DATA_DIR"] == "/data"
    instance = dockerfile.source_of("/opt/dagster/home/dagster.yaml")
    assert instance is not None and instance.resolve() == INSTANCE_YAML.resolve()
    if "AMZN_SQL_DIR" in env_read_by_code():  # the package is not installed editable in the image
        sql = dockerfile.source_of(dockerfile.env["AMZN_SQL_DIR"])
        assert sql is not None and sql.resolve() == (REPO / "sql").resolve()
    assert dockerfile.users and dockerfile.users[-1] not in ("root", "0"), "the image must not run as root"
    assert any("useradd" in run for run in dockerfile.all("RUN"))


def test_dockerfile_copy_sources_exist(dockerfile):
    sources = [src for srcs, _, _ in dockerfile.copies for src in srcs]
    for src in sources:
        assert (REPO / src).exists(), f"COPY {src}: not in the repository"
    for needed in ("pyproject.toml", "README.md", "amzn_assets", "sql", "workspace.yaml", "docker/dagster.yaml"):
        assert any(src.rstrip("/") == needed for src in sources), f"the Dockerfile does not copy {needed}"


def test_dockerfile_cmd_is_an_installed_command(dockerfile):
    (cmd,) = dockerfile.all("CMD")
    args = json.loads(cmd)  # exec form
    assert (VENV_BIN / args[0]).exists(), args
    assert not dockerfile.all("ENTRYPOINT")


def test_dockerfile_installs_the_extras_that_exist(dockerfile):
    """The install line, run by a shell as the build does: EXTRAS=ml installs `.[ml]`, EXTRAS=""
    plain `.`; the default extras are declared in pyproject.toml (pip only warns on unknown ones)."""
    import tomllib

    (install,) = [run for run in dockerfile.all("RUN") if "pip install" in run]
    spec = re.search(r'pip install ("[^"]*")', install)
    assert spec, "the pip install line is not where this test expects it"

    def expand(value: str) -> str:
        return subprocess.run(
            ["bash", "-c", f"echo {spec.group(1)}"], env={"EXTRAS": value}, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert expand("ml") == ".[ml]"
    assert expand("") == "."
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(dockerfile.args["EXTRAS"].split(",")) <= set(extras)
    # Celery's redis:// broker needs the redis client: the dagster-celery[redis] dependency brings it.
    assert "dagster-celery[redis]" in (REPO / "pyproject.toml").read_text()
    assert "celery" in install  # and the tools are checked to be on PATH
