"""Test-only code location for the Celery test: the daily warehouse assets, one ML stand-in, the
Celery jobs from amzn_assets.celery_jobs.

The stand-in is "ML-like" in the way that matters to the routing: it is downstream of reviews_fact
and carries the same op tag as the real ML assets (``dagster-celery/queue: ml_queue``), but it needs
neither TensorFlow nor amzn_assets.assets.ml, so the test proves the queue routing whether or not the
ML assets exist yet. It records the host and pid that computed it, as a second witness next to
dagster_celery's own "Executing steps ... in celery worker" event.

Workers and the run load this module as ``amzn_assets_tests.celery.standin_defs`` (cwd = repo root),
with AMZN_DATA_DIR and DAGSTER_HOME from the environment.
"""

import os
import socket

from dagster import (
    AssetExecutionContext,
    Definitions,
    MaterializeResult,
    asset,
    load_assets_from_modules,
)

from amzn_assets.assets import climate, reviews
from amzn_assets.celery_jobs import ML_QUEUE_TAGS, celery_jobs
from amzn_assets.definitions import resources_for
from amzn_assets.partitions import daily_partitions
from amzn_assets.settings import dirs_from_env
from amzn_assets.warehouse.query import run_query

STANDIN_ML_ASSET = "review_rating_standin"


@asset(
    name=STANDIN_ML_ASSET,
    partitions_def=daily_partitions,
    deps=[reviews.reviews_fact],
    op_tags=ML_QUEUE_TAGS,
    group_name="ml_standin",
    description="Test stand-in for an ML asset: the day's review count and mean rating, on the ml_queue worker.",
)
def review_rating_standin(context: AssetExecutionContext) -> MaterializeResult:
    days = ", ".join(f"DATE '{d}'" for d in context.partition_keys)
    count, mean = run_query(
        dirs_from_env().warehouse,
        f"SELECT count(*), avg(rating) FROM reviews_fact WHERE review_date IN ({days})",
    ).rows[0]
    return MaterializeResult(
        metadata={
            "reviews": int(count),
            "mean_rating": float(mean or 0.0),
            "computed_on_host": socket.gethostname(),
            "computed_in_pid": os.getpid(),
        }
    )


warehouse_assets = load_assets_from_modules([reviews, climate])

defs = Definitions(
    assets=[*warehouse_assets, review_rating_standin],
    jobs=celery_jobs([review_rating_standin]),
    resources=resources_for("local", str(dirs_from_env().root)),
)
