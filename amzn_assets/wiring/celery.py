"""The Celery executor and the queues: every step of a job built here is a Celery task on a Redis broker.

How a step finds its queue (dagster_celery 0.29.27, core_execution_loop.py): the run process submits
each step to ``step.tags.get("dagster-celery/queue", app.conf.task_default_queue)``, and the default
queue is ``"dagster"`` (dagster_celery.defaults.task_default_queue). An asset's step tags are its
``op_tags``, so the ML assets (``op_tags=ML_QUEUE_TAGS``) go to the ``ml_queue`` worker and every
other step to the ``dagster`` worker:

    dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml -q dagster
    dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml -q ml_queue

The executor reads the broker and result backend from ``DAGSTER_CELERY_BROKER_URL`` and
``DAGSTER_CELERY_BACKEND_URL`` (the same variables docker/celery.yaml gives the workers) when a run
starts, not when the code location loads. A Celery run waits for a worker forever: start the workers
first.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from dagster import define_asset_job
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

# `env:` values are resolved when a run's plan is built, so the code location loads without them;
# a run without them fails at once with a config error.
celery_redis_executor = celery_executor.configured(
    {
        "broker": {"env": BROKER_ENV},
        "backend": {"env": BACKEND_ENV},
    },
    name="celery_redis",
)


def celery_asset_job(name: str, selection, *, description: str | None = None, tags: dict[str, str] | None = None) -> AssetJob:
    """An asset job whose steps run on the Celery workers (queue per step from its op tags). Its
    partitions definition is that of the selected assets (which must share one)."""
    return define_asset_job(name, selection=selection, executor_def=celery_redis_executor, description=description, tags=tags)
