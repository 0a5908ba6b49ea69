"""The warehouse checks on the other backends, unchanged: on PostgreSQL each passes on a clean range
run and fails on its broken table; on S3 and through the Redshift IO manager (its PostgreSQL
stand-in, test_redshift_backend.py) a range run evaluates them all and a broken table is caught."""

from __future__ import annotations

import boto3
import psycopg2
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize
from dagster_aws.s3 import S3Resource
from pyarrow import fs

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets_tests import broken
from amzn_assets_tests.broken import DAYS, FAULTS, RANGE
from amzn_assets_tests.backends.test_postgres_backend import in_schema, pg_schema, query  # noqa: F401 (a fixture)
from amzn_assets_tests.backends.test_redshift_backend import PostgresBackedRedshiftIOManager, client_resource_for, s3  # noqa: F401
from amzn_assets_tests.checks.test_checks import set_value

CHECKED = {(c, day) for c in ("references_exist", "matches_landed_reviews", "ratings_in_range", "unique_review_keys") for day in DAYS}


def clean_run(resources) -> None:
    with DagsterInstance.ephemeral() as instance:
        result = materialize(all_assets, instance=instance, resources=resources, tags=RANGE)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {(e.check_name, e.partition) for e in evaluations if e.asset_key.path == ["reviews_fact"]} >= CHECKED
    assert all(e.passed for e in evaluations), [e.description for e in evaluations if not e.passed]


def first_row(table: str, day: str) -> str:
    key = "review_date, review_id" if table == "reviews_fact" else "date, station_id"
    return f"({key}) IN (SELECT {key} FROM {table} WHERE {key.split(',')[0]} = '{day}' ORDER BY {key} LIMIT 1)"


def test_each_check_fails_on_its_broken_table_on_postgres(dirs, postgres_url, pg_schema):
    broken.generate(dirs)
    resources = resources_for("postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=in_schema(postgres_url, pg_schema))
    clean_run(resources)
    # A reviewer whose latest users row is a later day than one of their reviews: found all the same.
    assert query(postgres_url, pg_schema, "SELECT count(*) FROM reviews_fact f JOIN users u USING (reviewer_id) WHERE u.seen_date > f.review_date")[0][0] > 0

    for statement in (
        f"UPDATE reviews_fact SET reviewer_id = 'A_DANGLING' WHERE {first_row('reviews_fact', broken.DANGLING_USER)}",
        f"UPDATE reviews_fact SET rating = 7 WHERE {first_row('reviews_fact', broken.RATING_7)}",
        f"DELETE FROM reviews_fact WHERE {first_row('reviews_fact', broken.DELETED)}",
        f"UPDATE climate SET tmin = 50, tmax = 40 WHERE {first_row('climate', broken.TMAX_BELOW_TMIN)}",
        f"UPDATE climate SET station_id = 'USW_NOWHERE' WHERE {first_row('climate', broken.UNKNOWN_STATION)}",
    ):
        query(postgres_url, pg_schema, statement)
    # PostgreSQL's primary key refuses a duplicated review: that check can only fail elsewhere.
    with pytest.raises(psycopg2.errors.UniqueViolation):
        query(postgres_url, pg_schema, f"INSERT INTO reviews_fact SELECT * FROM reviews_fact WHERE {first_row('reviews_fact', broken.DUPLICATE)}")
    broken.assert_faults_found(broken.evaluate(resources), {k: v for k, v in FAULTS.items() if k[1] != "unique_review_keys"})


def test_the_checks_on_s3(aws, dirs):
    bucket, prefix = "amzn-checks", "s3://amzn-checks/lake"
    boto3.client("s3").create_bucket(Bucket=bucket)
    broken.generate(dirs)
    resources = resources_for("s3", str(dirs.root), s3_prefix=prefix)
    clean_run(resources)
    s3 = fs.S3FileSystem(endpoint_override=aws)
    path = f"{bucket}/lake/warehouse/reviews_fact/{broken.DANGLING_USER[:7]}.parquet"  # the day's month
    month = pq.read_table(path, filesystem=s3)
    first = [str(d) for d in month["review_date"].to_pylist()].index(broken.DANGLING_USER)
    pq.write_table(set_value(month, "reviewer_id", first, "A_DANGLING"), path, filesystem=s3)
    key = ("reviews_fact", "references_exist", broken.DANGLING_USER)
    broken.assert_faults_found(broken.evaluate(resources, tables=("reviews_fact",)), {key: FAULTS[key]})


class RedshiftStandIn(PostgresBackedRedshiftIOManager):
    """The stand-in as a Dagster resource: its scratch connection URL a field (private attributes do
    not survive Dagster's copy of a resource)."""

    scratch_url: str

    def run_sql(self, statements: list[str]) -> None:
        self._scratch_url = self.scratch_url
        super().run_sql(statements)


def test_the_checks_through_the_redshift_io_manager(dirs, postgres_url, pg_schema, s3):
    _, bucket = s3
    broken.generate(dirs)
    stand_in = RedshiftStandIn(
        redshift=client_resource_for(postgres_url), s3=S3Resource(), staging_prefix=f"s3://{bucket}/staging",
        iam_role_arn="arn:aws:iam::123456789012:role/amzn-redshift-copy", db_schema=pg_schema, scratch_url=postgres_url,
    )
    resources = resources_for("local", str(dirs.root)) | {"io_manager": stand_in}
    clean_run(resources)
    query(postgres_url, pg_schema, f"UPDATE reviews_fact SET rating = 7 WHERE {first_row('reviews_fact', broken.RATING_7)}")
    key = ("reviews_fact", "ratings_in_range", broken.RATING_7)
    broken.assert_faults_found(broken.evaluate(resources, tables=("reviews_fact",)), {key: FAULTS[key]})
