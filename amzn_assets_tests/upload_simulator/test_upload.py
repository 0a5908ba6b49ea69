"""`upload`: split files reach the upload area whole, in order, at the asked rate, locally and on S3."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3
import orjson
import pytest

from amzn_assets.data_dirs import DataDirs
from amzn_assets.upload_simulator.progress import Progress
from amzn_assets.upload_simulator.split import gz, split_dump
from amzn_assets.upload_simulator.upload import UploadError, parse_rate, restamp, upload_files

DUMP = Path(__file__).parents[1] / "fixtures" / "All_Beauty_5.json.gz"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A data dir holding split files: 12 in category "a", 5 in "b" (the first lines of the dump)."""
    root = tmp_path / "data"
    split_dump(DUMP, "a", root / "a", limit=12, progress=False)
    split_dump(DUMP, "b", root / "b", limit=5, progress=False)
    return root


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder (hidden ones included), by path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def name(category: str, n: int) -> str:
    return f"{category}-{n:09d}.json.gz"


def test_round_robin_limit_and_move(source: Path, tmp_path: Path):
    before = tree(source)
    order: list[tuple[str, str]] = []
    target = tmp_path / "uploaded"

    def record(category: str, file: str) -> None:
        order.append((category, file))

    summary = upload_files(["a", "b"], source_dir=source, target=target, limit=9, progress=False, after_each=record)

    assert (summary.uploaded, summary.per_category, summary.stopped_early) == (9, {"a": 5, "b": 4}, False)
    assert order == [(c, name(c, i)) for i in range(1, 5) for c in ("a", "b")] + [("a", name("a", 5))]
    uploaded = tree(target)
    assert set(uploaded) == {f"reviews/{c}/{n}" for c, n in order}  # nothing else, no temp file
    for c, n in order:
        assert uploaded[f"reviews/{c}/{n}"] == before[f"{c}/{n}"]  # byte for byte
        assert not (source / c / n).exists()  # moved
    assert summary.bytes == sum(len(v) for v in uploaded.values())

    # The next run carries on where this one stopped; one category runs out, the other goes on.
    rest = upload_files(["a", "b"], source_dir=source, target=target, progress=False)
    assert (rest.uploaded, rest.per_category) == (8, {"a": 7, "b": 1})
    assert len(tree(target)) == 17 and not list((source / "a").iterdir())


def test_copy_keeps_sources_and_skips_in_flight_names(source: Path, tmp_path: Path):
    (source / "a" / ".a-000000099.json.gz.tmp").write_bytes(b"partial")
    (source / "a" / "a-000000098.json.gz.part").write_bytes(b"partial")
    before = tree(source)
    target = tmp_path / "up"

    summary = upload_files(["a"], source_dir=source, target=target, copy=True, progress=False)

    assert summary.uploaded == 12
    assert tree(source) == before
    assert sorted(tree(target)) == [f"reviews/a/{name('a', i)}" for i in range(1, 13)]


def test_no_keep_review_time_stamps_now(source: Path, tmp_path: Path):
    target = tmp_path / "up"
    originals = {p.name: orjson.loads(gzip.decompress(p.read_bytes())) for p in (source / "b").iterdir()}

    upload_files(["b"], source_dir=source, target=target, keep_review_time=False, progress=False)

    now = time.time()
    for path in (target / "reviews" / "b").iterdir():
        data = gzip.decompress(path.read_bytes())
        assert data.endswith(b"\n") and data.count(b"\n") == 1
        record = orjson.loads(data)
        assert abs(record["unixReviewTime"] - now) < 10
        day = datetime.fromtimestamp(record["unixReviewTime"], timezone.utc)
        assert record["reviewTime"] == f"{day.month:02d} {day.day}, {day.year}"
        original = originals[path.name]
        assert record["unixReviewTime"] != original["unixReviewTime"]
        assert {k: v for k, v in record.items() if "Time" not in k} == {
            k: v for k, v in original.items() if "Time" not in k
        }


def test_uploaded_files_land(source: Path):
    from amzn_assets.landing.intake import Lander

    dirs = DataDirs(source)
    upload_files(["a", "b"], source_dir=source, target=dirs.uploaded, progress=False)
    report = Lander(dirs).land_pending()
    # "b" holds the same first five reviews as "a": same bytes, so landing takes them as duplicates.
    assert (report.files_landed, report.rows, report.files_duplicate, report.files_quarantined) == (12, 12, 5, 0)


def test_rate_paces_uploads(source: Path, tmp_path: Path):
    started = time.monotonic()
    summary = upload_files(
        ["a", "b"], source_dir=source, target=tmp_path / "up", rate="1200/min", limit=17, progress=False
    )
    elapsed = time.monotonic() - started
    assert summary.uploaded == 17
    assert 16 * 0.05 * 0.95 <= elapsed < 16 * 0.05 * 10  # 17 files at 20/s: 16 intervals of 50 ms


def test_rate_twenty_files_at_1200_per_minute(tmp_path: Path):
    split_dump(DUMP, "c", tmp_path / "c", limit=20, progress=False)
    started = time.monotonic()
    summary = upload_files(["c"], source_dir=tmp_path, target=tmp_path / "up", rate="1200/min", progress=False)
    elapsed = time.monotonic() - started
    assert summary.uploaded == 20 and summary.seconds <= elapsed
    assert 0.9 <= elapsed < 9.5


