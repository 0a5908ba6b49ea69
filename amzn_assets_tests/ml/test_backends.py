"""The model assets on the other backends: reviews_fact read back from PostgreSQL, and from S3 with
the artifacts stored on S3 (moto's server). Tiny preset, a 2-month window (2018-04..05: 286 reviews
of the All Beauty excerpt), so each case trains in seconds."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import boto3
import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets.domains.rating_model import build_ml_assets, ml_resources
from amzn_assets_tests.deployment import ENV_SETTINGS, all_assets, resources_for
from amzn_assets.landing.bulk import import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.db_urls import libpq_url
from amzn_assets.data_dirs import DataDirs
from amzn_assets_tests.needs import require_module

require_module("tensorflow")
require_module("sentencepiece")
require_module("sklearn")

FIXTURES = Path(__file__).parents[1] / "fixtures"
MONTH = "2018-05"
WINDOW = {"dagster/asset_partition_range_start": "2018-04-01", "dagster/asset_partition_range_end": "2018-05-31"}
BUCKET = "amzn-ml-lake"
MODEL_ASSETS = ["rating_tokenizer", "rating_model", "rating_model_evaluation"]


def train_month(dirs: DataDirs, backend: str, **where) -> dict:
    """Import the excerpt, load the window's warehouse on `backend`, train and evaluate MONTH; the
    evaluation's metadata."""
    import_dump(Lander(dirs), FIXTURES / "All_Beauty_5.json.gz", category="all_beauty")
    resources = resources_for(backend, str(dirs.root), ledger_url=dirs.sqlite_ledger_url, **where)
    resources |= ml_resources(backend, str(dirs.root), where.get("s3_prefix"), preset="tiny")
    model_assets, checks = build_ml_assets(replace(ENV_SETTINGS, model_window_months=2))
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, resources=resources, instance=instance, selection="*reviews_fact", tags=WINDOW).success
        result = materialize(
            [*all_assets, *model_assets, *checks], resources=resources, instance=instance,
            selection=MODEL_ASSETS, partition_key=MONTH, raise_on_error=False,  # the blocking check may fail the tiny model
        )
        (evaluation,) = [m for m in result.asset_materializations_for_node("rating_model_evaluation")]
        (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "rating_model_beats_baselines"]
        assert check.metadata["model_mae"].value == evaluation.metadata["model_mae"].value
        return {k: v.value for k, v in evaluation.metadata.items()}


def window_reviews(count_sql) -> int:
    return count_sql(
        "SELECT count(*) FROM reviews_fact WHERE review_date BETWEEN DATE '2018-04-01' AND DATE '2018-05-31'"
    )


def test_model_month_reads_reviews_fact_from_postgres(postgres_url, tmp_path, monkeypatch):
    schema = f"ml_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AMZN_POSTGRES_SCHEMA", schema)
    dirs = DataDirs(tmp_path / "data")
    try:
        metadata = train_month(dirs, "postgres", postgres_url=postgres_url)
        with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')

            def count(query: str) -> int:
                cur.execute(query)
                return cur.fetchone()[0]

            in_postgres = window_reviews(count)
    finally:
        with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert in_postgres > 200
    assert metadata["window_reviews"] == in_postgres >= metadata["test_reviews"]
    assert not (dirs.warehouse / "reviews_fact").exists(), "the star tables went to PostgreSQL, not parquet"
    assert (dirs.root / "models" / "rating_model" / MONTH / "model.keras").is_file()  # artifacts stay local


def test_model_month_on_s3_reads_and_writes_there(aws, tmp_path, monkeypatch):
    client = boto3.client("s3")
    if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=BUCKET)
    prefix = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AMZN_S3_PREFIX", prefix)
    dirs = DataDirs(tmp_path / "data")
    metadata = train_month(dirs, "s3", s3_prefix=prefix)

    root = prefix.removeprefix(f"s3://{BUCKET}/")
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{root}/").get("Contents", [])}
    facts = {k for k in keys if k.startswith(f"{root}/warehouse/reviews_fact/")}
    # one file per month of the window (the parquet warehouse's layout since 0cc04d5)
    assert facts == {f"{root}/warehouse/reviews_fact/{month}.parquet" for month in ("2018-04", "2018-05")}
    for asset, name in (("rating_tokenizer", "tokenizer.model"), ("rating_model", "model.keras"),
                        ("rating_model_evaluation", "metrics.json")):
        assert f"{root}/models/{asset}/{MONTH}/{name}" in keys, (asset, sorted(keys)[:20])
    assert not (dirs.root / "models").exists(), "artifacts went to S3, not the local folder"
    assert metadata["window_reviews"] > 200
