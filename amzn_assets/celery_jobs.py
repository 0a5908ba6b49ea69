"""Asset jobs on dagster_celery's celery_executor: every step is a Celery task on a Redis broker.

How a step finds its queue (dagster_celery 0.29.27, core_execution_loop.py): the run process submits
each step to ``step.tags.get("dagster-celery/queue", app.conf.task_default_queue)``, and the default
queue is ``"dagster"`` (dagster_celery.defaults.task_default_queue). An asset's step tags are its
``op_tags``, so the ML assets (``op_tags={"dagster-celery/queue": "ml_queue"}``) go to the
``ml_queue`` worker and every other step to the ``dagster`` worker:

    dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml -q dagster
    dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml -q ml_queue

The executor reads the broker and result backend from ``DAGSTER_CELERY_BROKER_URL`` and
``DAGSTER_CELERY_BACKEND_URL`` (the same variables docker/celery.yaml gives the workers) when a run
starts, not when the code location loads. A Celery run waits for a worker forever: start the workers
first.

A partitioned run needs every asset of its job on one partitions definition (Dagster 1.13 refuses to
resolve an asset job whose selection mixes them: "Selected assets must have the same partitions
definitions"). So the daily warehouse assets have their own job, and the ML assets get one job per
partitions definition they use (``celery_jobs(ml_assets)``).

A backfill of ``warehouse_celery_job`` (UI: Jobs -> the job -> Partitions -> Launch backfill) follows
the daily assets' backfill policy: one run per range by default; with ``AMZN_BACKFILL_DAYS_PER_RUN=N``
(amzn_assets.partitions) runs of at most N days, which the run queue starts side by side, their
steps spread over every worker on the ``dagster`` queue (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

from dagster import (
    AssetsDefinition,
    AssetSelection,
    PartitionsDefinition,
    define_asset_job,
)
from dagster_celery import celery_executor
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

DEFAULT_QUEUE = "dagster"  # dagster_celery's task_default_queue: steps without a queue tag
ML_QUEUE = "ml_queue"
ML_QUEUE_TAGS = {DAGSTER_CELERY_QUEUE_TAG: ML_QUEUE}  # op_tags for an asset that must run on the ML worker

# What define_asset_job returns: an asset job resolved when the Definitions load (its class is not
# part of Dagster's public API).
AssetJob: TypeAlias = Any

BROKER_ENV = "DAGSTER_CELERY_BROKER_URL"
BACKEND_ENV = "DAGSTER_CELERY_BACKEND_URL"

# The executor every job here uses. `env:` values are resolved when a run's plan is built, so the
# code location loads without them; a run without them fails at once with a config error.
celery_redis_executor = celery_executor.configured(
    {
        "broker": {"env": BROKER_ENV},
        "backend": {"env": BACKEND_ENV},
    },
    name="celery_redis",
)

# The daily star schema: every asset of the review and climate groups (see assets/reviews.py, climate.py),
# with the unpartitioned station_list and product_catalog (Dagster lets unpartitioned assets join a
# partitioned job): each run writes them once, beside its days.
WAREHOUSE_GROUPS = ("reviews", "climate")
warehouse_selection = AssetSelection.groups(*WAREHOUSE_GROUPS)


def celery_asset_job(
    name: str,
    selection,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> AssetJob:
    """An asset job whose steps run on the Celery workers (queue per step from its op tags). Its
    partitions definition is that of the selected assets (which must share one)."""
    return define_asset_job(
        name,
        selection=selection,
        executor_def=celery_redis_executor,
        description=description,
        tags=tags,
    )


warehouse_celery_job = celery_asset_job(
    "warehouse_celery_job",
    warehouse_selection,
    description=(
        "The daily warehouse (reviews and climate groups) on the Celery workers; every step on the "
        f"default queue '{DEFAULT_QUEUE}'."
    ),
)

_CADENCE = {
    "HourlyPartitionsDefinition": "hourly",
    "DailyPartitionsDefinition": "daily",
    "WeeklyPartitionsDefinition": "weekly",
    "MonthlyPartitionsDefinition": "monthly",
}


def _by_partitions(assets: Iterable[AssetsDefinition]) -> list[tuple[PartitionsDefinition | None, list]]:
    groups: list[tuple[PartitionsDefinition | None, list]] = []  # PartitionsDefinitions compare, not hash
    for a in assets:
        if not isinstance(a, AssetsDefinition) or not a.is_executable or not a.keys:
            continue  # asset checks (no asset keys) follow their assets; source assets have no step
        for pd, members in groups:
            if pd == a.partitions_def:
                members.append(a)
                break
        else:
            groups.append((a.partitions_def, [a]))
    return groups


def ml_celery_jobs(ml_assets: Sequence[AssetsDefinition]) -> list[AssetJob]:
    """The ML assets (and their checks) on Celery: ``ml_celery_job`` when they share one partitions
    definition, else one ``ml_<cadence>_celery_job`` per definition (``ml_unpartitioned_celery_job``
    for unpartitioned ones). Their steps go to the queue of their op tags (ml_queue)."""
    groups = _by_partitions(ml_assets)
    jobs = []
    for i, (pd, members) in enumerate(groups):
        if len(groups) == 1:
            name = "ml_celery_job"
        else:
            cadence = "unpartitioned" if pd is None else _CADENCE.get(type(pd).__name__, f"p{i}")
            name = f"ml_{cadence}_celery_job"
        jobs.append(
            celery_asset_job(
                name,
                AssetSelection.assets(*members),
                description=f"ML assets on the Celery workers (steps tagged for queue '{ML_QUEUE}').",
            )
        )
    return jobs


def celery_jobs(ml_assets: Sequence[AssetsDefinition] = ()) -> list[AssetJob]:
    """The jobs to add to the Definitions: the warehouse job, plus the ML jobs when ML assets are given."""
    return [warehouse_celery_job, *ml_celery_jobs(ml_assets)]
