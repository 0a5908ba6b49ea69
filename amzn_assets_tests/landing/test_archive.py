"""The archive of landed files: one bundle per batch for small files, restored byte for byte, and
the crashes around writing it (landing/archive.py, docs/landing.md)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from amzn_assets.cli import main
from amzn_assets.landing import archive as archive_module
from amzn_assets.landing.archive import BUNDLE_MAX_FILE_BYTES, Archive, Member, build_bundle, bundle_path, read_index
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.ledger_schema import landing_files
from amzn_assets_tests.conftest import gz_review, upload
from amzn_assets_tests.landing.test_landing import Crash, crash_at, crash_at_nth, uploaded_files


def upload_one_review_files(dirs, count: int, prefix: str = "r") -> dict[str, bytes]:
    """count one-review files (distinct contents); {upload path: bytes}."""
    sent = {}
    for n in range(count):
        rel = f"reviews/toys/{prefix}{n:05d}.json.gz"
        sent[f"uploaded/{rel}"] = upload(dirs, rel, gz_review(reviewerID=f"A{prefix}{n}", unixReviewTime=1514851200 + n)).read_bytes()
    return sent


def ledger_rows(lander: Lander) -> list[dict]:
    with lander.ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(landing_files).order_by(landing_files.c.file_id))]


def inodes_under(folder) -> int:
    return sum(1 for _ in folder.rglob("*"))


def test_a_batch_of_one_review_files_is_one_bundle_that_restores_byte_for_byte(dirs, tmp_path, capsys):
    sent = upload_one_review_files(dirs, 1_500)
    report = Lander(dirs).land_pending()
    assert (report.files_landed, report.batches) == (1_500, 1)
    assert uploaded_files(dirs) == []
    # raw/bundles/, its day folder, the bundle: 3 inodes for 1,500 files (one per file before).
    assert inodes_under(dirs.raw) == 3

    rows = ledger_rows(Lander(dirs))
    [batch_id] = {r["batch_id"] for r in rows}
    bundle = bundle_path(batch_id)
    assert {r["archived_path"] for r in rows} == {f"{bundle}#{path}" for path in sent}
    with zipfile.ZipFile(dirs.root / bundle) as zipped:  # any unzip reads it; the index gives offsets
        assert zipped.testzip() is None
        index = read_index(zipped)
    raw = (dirs.root / bundle).read_bytes()
    assert {e["path"]: raw[e["offset"] : e["offset"] + e["size"]] for e in index} == sent
    assert all(hashlib.sha256(sent[e["path"]]).hexdigest() == e["sha256"] for e in index)

    out = tmp_path / "restored"
    assert main(["--data-dir", str(dirs.root), "restore", "--batch", batch_id, "--to", str(out)]) == 0
    assert "restored 1,500 files" in capsys.readouterr().out
    for path, data in sent.items():
        assert (out / path[len("uploaded/") :]).read_bytes() == data


def test_restore_one_file_by_upload_or_archived_path_and_refuse_unknown_paths(dirs, tmp_path, capsys):
    sent = upload_one_review_files(dirs, 3)
    Lander(dirs).land_pending()
    cli = ["--data-dir", str(dirs.root), "restore"]
    path = "uploaded/reviews/toys/r00001.json.gz"
    assert main([*cli, "reviews/toys/r00001.json.gz", "--to", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a/reviews/toys/r00001.json.gz").read_bytes() == sent[path]
    [row] = [r for r in ledger_rows(Lander(dirs)) if r["path"] == path]
    assert main([*cli, row["archived_path"], "--to", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b/reviews/toys/r00001.json.gz").read_bytes() == sent[path]
    capsys.readouterr()

    assert main([*cli, "uploaded/reviews/toys/nope.json.gz"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("amzn-assets restore: no landed file has the upload or archived path")
    assert main([*cli, "--batch", "20990101T000000000000-00000000"]) == 1
    assert capsys.readouterr().err.startswith("amzn-assets restore: no files in batch")
    (tmp_path / "c/reviews/toys").mkdir(parents=True)
    (tmp_path / "c/reviews/toys/r00001.json.gz").write_bytes(b"something else")
    assert main([*cli, path, "--to", str(tmp_path / "c")]) == 1
    assert "exists with other content" in capsys.readouterr().err


def test_a_bundle_member_whose_bytes_differ_from_the_ledger_is_not_restored(dirs, tmp_path, capsys):
    upload_one_review_files(dirs, 2)
    Lander(dirs).land_pending()
    lander = Lander(dirs)
    [first, second] = ledger_rows(lander)
    bundle = first["archived_path"].partition("#")[0]
    members = lander.archive.members(bundle)
    lander.store.put(bundle, build_bundle([members[0]._replace(data=members[1].data), members[1]]))
    assert main(["--data-dir", str(dirs.root), "restore", first["path"], "--to", str(tmp_path)]) == 1
    assert "SHA-256" in capsys.readouterr().err and not any(tmp_path.rglob("*.json.gz"))


def test_big_files_are_moved_whole_and_quarantined_files_stay_files(dirs):
    big = b"".join(b'{"asin": "B%09d", "title": "a product with a long enough title"}\n' % n for n in range(2_000))
    assert len(big) >= BUNDLE_MAX_FILE_BYTES
    upload(dirs, "metadata/products/big.json", big)
    upload(dirs, "reviews/toys/broken.json.gz", b"not gzip at all")
    upload(dirs, "reviews/toys/good.json.gz", gz_review())
    Lander(dirs).land_pending()
    archived = {r["path"]: r["archived_path"] for r in ledger_rows(Lander(dirs))}
    assert archived["uploaded/metadata/products/big.json"] == "raw/metadata/products/big.json"
    assert (dirs.raw / "metadata/products/big.json").read_bytes() == big
    assert archived["uploaded/reviews/toys/broken.json.gz"] == "quarantine/reviews/toys/broken.json.gz"
    assert archived["uploaded/reviews/toys/good.json.gz"].endswith(".zip#uploaded/reviews/toys/good.json.gz")


def test_crash_after_the_bundle_is_written_before_the_sources_are_deleted(dirs):
    sent = upload_one_review_files(dirs, 50)
    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash_at("bundle_written")).land_pending()
    assert len(uploaded_files(dirs)) == 50, "the crash came before the sources were deleted"
    before = ledger_rows(Lander(dirs))

    again = Lander(dirs).land_pending()
    assert (again.batches, again.files_landed, again.files_duplicate) == (0, 0, 0)
    assert uploaded_files(dirs) == []
    assert ledger_rows(Lander(dirs)) == before, "no new rows: the leftovers were only deleted"
    archive = Archive(Lander(dirs).store)
    assert {p.partition("#")[2]: archive.read(p) for p in archive.paths()} == sent


def test_crash_while_writing_the_bundle_leaves_no_bundle_and_the_next_run_writes_it(dirs, monkeypatch):
    from amzn_assets.landing.stores import LocalStore

    sent = upload_one_review_files(dirs, 50)

    def torn_put(self, path, data):  # what a kill in the middle of LocalStore.put leaves
        folder, _, name = path.rpartition("/")
        (dirs.root / folder).mkdir(parents=True, exist_ok=True)
        (dirs.root / folder / f".{name}.tmp").write_bytes(data[: len(data) // 2])
        raise Crash("killed while writing the bundle")

    monkeypatch.setattr(LocalStore, "put", torn_put)
    with pytest.raises(Crash):
        Lander(dirs).land_pending()
    monkeypatch.undo()
    bundle = bundle_path(ledger_rows(Lander(dirs))[0]["batch_id"])
    assert [p.name for p in dirs.raw.rglob("*.zip*")] == [f".{bundle.rpartition('/')[2]}.tmp"]
    assert len(uploaded_files(dirs)) == 50

    again = Lander(dirs).land_pending()
    assert (again.batches, again.files_landed, again.files_duplicate) == (0, 0, 0)
    assert uploaded_files(dirs) == [] and len(ledger_rows(Lander(dirs))) == 50
    assert not [p for p in dirs.raw.rglob(".*")], "the temporary name was reused and renamed"
    archive = Archive(Lander(dirs).store)
    assert {p.partition("#")[2]: archive.read(p) for p in archive.paths()} == sent


def test_a_batch_finished_over_several_later_batches_keeps_every_member_in_its_bundle(dirs, monkeypatch):
    """The files of a batch committed before a crash may come back in several candidate batches
    (new uploads sort between them): each adds its members to the same bundle, none is lost."""
    first = upload_one_review_files(dirs, 40, prefix="a")
    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash_at("committed")).land_pending()
    later = {}
    for n in range(40):  # a00000.json.gz < a00000x00000.json.gz < a00001.json.gz: the new sort between
        later.update(upload_one_review_files(dirs, 1, prefix=f"a{n:05d}x"))
    merges = []
    real_members = Archive.members
    monkeypatch.setattr(Archive, "members", lambda self, bundle: merges.append(bundle) or real_members(self, bundle))
    report = Lander(dirs, batch_files=25).land_pending()  # 80 candidates, each batch of 25 half old, half new
    assert len(merges) == 3, "the 2nd, 3rd and 4th batch each added to the bundle the 1st rewrote"
    assert report.files_duplicate == 0 and report.files_landed == 40
    rows = ledger_rows(Lander(dirs))
    assert len(rows) == 80 and uploaded_files(dirs) == []
    first_bundle = {r["archived_path"].partition("#")[0] for r in rows if r["path"] in first}
    assert len(first_bundle) == 1
    archive = Archive(Lander(dirs).store)
    held = {p.partition("#")[2]: archive.read(p) for p in archive.paths()}
    assert held == {**first, **later}
    assert {m.path for m in archive.members(first_bundle.pop())} == set(first)


def test_a_crash_between_commit_and_archive_in_a_later_batch_finishes_its_bundle(dirs):
    sent = upload_one_review_files(dirs, 300)
    with pytest.raises(Crash):
        Lander(dirs, batch_files=100, on_stage=crash_at_nth("committed", 2)).land_pending()
    assert inodes_under(dirs.raw) == 3 and len(uploaded_files(dirs)) == 200
    report = Lander(dirs, batch_files=100).land_pending()
    assert (report.files_landed, report.files_duplicate) == (100, 0)
    assert Lander(dirs).ledger.file_status_counts() == {"landed": 300}
    assert inodes_under(dirs.raw) == 5  # three bundles in one day folder
    archive = Archive(Lander(dirs).store)
    assert {p.partition("#")[2]: archive.read(p) for p in archive.paths()} == sent


def test_the_zip64_writer_makes_the_same_bundle(monkeypatch):
    members = [Member(f"uploaded/reviews/toys/{n}.json.gz", gz_review(reviewerID=f"A{n}"), "", 1514851200 * 10**9) for n in range(5)]
    members = [m._replace(sha256=hashlib.sha256(m.data).hexdigest()) for m in members]
    fast = build_bundle(members)
    monkeypatch.setattr(archive_module, "_FAST_MAX_MEMBERS", 3)  # over the limit: zipfile (zip64) writes it
    slow = build_bundle(members)
    assert slow != fast
    for blob in (fast, slow):
        with zipfile.ZipFile(io.BytesIO(blob)) as zipped:
            index = read_index(zipped)
            assert [zipped.read(e["path"]) for e in index] == [m.data for m in members]
        assert [blob[e["offset"] : e["offset"] + e["size"]] for e in index] == [m.data for m in members]
