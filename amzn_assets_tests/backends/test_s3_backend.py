"""AMZN_BACKEND=s3: the parquet IO manager on an S3 prefix, through a real local S3 API (moto)."""

from __future__ import annotations

import boto3
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize
from pyarrow import fs

from amzn_assets_tests.deployment import all_assets, query_from_env, resources_for


BUCKET = "amzn-lake"
PREFIX = f"s3://{BUCKET}/lake"
RANGE = {"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-03"}


@pytest.fixture
def lake(aws, monkeypatch):
    monkeypatch.setenv("AMZN_BACKEND", "s3")
    monkeypatch.setenv("AMZN_S3_PREFIX", PREFIX)
    client = boto3.client("s3")
    if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=BUCKET)
    return client


def test_star_tables_on_s3_and_query_them_there(lake, dirs, sample):
    with DagsterInstance.ephemeral() as instance:
        result = materialize(all_assets, instance=instance, resources=resources_for("s3", str(dirs.root), s3_prefix=PREFIX), tags=RANGE)
    assert result.success
    keys = {o["Key"] for o in lake.list_objects_v2(Bucket=BUCKET, Prefix="lake/warehouse/reviews_fact/").get("Contents", [])}
    assert keys == {"lake/warehouse/reviews_fact/2018-01.parquet"}  # one object per month
    s3 = fs.S3FileSystem(endpoint_override=lake.meta.endpoint_url)
    month = pq.read_table(f"{BUCKET}/lake/warehouse/reviews_fact/2018-01.parquet", filesystem=s3)
    assert month.num_rows > 0 and set(month["review_date"].to_pylist()) == {__import__("datetime").date(2018, 1, d) for d in (1, 2, 3)}
    assert not (dirs.warehouse / "reviews_fact").exists(), "star tables must not be written locally"

    query = query_from_env(dirs.warehouse)
    total = query("SELECT count(*) FROM reviews_fact").rows[0][0]
    local_days = query("SELECT count(DISTINCT review_date) FROM reviews_fact").rows[0][0]
    assert local_days == 3 and total == month.num_rows
    # Re-materializing a day replaces its object; the totals do not change.
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, instance=instance, resources=resources_for("s3", str(dirs.root), s3_prefix=PREFIX), partition_key="2018-01-02").success
    assert query("SELECT count(*) FROM reviews_fact").rows[0][0] == total
