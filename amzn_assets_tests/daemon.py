"""A real dagster-daemon over the code location, with its own DAGSTER_HOME, for the sensor tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from amzn_assets.data_dirs import DataDirs

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@contextmanager
def running_daemon(dirs: DataDirs, home: Path, log: Path, kill_with: int = signal.SIGTERM, **settings: str) -> Iterator[dict]:
    """`dagster-daemon run -w workspace.yaml` with the sensors on, ticking every second, plus any
    AMZN_* settings given; yields its environment. On the way out its process group gets
    `kill_with` (SIGTERM, then SIGKILL after 30 s; SIGKILL: a crash, runs included)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    create_instance(home)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "AMZN_DATA_DIR": str(dirs.root),
        "AMZN_SENSOR_INTERVAL_S": "1",
        "AMZN_SENSORS_RUNNING": "1",
        **settings,
    }
    with open(log, "ab") as err:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    try:
        yield env
    finally:
        os.killpg(daemon.pid, kill_with)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)


def create_instance(home: Path) -> None:
    """Create the instance's SQLite tables before any process opens it: a daemon and a test creating
    them at once collide ("table secondary_indexes already exists")."""
    with instance_at(home):
        pass


def wait_for(condition, timeout: float, what: str, log: Path | None = None, home: Path | None = None) -> None:
    """Poll `condition` every second; past `timeout`, fail with the daemon log's tail and, given its
    DAGSTER_HOME, the runs of the instance and the stream sensor's last ticks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    tail = f"\n{log_tail(log)}" if log else ""
    state = f"\n{instance_state(home)}" if home else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{state}{tail}")


def log_tail(log: Path, chars: int = 3000) -> str:
    """The log's end without the warnings every process prints as it loads the definitions."""
    kept, skip_indented = [], False
    for line in log.read_text(errors="replace").splitlines():
        if "Warning: " in line:
            skip_indented = True
            continue
        if skip_indented and line.startswith(" "):
            continue
        skip_indented = False
        kept.append(line)
    return "\n".join(kept)[-chars:]


@contextmanager
def instance_at(home: Path) -> Iterator:
    """The daemon's instance, opened from its DAGSTER_HOME (which dagster.yaml reads)."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous


def instance_state(home: Path) -> str:
    """Each run (job, status, sensor, parent run) and the stream sensor's last ticks, for a failure's message."""
    try:
        with instance_at(home) as instance:
            lines = [
                f"run {r.run_id[:8]} {r.job_name} {r.status.value} sensor={r.tags.get('dagster/sensor_name')} parent={r.tags.get('dagster/parent_run_id', '')[:8]}"
                for r in instance.get_runs(limit=30)
            ]
            for state in instance.all_instigator_state():
                if state.name == "stream_sensor":
                    for t in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5):
                        lines.append(f"tick {t.status.value} runs={[r[:8] for r in t.run_ids]} skip={t.skip_reason} error={t.error and t.error.message[:300]}")
            return "\n".join(lines)
    except Exception as error:  # noqa: BLE001 - a diagnostic must not hide the failure it explains
        return f"(instance state unreadable: {error!r})"
