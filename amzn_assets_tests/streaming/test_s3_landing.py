"""Landing from an S3 prefix through a real local S3 API (moto's server mode)."""

from __future__ import annotations

import boto3
import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context

from amzn_assets.definitions import resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.stores import S3Store
from amzn_assets.domains.stream.sensor import stream_job, stream_sensor
from amzn_assets.stream.upload import upload_files
from amzn_assets_tests.conftest import gz_review

BUCKET = "amzn-landing"
ROOT = f"s3://{BUCKET}/data"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    existing = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    if BUCKET in existing:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        for key in keys:
            client.delete_object(Bucket=BUCKET, Key=key)
    else:
        client.create_bucket(Bucket=BUCKET)
    return client


def archived_reviews(lander: Lander) -> list[str]:
    return [p for p in lander.archive.paths() if "#uploaded/reviews/" in p]


def keys(client, prefix: str) -> list[str]:
    paginator = client.get_paginator("list_objects_v2")
    return sorted(o["Key"] for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix) for o in page.get("Contents", []))


def test_uploader_sensor_and_landing_on_s3(s3, dirs, tmp_path):
    source = tmp_path / "split" / "toys"
    source.mkdir(parents=True)
    for i in range(20):
        (source / f"toys-{i:09d}.json.gz").write_bytes(gz_review(reviewerID=f"AS3{i:04d}"))
    summary = upload_files(["toys"], source_dir=tmp_path / "split", target=f"{ROOT}/uploaded", progress=False)
    assert summary.uploaded == 20
    s3.put_object(Bucket=BUCKET, Key="data/uploaded/metadata/products/toys.json", Body=b'{"asin": "B000TEST01", "title": "Toy"}\n')
    assert len(keys(s3, "data/uploaded/")) == 21

    resources = resources_for("local", str(dirs.root), upload_url=ROOT)
    with DagsterInstance.ephemeral() as instance:
        with build_sensor_context(instance=instance, resources=resources) as context:
            requested = stream_sensor(context)
        assert requested.tags["amzn/files_waiting"] == "21"
        assert stream_job.execute_in_process(instance=instance, resources=resources).success
        with build_sensor_context(instance=instance, resources=resources) as context:
            assert isinstance(stream_sensor(context), SkipReason)

    assert keys(s3, "data/uploaded/") == []
    lander = Lander(dirs, store=S3Store(ROOT, s3))
    assert len(archived_reviews(lander)) == 20 and len(keys(s3, "data/raw/")) == 2  # the reviews' bundle, the products'

    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(["2018-01-02"])
    assert rows.num_rows == 20
    assert LandedReader(lander.ledger, lander.segments).product_metadata()["title"].to_pylist() == ["Toy"]

    # The same object uploaded again is recognised by content and archived as a duplicate.
    s3.put_object(Bucket=BUCKET, Key="data/uploaded/reviews/toys/again.json.gz", Body=lander.archive.read(archived_reviews(lander)[0]))
    again = lander.land_pending()
    assert (again.files_landed, again.files_duplicate, again.rows) == (0, 1, 0)
    assert keys(s3, "data/uploaded/") == []


def test_cli_upload_and_land_use_the_s3_upload_area_of_amzn_upload_url(s3, dirs, tmp_path, monkeypatch, capsys):
    """AMZN_UPLOAD_URL=s3://... is the upload area of every command, not only of the Dagster resource:
    `upload` without --target writes there and `land` lands from there."""
    from amzn_assets.cli import main

    monkeypatch.setenv("AMZN_UPLOAD_URL", ROOT)
    monkeypatch.delenv("AMZN_LEDGER_URL", raising=False)
    monkeypatch.setenv("AMZN_BACKEND", "local")
    source = tmp_path / "split"
    (source / "toys").mkdir(parents=True)
    for i in range(30):
        (source / "toys" / f"toys-{i:09d}.json.gz").write_bytes(gz_review(reviewerID=f"ACLI{i:04d}"))
    cli = ["--data-dir", str(dirs.root)]

    assert main([*cli, "upload", "--categories", "toys", "--rate", "max", "--source-dir", str(source)]) == 0
    assert f"to {ROOT}/uploaded" in capsys.readouterr().out
    assert len(keys(s3, "data/uploaded/reviews/toys/")) == 30
    assert not dirs.uploaded.exists(), "the local upload area was written"

    assert main([*cli, "land"]) == 0
    assert "landed 30 files (30 rows)" in capsys.readouterr().out
    assert keys(s3, "data/uploaded/") == []
    assert len(archived_reviews(Lander(dirs, store=S3Store(ROOT, s3)))) == 30
    # The CLI's ledger is the one the Dagster resource of the same settings reads.
    reader = resources_for("local", str(dirs.root), upload_url=ROOT)["landing"].reader()
    assert reader.reviews(["2018-01-02"])[0].num_rows == 30
