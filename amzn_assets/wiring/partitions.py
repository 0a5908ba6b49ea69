"""Time partitions: one per review (or observation) day, UTC."""

from dagster import BackfillPolicy, DailyPartitionsDefinition

from amzn_assets.settings import BACKFILL_DAYS_ENV, Settings

# The Amazon 2018 data set starts in May 1996; end_offset=1 includes today's (open) day.
FIRST_REVIEW_DAY = "1996-05-01"
daily_partitions = DailyPartitionsDefinition(start_date=FIRST_REVIEW_DAY, end_offset=1)


def daily_backfill_policy(settings: Settings) -> BackfillPolicy:
    """How a backfill of the daily assets is split into runs.

    Unset (the default): one run per range, which `dagster asset materialize --partition-range`
    and a single-run backfill from the UI need. AMZN_BACKFILL_DAYS_PER_RUN=N: runs of at most N
    days, which the run queue starts side by side, so a backfill of years spreads over Celery
    workers (docs/scaling.md). Give every process of a deployment the same value.
    """
    days = settings.backfill_days_per_run
    if not days:
        return BackfillPolicy.single_run()
    if not days.isdigit() or int(days) < 1:
        raise ValueError(f"{BACKFILL_DAYS_ENV}={days!r}: a whole number of days (>= 1), or unset for one run per range")
    return BackfillPolicy.multi_run(int(days))
