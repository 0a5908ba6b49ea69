"""A real dagster-webserver on a free local port, for the GraphQL and browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from amzn_assets.data_dirs import DataDirs
from amzn_assets_tests.daemon import create_instance

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSET_GRAPH = "{ assetNodes { assetKey { path } dependencyKeys { path } partitionDefinition { type } } }"


def env_for(dirs: DataDirs, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    create_instance(home)  # before the webserver (and a test) open it: no SQLite creation race
    return {**os.environ, "DAGSTER_HOME": str(home), "AMZN_DATA_DIR": str(dirs.root)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_webserver(env: dict[str, str], timeout: float = 120) -> Iterator[tuple[str, list]]:
    """Start `dagster-webserver -w workspace.yaml`; yield (base URL, asset nodes from GraphQL) once
    it serves the asset graph."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        nodes = None
        while time.monotonic() < deadline:
            assert server.poll() is None, f"dagster-webserver exited with {server.returncode} before serving"
            try:
                nodes = requests.post(f"{base}/graphql", json={"query": ASSET_GRAPH}, timeout=10).json()["data"]["assetNodes"]
                if nodes:
                    break
            except (requests.RequestException, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
        assert nodes, "webserver did not answer with the asset graph"
        yield base, nodes
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
