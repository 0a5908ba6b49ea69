"""The first stream run after an asset run (a backfill, `make demo`) does not write again the days
that run wrote from the same landed data; it writes what landed since (issue 14, point 5)."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets_tests.conftest import gz_review, upload
from amzn_assets_tests.stream.test_sensors import ALL_DAYS, materializations_of, stream


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def backfill(dirs, instance, selection="*"):
    result = materialize(
        all_assets, resources=resources_for("local", str(dirs.root)), instance=instance, selection=selection,
        tags={"dagster/asset_partition_range_start": ALL_DAYS[0], "dagster/asset_partition_range_end": ALL_DAYS[-1]},
    )
    assert result.success


def written_by(result) -> dict[str, list[str]]:
    tables = ["landed_reviews", "users", "products", "datetime", "reviews_fact", "landed_climate", "stations", "climate"]
    return {t: days for t in tables if (days := materializations_of(result, t))}


def test_the_first_stream_run_after_a_backfill_writes_nothing_again(dirs, sample, instance):
    backfill(dirs, instance)
    ledger = Lander(dirs).ledger
    assert ledger.committed_after(ledger.applied_through(STREAM_WATERMARK), limit=1)  # the backfill's batches look unapplied
    result = stream(dirs, instance)
    assert written_by(result) == {}
    assert not ledger.committed_after(ledger.applied_through(STREAM_WATERMARK), limit=1)  # and now they are applied


def test_what_landed_after_the_backfill_is_written_and_only_that(dirs, sample, instance):
    backfill(dirs, instance)
    upload(dirs, "reviews/late/late.json.gz", gz_review(reviewerID="A9LATE"))  # a review of 2018-01-02
    result = stream(dirs, instance)
    assert written_by(result) == {t: ["2018-01-02"] for t in ["landed_reviews", "users", "products", "datetime", "reviews_fact"]}


def test_a_backfill_of_part_of_the_graph_leaves_the_rest_to_the_stream(dirs, sample, instance):
    backfill(dirs, instance, selection="landed_reviews")  # landed, but users, products, reviews_fact never written
    result = stream(dirs, instance)
    assert materializations_of(result, "reviews_fact") == ALL_DAYS
    assert materializations_of(result, "climate") == ALL_DAYS
