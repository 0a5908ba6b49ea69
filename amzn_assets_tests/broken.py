"""A small warehouse for the check tests, and the faults they write into it: one per check, each on
its own day, the way a bug or a hand edit would (the backends' tests break their own tables)."""

from __future__ import annotations

from datetime import date

from dagster import build_resources

from amzn_assets.checks.rules import Outcome
from amzn_assets.checks.warehouse import evaluate_days
from amzn_assets.generate import generate_sample
from amzn_assets.data_dirs import DataDirs

DAYS = ["2018-01-30", "2018-01-31", "2018-02-01", "2018-02-02"]  # January closes: a model month to refuse
RANGE = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]}
DANGLING_USER, RATING_7, DUPLICATE, DELETED = DAYS
TMAX_BELOW_TMIN, UNKNOWN_STATION = DAYS[:2]

# (table, check, day) -> the metadata count that says why
FAULTS = {
    ("reviews_fact", "references_exist", DANGLING_USER): "rows_missing_users",
    ("reviews_fact", "ratings_in_range", RATING_7): "ratings_out_of_range",
    ("reviews_fact", "unique_review_keys", DUPLICATE): "duplicated_keys",
    ("reviews_fact", "matches_landed_reviews", DELETED): "landed_reviews_missing",
    ("climate", "tmax_not_below_tmin", TMAX_BELOW_TMIN): "rows_tmax_below_tmin",
    ("climate", "references_exist", UNKNOWN_STATION): "rows_missing_stations",
}


def generate(dirs: DataDirs) -> None:
    generate_sample(dirs.root, seed=11, start=date.fromisoformat(DAYS[0]), days=len(DAYS), reviews=240, stations=3)


def evaluate(resources: dict, tables=("reviews_fact", "climate")) -> dict[tuple[str, str, str], Outcome]:
    """Every per-day check of the warehouse's days, run directly through the resources' stores."""
    with build_resources({key: resources[key] for key in ("io_manager", "landing")}) as built:
        reader = built.landing.reader()
        return {
            (e.check.table, e.check.name, e.partition): e.outcome
            for table in tables
            for e in evaluate_days(table, DAYS, lambda _name: built.io_manager, reader)
        }


def assert_faults_found(outcomes: dict, faults: dict = FAULTS) -> None:
    """Exactly the broken (check, day)s fail, each counting one offending row and naming it."""
    failed = {key for key, outcome in outcomes.items() if not outcome.passed}
    assert failed == set(faults), failed
    for key, count in faults.items():
        outcome = outcomes[key]
        assert outcome.metadata[count] == 1, (key, outcome.metadata)
        assert count in outcome.metadata["examples"] and key[2] in outcome.description
