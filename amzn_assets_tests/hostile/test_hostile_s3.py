"""The hostile corpus through an S3 upload area (moto's server: a real S3 HTTP API).

S3 has no links or special files, but its keys are not paths: "a/../b", "a//b" and a folder's
marker object are all legal keys, an object can be any size and can vanish between list and get.
"""

from __future__ import annotations

import re
import time

import boto3
import pytest

from amzn_assets.landing.intake import Lander
from amzn_assets.landing.s3_store import S3Store
from amzn_assets.data_dirs import DataDirs
from amzn_assets.sources.inflate import ReadLimits
from amzn_assets_tests.hostile import corpus
from amzn_assets_tests.hostile.corpus import gz, review_line
from amzn_assets_tests.hostile.test_hostile_uploads import land_within, ledger_rows

MiB = 1 << 20
AREA = "uploaded/reviews/toys"


@pytest.fixture
def bucket(aws) -> tuple:
    client = boto3.client("s3")
    name = f"amzn-hostile-{time.time_ns()}"
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key=f"data/{AREA}/normal.json.gz", Body=gz(review_line(reviewerID="NORMAL")))
    return client, name


CASES = [
    # (key under data/, expected ledger path, reason regex, moved to quarantine/)
    pytest.param(f"{AREA}/empty.json.gz", f"{AREA}/empty.json.gz", r"^empty file$", True, id="zero-byte-object"),
    pytest.param(f"{AREA}/../../../etc/evil.json.gz", f"{AREA}/..", r"^a key with a '\.\.' segment, which no file system path has; not read", False, id="key-with-dot-dot-segments"),
    pytest.param(f"{AREA}//double.json.gz", f"{AREA}/", r"^a key with an empty segment, which no file system path has; not read", False, id="key-with-an-empty-segment"),
    pytest.param(f"{AREA}/huge.json", f"{AREA}/huge.json", r"^3,\d{3},\d{3} bytes, over the limit of 2,097,152 per file; not read$", True, id="object-over-the-size-limit"),
    pytest.param(f"{AREA}/bomb.json.gz", f"{AREA}/bomb.json.gz", r"^a gzip bomb: ", True, id="gzip-bomb-object"),
]
BODIES = {
    "empty.json.gz": b"",
    "evil.json.gz": gz(review_line(reviewerID="EVIL")),
    "double.json.gz": gz(review_line(reviewerID="DOUBLE")),
    "huge.json": review_line() + b" " * (3 * MiB),
    "bomb.json.gz": corpus.zeros_bomb(256),
}


@pytest.mark.parametrize("key, ledger_path, reason, moved", CASES)
def test_a_hostile_object_is_refused_and_the_rest_lands(key, ledger_path, reason, moved, bucket, dirs: DataDirs):
    client, name = bucket
    client.put_object(Bucket=name, Key=f"data/{key}", Body=BODIES[key.rsplit("/", 1)[-1]])
    store = S3Store(f"s3://{name}/data", client)
    limits = ReadLimits(max_file_bytes=2 * MiB, partial_grace_s=0)

    report = land_within(Lander(dirs, store=store, limits=limits))

    rows = ledger_rows(Lander(dirs, store=store))
    assert rows[f"{AREA}/normal.json.gz"]["status"] == "landed" and report.rows == 1
    row = rows[ledger_path]
    assert row["status"] == "quarantined" and re.search(reason, row["error"]), row
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=name, Prefix="data/").get("Contents", [])}
    if moved:
        assert row["archived_path"] == "quarantine/" + ledger_path[len("uploaded/") :]
        assert f"data/{row['archived_path']}" in keys and f"data/{key}" not in keys
    else:  # a prefix is not an object: it stays, its row says so and is not written again
        assert row["archived_path"] is None and "left in place" in row["error"] and f"data/{key}" in keys
        again = land_within(Lander(dirs, store=store, limits=limits))
        assert (again.batches, again.files_quarantined) == (0, 0)
    assert not any(k.startswith(f"data/{AREA}/") and k.endswith("normal.json.gz") for k in keys)


def test_a_folder_marker_object_is_not_an_upload(bucket, dirs: DataDirs):
    """What S3 consoles make for "create folder" (a zero-byte key ending in /) is not a file."""
    client, name = bucket
    client.put_object(Bucket=name, Key=f"data/{AREA}/", Body=b"")
    report = land_within(Lander(dirs, store=S3Store(f"s3://{name}/data", client)))
    assert (report.files_landed, report.files_quarantined) == (1, 0)
