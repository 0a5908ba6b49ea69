"""The model's monthly partitions and the reviews_fact days each month trains on (its window).

Month M reads, by default, every reviews_fact day up to the end of M (the growing window: all of
history, every category, as a month of one category is too few reviews to learn from);
AMZN_MODEL_WINDOW_MONTHS=N reads only the N months ending with M.
"""

from dagster import MonthlyPartitionsDefinition, TimeWindowPartitionMapping

from amzn_assets.wiring.partitions import FIRST_REVIEW_DAY, daily_partitions

# 0: the growing window (every day up to the month's end); N > 0: the N months ending with the month
# (AMZN_MODEL_WINDOW_MONTHS, Settings.model_window_months, passed down by the code location).
GROWING_WINDOW = 0
# The growing window as a trailing one long enough to reach 1996-05 from any month until 2046-04
# (days before 1996-05 do not exist and are not required). Dagster steps the offset month by month:
# 600 costs ~0.15 s per mapping, a constant far larger would slow every window lookup.
GROWING_WINDOW_OFFSET = 600

# One partition per calendar month (UTC), keys "YYYY-MM", from the first review month; end_offset=0:
# the latest partition is the last complete month, so a model never trains on a month still filling.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_REVIEW_DAY[:7], fmt="%Y-%m", end_offset=0)


def training_window(months: int = GROWING_WINDOW) -> TimeWindowPartitionMapping:
    """Month M -> the daily partitions of months M-(months-1) .. M; months=0: every day up to the end of M."""
    if months < 0:
        raise ValueError(f"a training window of {months} months: 0 (all history) or a positive number of months")
    start = -GROWING_WINDOW_OFFSET if months == 0 else -(months - 1)
    return TimeWindowPartitionMapping(start_offset=start, end_offset=0, allow_nonexistent_upstream_partitions=True)


def describe_window(months: int = GROWING_WINDOW) -> str:
    return "every reviews_fact day up to the month's end" if months == 0 else f"the {months} months of reviews_fact ending with the month"


def window_days(month: str, months: int = GROWING_WINDOW) -> list[str]:
    """The reviews_fact days a model month reads (its training window)."""
    subset = monthly_partitions.subset_with_partition_keys([month])
    mapped = training_window(months).get_upstream_mapped_partitions_result_for_partitions(subset, monthly_partitions, daily_partitions)
    return list(mapped.partitions_subset.get_partition_keys())
