"""Shared fixtures: a throwaway data directory and a small generated sample in it."""

from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from datetime import date
from pathlib import Path

import orjson
import pytest

from amzn_assets.data_dirs import DataDirs

FIXTURES = Path(__file__).parent / "fixtures"

SAMPLE_START = date(2018, 1, 1)
SAMPLE_DAYS = 5
SAMPLE_REVIEWS = 400

warnings.filterwarnings("ignore", message=".*is currently in beta.*")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server: AMZN_TEST_POSTGRES_URL, or a throwaway one started from the pgserver wheel."""
    url = os.environ.get("AMZN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    import pgserver

    # Its own temp dir, not pytest's numbered one: pytest prunes old numbered dirs, which would pull
    # the data directory from under a server that a concurrent session still uses.
    data = tempfile.mkdtemp(prefix="amzn-test-pg-")
    server = pgserver.get_server(data, cleanup_mode="delete")
    # A libpq URL over a Unix socket; name the driver we ship (SQLAlchemy 2.1 defaults to psycopg 3).
    yield server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    server.cleanup()


@pytest.fixture(scope="session")
def s3_server():
    """Start moto's threaded S3-compatible server on a free local port; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # port 0: the OS picks
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(s3_server: str, monkeypatch) -> str:
    """Point boto3, s3fs and pyarrow (here and in subprocesses) at moto's server, away from any
    real account; returns the endpoint URL."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "AMZN_REDSHIFT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return s3_server


@pytest.fixture
def dirs(tmp_path: Path) -> DataDirs:
    return DataDirs(tmp_path / "data")


@pytest.fixture
def sample(dirs: DataDirs):
    from amzn_assets.generate import generate_sample

    return generate_sample(
        dirs.root, seed=7, start=SAMPLE_START, days=SAMPLE_DAYS, reviews=SAMPLE_REVIEWS, stations=3
    )


def upload(dirs: DataDirs, rel: str, payload: bytes) -> Path:
    """Put a file into the upload area the way the uploader does (whole, under its final name)."""
    path = dirs.uploaded / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def review_json(**overrides) -> dict:
    review = {
        "overall": 4.0,
        "verified": True,
        "reviewTime": "01 2, 2018",
        "reviewerID": "A1TESTREVIEWER",
        "asin": "B000TEST01",
        "reviewerName": "Tess",
        "reviewText": "Works as described.",
        "summary": "Good",
        "unixReviewTime": 1514851200,  # 2018-01-02
    }
    review.update(overrides)
    return {k: v for k, v in review.items() if v is not ...}


def gz_review(**overrides) -> bytes:
    return gzip.compress(orjson.dumps(review_json(**overrides)) + b"\n", mtime=0)
