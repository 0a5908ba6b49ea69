"""Every setting of a deployment, as data: read from the environment in one place (Settings.from_env),
called by the two entry points only (the code location's definitions function in definitions.py and the
CLI's main), which pass the Settings down. Nothing else in the package reads os.environ, and this module
imports nothing of the package but the data directory's layout (data_dirs.py): what a setting
selects (a backend, a ledger) is decided in backends/."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from amzn_assets.data_dirs import DataDirs

BACKFILL_DAYS_ENV = "AMZN_BACKFILL_DAYS_PER_RUN"
_TRUE = ("1", "true", "yes")


@dataclass(frozen=True)
class RedshiftSettings:
    """AMZN_REDSHIFT_*: the warehouse's connection (the IO manager, `query`) and the cluster that
    `amzn-assets redshift cluster create` makes (backends.redshift.admin.ClusterSpec), with one set of defaults."""

    host: str = ""
    port: int = 5439
    user: str = "amzn_admin"
    password: str = ""
    database: str = "amzn"
    schema: str = "public"
    staging: str = ""
    iam_role: str = ""  # comma-separated ARNs: COPY assumes the first, a new cluster gets them all
    cluster_id: str = "amzn-assets"
    node_type: str = "dc2.large"
    nodes: int = 2
    subnet_group: str = ""


@dataclass(frozen=True)
class Settings:
    """One deployment's settings. Build it with from_env (once per process entry point: the CLI's
    main, the code location) and pass it down; with_overrides gives the explicit values of tests."""

    data_dir: Path
    backend: str = "local"
    upload_url: str = ""  # default: the data directory; s3://bucket/prefix for an S3 upload area
    ledger_url_override: str = ""  # AMZN_LEDGER_URL
    postgres_url: str = ""
    postgres_schema: str = "public"
    s3_prefix_url: str = ""  # AMZN_S3_PREFIX, the S3 backend's root
    aws_endpoint_url: str = ""  # a local S3 API (moto, MinIO); boto3 reads it too
    redshift: RedshiftSettings = field(default_factory=RedshiftSettings)
    sql_dir_override: str = ""
    sensors_running: bool = False
    model_sensor_running: bool = False
    sensor_interval_s: int = 30
    backfill_days_per_run: str = ""
    model_window_months: int = 0  # 0: the rating model trains on all history up to its month; N: the N months ending with it
    model_preset: str = "full"
    # Dagster freshness policies (wiring/policies.py): landed_reviews and reviews_fact fail after this
    # many minutes without a materialization (warn after a sixth of it); the model evaluation after this many days.
    stream_freshness_minutes: int = 360
    model_freshness_days: int = 35
    # What one uploaded file may hold (sources/inflate.py ReadLimits; docs/reliability.md).
    upload_max_file_mb: int = 12
    upload_max_inflated_mb: int = 12
    upload_max_ratio: int = 100
    upload_max_line_mb: int = 16
    upload_partial_grace_s: int = 120
    debug: bool = False
    dagster_home: str = ""
    # Secrets read from the environment: Dagster resources get them as EnvVar, so the UI shows the
    # variable's name rather than its value.
    secrets_from_env: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        get = lambda name, default="": env.get(name, "") or default  # noqa: E731
        number = lambda name, default: _whole_number(name, get(name, str(default)))  # noqa: E731
        return cls(
            data_dir=Path(get("AMZN_DATA_DIR", "data")).resolve(),
            backend=get("AMZN_BACKEND", "local"),
            upload_url=get("AMZN_UPLOAD_URL"),
            ledger_url_override=get("AMZN_LEDGER_URL"),
            postgres_url=get("AMZN_POSTGRES_URL"),
            postgres_schema=get("AMZN_POSTGRES_SCHEMA", "public"),
            s3_prefix_url=get("AMZN_S3_PREFIX"),
            aws_endpoint_url=get("AWS_ENDPOINT_URL"),
            redshift=RedshiftSettings(
                host=get("AMZN_REDSHIFT_HOST"),
                port=number("AMZN_REDSHIFT_PORT", RedshiftSettings.port),
                user=get("AMZN_REDSHIFT_USER", RedshiftSettings.user),
                password=get("AMZN_REDSHIFT_PASSWORD"),
                database=get("AMZN_REDSHIFT_DB", RedshiftSettings.database),
                schema=get("AMZN_REDSHIFT_SCHEMA", "public"),
                staging=get("AMZN_REDSHIFT_STAGING"),
                iam_role=get("AMZN_REDSHIFT_IAM_ROLE"),
                cluster_id=get("AMZN_REDSHIFT_CLUSTER_ID", RedshiftSettings.cluster_id),
                node_type=get("AMZN_REDSHIFT_NODE_TYPE", RedshiftSettings.node_type),
                nodes=number("AMZN_REDSHIFT_NODES", RedshiftSettings.nodes),
                subnet_group=get("AMZN_REDSHIFT_SUBNET_GROUP"),
            ),
            sql_dir_override=get("AMZN_SQL_DIR"),
            sensors_running=get("AMZN_SENSORS_RUNNING") in _TRUE,
            model_sensor_running=get("AMZN_MODEL_SENSOR_RUNNING") in _TRUE,
            sensor_interval_s=number("AMZN_SENSOR_INTERVAL_S", cls.sensor_interval_s),
            backfill_days_per_run=get(BACKFILL_DAYS_ENV).strip(),
            model_window_months=number("AMZN_MODEL_WINDOW_MONTHS", cls.model_window_months),
            model_preset=get("AMZN_MODEL_PRESET", "full"),
            stream_freshness_minutes=number("AMZN_STREAM_FRESHNESS_MINUTES", cls.stream_freshness_minutes),
            model_freshness_days=number("AMZN_MODEL_FRESHNESS_DAYS", cls.model_freshness_days),
            upload_max_file_mb=number("AMZN_UPLOAD_MAX_FILE_MB", cls.upload_max_file_mb),
            upload_max_inflated_mb=number("AMZN_UPLOAD_MAX_INFLATED_MB", cls.upload_max_inflated_mb),
            upload_max_ratio=number("AMZN_UPLOAD_MAX_RATIO", cls.upload_max_ratio),
            upload_max_line_mb=number("AMZN_UPLOAD_MAX_LINE_MB", cls.upload_max_line_mb),
            upload_partial_grace_s=number("AMZN_UPLOAD_PARTIAL_GRACE_S", cls.upload_partial_grace_s),
            debug=bool(get("AMZN_DEBUG")),
            dagster_home=get("DAGSTER_HOME"),
            secrets_from_env=frozenset(
                n for n in ("AMZN_POSTGRES_URL", "AMZN_REDSHIFT_PASSWORD", "AMZN_LEDGER_URL") if get(n)
            ),
        )

    def with_data_dir(self, data_dir: str | Path | None) -> Settings:
        """The --data-dir flag: the same settings over another data directory."""
        return self if data_dir is None else replace(self, data_dir=Path(data_dir).resolve())

    def with_overrides(
        self,
        *,
        backend: str | None = None,
        data_dir: str | Path | None = None,
        upload_url: str | None = None,
        postgres_url: str | None = None,
        s3_prefix: str | None = None,
        ledger_url: str | None = None,
    ) -> Settings:
        """Explicit values (tests, benchmarks) over these settings; None keeps a value."""
        changes: dict = {}
        secrets = set(self.secrets_from_env)
        if backend is not None:
            changes["backend"] = backend
        if upload_url is not None:
            changes["upload_url"] = upload_url
        if postgres_url is not None:
            changes["postgres_url"] = postgres_url
            secrets.discard("AMZN_POSTGRES_URL")
        if s3_prefix is not None:
            changes["s3_prefix_url"] = s3_prefix
        if ledger_url is not None:
            changes["ledger_url_override"] = ledger_url
            secrets.discard("AMZN_LEDGER_URL")
        return replace(self.with_data_dir(data_dir), secrets_from_env=frozenset(secrets), **changes)

    @property
    def dirs(self) -> DataDirs:
        return DataDirs(self.data_dir)

    @property
    def upload_root(self) -> str:
        """Where uploaded/, raw/ and quarantine/ live: AMZN_UPLOAD_URL, else the data directory."""
        return self.upload_url or str(self.data_dir)

    @property
    def uploads_to_s3(self) -> bool:
        return self.upload_url.startswith("s3://")

    def s3_prefix(self) -> str:
        """The S3 backend's root, s3://bucket/prefix without a trailing slash. The warehouse lives
        under <prefix>/warehouse, model artifacts under <prefix>/models."""
        return s3_prefix(self.s3_prefix_url)


def _whole_number(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number (got {text!r})") from None


def s3_prefix(prefix: str | None) -> str:
    """s3://bucket/prefix without a trailing slash, or a clear error."""
    if not (prefix or "").startswith("s3://"):
        raise ValueError("AMZN_BACKEND=s3 needs AMZN_S3_PREFIX=s3://bucket/prefix")
    return prefix.rstrip("/")
