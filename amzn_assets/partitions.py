"""Time partitions: one per review (or observation) day, UTC."""

from datetime import date

from dagster import BackfillPolicy, DailyPartitionsDefinition

# The Amazon 2018 data set starts in May 1996; end_offset=1 includes today's (open) day.
FIRST_REVIEW_DAY = "1996-05-01"
daily_partitions = DailyPartitionsDefinition(start_date=FIRST_REVIEW_DAY, end_offset=1)

# A backfill over years runs as one run per range instead of one run per day.
single_run_backfill = BackfillPolicy.single_run()


def partition_days(keys: list[str]) -> list[date]:
    return [date.fromisoformat(k) for k in keys]
