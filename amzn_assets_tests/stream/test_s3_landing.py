"""Landing from an S3 prefix through a real local S3 API (moto's server mode)."""

from __future__ import annotations

import boto3
import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context

from amzn_assets_tests.deployment import ENV_SETTINGS, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.s3_store import S3Store
from amzn_assets.domains.stream.job import stream_job
from amzn_assets.domains.stream.sensor import stream_sensor
from amzn_assets.upload_simulator.upload import upload_files
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
            requested = stream_sensor(ENV_SETTINGS)(context)
        assert requested.tags["amzn/files_waiting"] == "21"
        assert stream_job.execute_in_process(instance=instance, resources=resources).success
        with build_sensor_context(instance=instance, resources=resources) as context:
            assert isinstance(stream_sensor(ENV_SETTINGS)(context), SkipReason)

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


def test_one_review_objects_land_into_one_bundle_object_and_restore_byte_for_byte(s3, dirs, tmp_path, monkeypatch, capsys):
    """On S3 a batch's bundle is one object (put whole), its sources deleted 1,000 per request (25
    here); a crash between the two is finished by the next run; restore reads the member by ranged GETs."""
    from amzn_assets.cli import main
    from amzn_assets.landing import s3_store
    from amzn_assets_tests.landing.test_landing import Crash, crash_at

    monkeypatch.setattr(s3_store, "S3_DELETE_KEYS", 25)
    sent = {}
    for i in range(60):
        body = gz_review(reviewerID=f"AB{i:05d}")
        s3.put_object(Bucket=BUCKET, Key=f"data/uploaded/reviews/toys/t{i:05d}.json.gz", Body=body)
        sent[f"uploaded/reviews/toys/t{i:05d}.json.gz"] = body
    with pytest.raises(Crash):
        Lander(dirs, store=S3Store(ROOT, s3), on_stage=crash_at("bundle_written")).land_pending()
    assert len(keys(s3, "data/uploaded/")) == 60 and len(keys(s3, "data/raw/bundles/")) == 1

    again = Lander(dirs, store=S3Store(ROOT, s3)).land_pending()
    assert (again.batches, again.files_landed, again.files_duplicate) == (0, 0, 0)
    assert keys(s3, "data/uploaded/") == []
    [bundle] = keys(s3, "data/raw/")  # 60 uploads, one object
    lander = Lander(dirs, store=S3Store(ROOT, s3))
    assert lander.ledger.file_status_counts() == {"landed": 60}
    assert {p.partition("#")[2]: lander.archive.read(p) for p in archived_reviews(lander)} == sent

    monkeypatch.setenv("AMZN_UPLOAD_URL", ROOT)
    monkeypatch.delenv("AMZN_LEDGER_URL", raising=False)
    path = "uploaded/reviews/toys/t00042.json.gz"
    assert main(["--data-dir", str(dirs.root), "restore", path, "--to", str(tmp_path)]) == 0
    assert (tmp_path / "reviews/toys/t00042.json.gz").read_bytes() == sent[path]
    assert f"{bundle.removeprefix('data/')}#{path}" in {r["archived_path"] for r in lander.ledger.archived_files(paths=[path])}
