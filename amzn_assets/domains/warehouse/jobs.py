"""The warehouse (the daily star schema: the reviews and climate groups) as one asset job on the Celery
executor (amzn_assets.wiring.celery), every step on queue ``dagster``. The rating model's Celery
jobs are in domains/rating_model/jobs.py.

A partitioned run needs every asset of its job on one partitions definition (Dagster 1.13 refuses to
resolve an asset job whose selection mixes them: "Selected assets must have the same partitions
definitions"). So the daily warehouse has its own job, and the rating model two: its monthly assets
and its daily predictions.

A backfill of ``warehouse_celery_job`` (UI: Jobs -> the job -> Partitions -> Launch backfill) follows
the daily assets' backfill policy: one run per range by default; with ``AMZN_BACKFILL_DAYS_PER_RUN=N``
(amzn_assets.wiring.partitions) runs of at most N days, which the run queue starts side by side, their
steps spread over every worker on the ``dagster`` queue (docs/scaling.md).
"""

from __future__ import annotations

from dagster import AssetSelection

from amzn_assets.wiring import groups
from amzn_assets.wiring.celery import DEFAULT_QUEUE, celery_asset_job

# The daily star schema, with the unpartitioned station_list and product_catalog (Dagster lets
# unpartitioned assets join a partitioned job): each run writes them once, beside its days.
warehouse_celery_job = celery_asset_job(
    "warehouse_celery_job",
    AssetSelection.groups(*groups.WAREHOUSE),
    description=f"The daily warehouse (reviews and climate groups) on the Celery workers; every step on the default queue '{DEFAULT_QUEUE}'.",
)
