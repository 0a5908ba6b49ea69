"""How Dagster runs and watches the assets: the concurrency pool of the steps that write the
warehouse, the retry policy for transient faults, and the freshness policies (docs/dagster.md).

- Pool: every step that writes the configured warehouse (the star and reference tables) declares
  WAREHOUSE_POOL; `concurrency.pools.default_limit` in dagster.yaml (and docker/dagster.yaml) caps how
  many such steps run at once across all runs and Celery workers, so PostgreSQL's max_connections is
  sized from that limit, not from worker slots. `dagster instance concurrency set amzn_warehouse N`
  overrides it per deployment.
- Retries: a step that meets a transient fault (a database restart, an S3 5xx, a dropped
  connection) is retried with exponential backoff; every write replaces or upserts its partitions,
  so a retry never duplicates rows. A deliberate refusal (a failed blocking check, a refused model
  month) raises dagster.Failure(allow_retries=False): no retry, the step fails once with its reason.
- Freshness: Dagster's FreshnessPolicy (1.11+ API), evaluated by the daemon's freshness daemon
  without any run: landed_reviews and reviews_fact from AMZN_STREAM_FRESHNESS_MINUTES, the model
  evaluation from AMZN_MODEL_FRESHNESS_DAYS.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import Backoff, FreshnessPolicy, Jitter, RetryPolicy

from amzn_assets.settings import Settings

WAREHOUSE_POOL = "amzn_warehouse"

# 3 retries after ~5, ~10 and ~20 s: long enough for a PostgreSQL restart or an S3 throttling burst.
TRANSIENT_RETRY = RetryPolicy(max_retries=3, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)

_MINUTE = timedelta(minutes=1)


def stream_freshness(settings: Settings) -> FreshnessPolicy:
    """Fails after AMZN_STREAM_FRESHNESS_MINUTES without a materialization (default 6 h), warns after a
    sixth of it (1 h) when that is at least Dagster's minimum of one minute."""
    fail = timedelta(minutes=settings.stream_freshness_minutes)
    warn = fail / 6
    return FreshnessPolicy.time_window(fail_window=fail, warn_window=warn if warn >= _MINUTE else None)


def model_freshness(settings: Settings) -> FreshnessPolicy:
    """A month's evaluation is expected every month: fails after AMZN_MODEL_FRESHNESS_DAYS (default 35)
    without a rating_model_evaluation materialization, warns three days before."""
    days = settings.model_freshness_days
    warn = timedelta(days=days - 3)
    return FreshnessPolicy.time_window(fail_window=timedelta(days=days), warn_window=warn if warn >= _MINUTE else None)
