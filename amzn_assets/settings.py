"""Where the data lives, from the environment, so the CLI, the assets and the tests agree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDirs:
    """The on-disk layout under one data directory (the seed project's layout, plus landing)."""

    root: Path

    @property
    def uploaded(self) -> Path:
        return self.root / "uploaded"

    @property
    def landed(self) -> Path:
        return self.root / "landed"

    @property
    def raw(self) -> Path:
        """Archive of source files that landed (the seed's backup folder)."""
        return self.root / "raw"

    @property
    def quarantine(self) -> Path:
        """Source files that could not be landed at all, kept for inspection."""
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    def ledger_url(self) -> str:
        """AMZN_LEDGER_URL; else the Postgres warehouse when AMZN_BACKEND=postgres; else SQLite here."""
        if os.environ.get("AMZN_LEDGER_URL"):
            return os.environ["AMZN_LEDGER_URL"]
        if os.environ.get("AMZN_BACKEND") == "postgres" and os.environ.get("AMZN_POSTGRES_URL"):
            return os.environ["AMZN_POSTGRES_URL"]
        return f"sqlite:///{self.landed / 'ledger.sqlite'}"


def data_dir_from_env() -> Path:
    return Path(os.environ.get("AMZN_DATA_DIR", "data")).resolve()


def dirs_from_env() -> DataDirs:
    return DataDirs(data_dir_from_env())


def sensors_default_running() -> bool:
    """AMZN_SENSORS_RUNNING=1 starts the sensors on (for compose and tests); else turn them on in the UI."""
    return os.environ.get("AMZN_SENSORS_RUNNING", "") in ("1", "true", "yes")


def s3_prefix(explicit: str | None = None) -> str:
    """The S3 backend's root, s3://bucket/prefix without a trailing slash: the explicit value (tests),
    else AMZN_S3_PREFIX. The warehouse lives under <prefix>/warehouse, model artifacts under <prefix>/models."""
    prefix = explicit if explicit is not None else os.environ.get("AMZN_S3_PREFIX", "")
    if not prefix.startswith("s3://"):
        raise ValueError("AMZN_BACKEND=s3 needs AMZN_S3_PREFIX=s3://bucket/prefix")
    return prefix.rstrip("/")


def model_sensor_default_running() -> bool:
    """AMZN_MODEL_SENSOR_RUNNING=1 starts rating_model_sensor on; else turn it on in the UI."""
    return os.environ.get("AMZN_MODEL_SENSOR_RUNNING", "") in ("1", "true", "yes")


def sql_dir() -> Path:
    """The repository's sql/ folder (AMZN_SQL_DIR overrides it, e.g. in an image)."""
    if os.environ.get("AMZN_SQL_DIR"):
        return Path(os.environ["AMZN_SQL_DIR"])
    beside_package = Path(__file__).resolve().parents[1] / "sql"
    return beside_package if beside_package.is_dir() else Path.cwd() / "sql"


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (postgresql://...) for SQLAlchemy with the psycopg2 driver this project ships.

    SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The inverse of sqlalchemy_url, for psycopg2.connect and psql."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)