def test_parse_rate():
    assert parse_rate("600/min") == 10.0
    assert parse_rate("5/s") == 5.0
    assert parse_rate("120") == 2.0  # a plain number is per minute
    assert parse_rate("3600/h") == 1.0
    assert parse_rate("0") is None and parse_rate("max") is None and parse_rate(None) is None
    for bad in ("fast", "-5/min", "5/day", ""):
        with pytest.raises(ValueError, match="invalid rate"):
            parse_rate(bad)


def test_restamp_leaves_what_is_not_a_json_object():
    assert restamp(b'{"a": 1}\n', 86400) == b'{"a":1,"unixReviewTime":86400,"reviewTime":"01 2, 1970"}\n'
    assert gzip.decompress(restamp(gz(b"not json\n[1, 2]\n"), 0)) == b"not json\n[1, 2]\n"
    truncated = gz(b'{"a": 1}\n')[:-5]
    assert restamp(truncated, 0) == truncated  # landing quarantines it


def test_keyboard_interrupt_from_hook_stops_after_current_file(source: Path, tmp_path: Path):
    target = tmp_path / "up"

    def interrupt(category: str, file: str) -> None:
        if file == name("a", 2):
            raise KeyboardInterrupt

    summary = upload_files(
        ["a", "b"], source_dir=source, target=target, rate="max", after_each=interrupt, progress=False
    )

    assert summary.stopped_early and summary.uploaded == 3
    assert_clean_stop(source, target, 3)


def test_sigint_stops_after_current_file(source: Path, tmp_path: Path):
    """The SIGINT handler only flags the stop: the file being uploaded still completes."""
    target = tmp_path / "up"
    handler_before = signal.getsignal(signal.SIGINT)

    def ctrl_c(category: str, file: str) -> None:
        if file == name("b", 2):
            signal.raise_signal(signal.SIGINT)

    summary = upload_files(
        ["a", "b"], source_dir=source, target=target, rate="100/s", after_each=ctrl_c, progress=False
    )

    assert summary.stopped_early and summary.uploaded == 4
    assert signal.getsignal(signal.SIGINT) is handler_before  # restored
    assert_clean_stop(source, target, 4)


def test_cli_sigint_exits_130(source: Path, tmp_path: Path):
    target = tmp_path / "up"
    command = [sys.executable, "-m", "amzn_assets.cli", "--data-dir", str(source), "upload",
               "--categories", "a,b", "--rate", "4/s", "--target", str(target)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(target.rglob("*.json.gz"))) < 3:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert b"stopped early" in out and b"Traceback" not in err
    uploaded = int(out.split(b"uploaded ")[1].split(b" ")[0])
    assert 3 <= uploaded < 17
    assert_clean_stop(source, target, uploaded)


def assert_clean_stop(source: Path, target: Path, uploaded: int) -> None:
    """No temp file anywhere; each uploaded file is whole and gone from the source; the rest untouched."""
    files = tree(target)
    assert len(files) == uploaded
    assert not [p for p in files if Path(p).name.startswith(".") or p.endswith(".tmp")]
    for rel, data in files.items():
        category, file = rel.split("/")[1:]
        assert gzip.decompress(data).endswith(b"}\n")
        assert not (source / category / file).exists()
    assert len(tree(source)) == 17 - uploaded


def test_upload_to_s3(s3_server: str, source: Path, monkeypatch):
    for key, value in {
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="reviews-upload")
    before = {f"{c}/{p.name}": p.read_bytes() for c in ("a", "b") for p in (source / c).iterdir()}

    summary = upload_files(
        ["a", "b"], source_dir=source, target="s3://reviews-upload/incoming", limit=10, progress=False
    )

    assert (summary.uploaded, summary.per_category) == (10, {"a": 5, "b": 5})
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reviews-upload")["Contents"]]
    assert sorted(keys) == [f"incoming/reviews/{c}/{name(c, i)}" for c in ("a", "b") for i in range(1, 6)]
    for key in keys:
        body = s3.get_object(Bucket="reviews-upload", Key=key)["Body"].read()
        assert body == before[key.split("/", 2)[2]]
        assert not (source / key.split("/", 2)[2]).exists()  # moved

    # An empty prefix puts the layout at the bucket's root.
    summary = upload_files(["a"], source_dir=source, target="s3://reviews-upload/", limit=2, copy=True, progress=False)
    assert summary.uploaded == 2
    body = s3.get_object(Bucket="reviews-upload", Key=f"reviews/a/{name('a', 6)}")["Body"].read()
    assert body == before[f"a/{name('a', 6)}"]

    # A failed put stops the run with the summary so far; the file stays in the source folder.
    with pytest.raises(UploadError, match="NoSuchBucket") as caught:
        upload_files(["a"], source_dir=source, target="s3://no-such-bucket/x", progress=False)
    assert caught.value.summary.uploaded == 0 and (source / "a" / name("a", 6)).exists()


def test_progress_throttled_on_a_terminal_final_line_only_elsewhere():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log = io.StringIO()
    with Progress("upload", total=1000, stream=log) as bar:
        for _ in range(1000):
            bar.update()
    assert log.getvalue().startswith("upload 1000/1000 in ") and log.getvalue().count("\n") == 1

    term = Terminal()
    with Progress("split x", stream=term, interval=0.05) as bar:
        for _ in range(50):
            bar.update()
            time.sleep(0.002)
    text = term.getvalue()
    assert "\rsplit x " in text and "/? " in text and "ETA ?" in text and text.endswith("\n")
    assert 1 < text.count("\r") < 50  # redrawn, but not on every update
