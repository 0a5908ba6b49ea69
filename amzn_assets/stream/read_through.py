"""Which of the days a stream run would write an asset run already wrote from the same landed data
(plain Python; the Dagster lookups come in as functions).

The stream's watermark (landing_applied) moves only in stream_job, so after an asset run (a
backfill, `make demo`) the first stream run would find every batch that run landed "unapplied" and
write its days again. Instead, each asset that reads landed data tags its run with the newest
committed batch of that kind it could see when it read (READ_THROUGH_TAG + kind; taken before the
read, so it never claims more than was read). A day of a group needs no write when the latest
materialization of every table of the group on that day comes from one run whose tags say it read
through the newest batch, of every kind the group reads, that the stream is applying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

READ_THROUGH_TAG = "amzn/read_through/"

# The tables of each group that stream_job writes, and the landed kinds each group's rows come from.
GROUP_TABLES = {
    "reviews": ("landed_reviews", "users", "products", "reviews_fact"),
    "climate": ("landed_climate", "stations", "climate"),
    "products": ("products",),
    "stations": ("stations",),
}
GROUP_KINDS = {
    "reviews": ("reviews", "products"),
    "climate": ("climate", "stations"),
    "products": ("products",),
    "stations": ("stations",),
}

LatestRuns = Callable[[str, list[str]], dict[str, str]]  # (table, days) -> {day: run id of its latest materialization}
RunTags = Callable[[str], dict[str, str]]  # run id -> its tags


PARTITIONED_KINDS = ("reviews", "climate")  # a batch of these feeds known days (the ledger's partitions)


class NewestBatches:
    """The newest batch of each kind the stream applies, per day for the kinds whose batches feed
    known days (so a batch landed since a backfill does not make every day of the backfill look
    unapplied), else over all days."""

    def __init__(self, batches: Iterable[tuple[str, str]], days_of_batch: Callable[[str], set[str]]):
        self.overall: dict[str, str] = {}
        self.by_day: dict[str, dict[str, str]] = {kind: {} for kind in PARTITIONED_KINDS}
        for batch_id, kind in batches:
            self.overall[kind] = max(self.overall.get(kind, batch_id), batch_id)
            if kind in self.by_day:
                for day in days_of_batch(batch_id):
                    self.by_day[kind][day] = max(self.by_day[kind].get(day, batch_id), batch_id)

    def of(self, kind: str, day: str) -> str | None:
        return self.by_day[kind].get(day) if kind in self.by_day else self.overall.get(kind)


def days_already_written(
    days: dict[str, set[str]], newest: NewestBatches, latest_runs: LatestRuns, run_tags: RunTags
) -> dict[str, set[str]]:
    """Per group, the days whose every table an asset run wrote after reading the batches applied."""
    tags: dict[str, dict[str, str]] = {}
    covered: dict[str, set[str]] = {}
    for group, group_days in days.items():
        if not group_days:
            continue
        wanted = sorted(group_days)
        runs_by_table = [latest_runs(table, wanted) for table in GROUP_TABLES[group]]
        covered[group] = set()
        for day in wanted:
            runs = {runs.get(day) for runs in runs_by_table}
            if len(runs) != 1 or None in runs:
                continue
            (run_id,) = runs
            if run_id not in tags:
                tags[run_id] = run_tags(run_id)
            read = tags[run_id]
            needed = [(kind, newest.of(kind, day)) for kind in GROUP_KINDS[group]]
            if all(read.get(READ_THROUGH_TAG + kind, "") >= batch for kind, batch in needed if batch):
                covered[group].add(day)
    return covered


KIND_OF_REFERENCE_TABLE = {"station_list": "stations", "product_catalog": "products"}


def reference_tables_already_written(
    names: Iterable[str], newest: NewestBatches, latest_run: Callable[[str], str | None], run_tags: RunTags
) -> set[str]:
    """The reference tables whose latest materialization comes from a run that read through the
    newest batch of their kind that the stream is applying (latest_run: table -> run id or None)."""
    covered = set()
    for name in names:
        kind = KIND_OF_REFERENCE_TABLE[name]
        batch, run_id = newest.of(kind, ""), latest_run(name)
        if batch and run_id and run_tags(run_id).get(READ_THROUGH_TAG + kind, "") >= batch:
            covered.add(name)
    return covered
