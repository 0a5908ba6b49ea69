"""Asset jobs whose steps run on Celery workers (queues: dagster, ml_queue)."""
