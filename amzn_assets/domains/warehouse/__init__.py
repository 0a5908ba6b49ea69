"""The warehouse: the daily star schema (the reviews and climate groups) as one job on Celery workers."""
