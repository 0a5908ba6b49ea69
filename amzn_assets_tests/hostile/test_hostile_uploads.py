"""The hostile corpus through the real landing: each odd entry sits beside a normal review file.

For every case: the landing ends within its timeout, the normal file lands, the odd entry gets
its ledger row with the expected reason (quarantined, moved to quarantine/ unread where it can be
moved), no byte from outside the upload area reaches the ledger, the segments or the archive, and
the quarantine table holds no content of an entry refused for what it is.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from amzn_assets.landing.intake import Lander
from amzn_assets.landing.ledger_schema import landing_files
from amzn_assets.data_dirs import DataDirs
from amzn_assets.sources.inflate import ReadLimits
from amzn_assets_tests.hostile import corpus
from amzn_assets_tests.hostile.corpus import CATEGORY, SECRET_MARKER, gz, review_line

MiB = 1 << 20
LANDING_TIMEOUT_S = 60
SMALL = ReadLimits(max_file_bytes=2 * MiB, max_inflated_bytes=2 * MiB, max_line_bytes=256 * 1024, partial_grace_s=0)


@dataclass(frozen=True)
class Hostile:
    make: Callable[[Path, Path], str]  # (data dir, a folder outside it) -> the entry's ledger path
    reason: str  # regex of its ledger row's error
    limits: ReadLimits = ReadLimits(partial_grace_s=0)
    unread: bool = True  # refused for what it is: nothing of it was read
    moved: bool = True  # it leaves the upload area for quarantine/


CASES = [
    pytest.param(Hostile(corpus.make_fifo, r"^a FIFO \(named pipe\): not a regular file, not read$"), id="fifo"),
    pytest.param(Hostile(corpus.make_symlink_to_file, r"^a symbolic link: not a regular file, not read$"), id="symlink-to-a-file-outside"),
    pytest.param(Hostile(corpus.make_symlink_to_passwd_like, r"^a symbolic link"), id="symlink-to-a-system-file"),
    pytest.param(Hostile(corpus.make_dangling_symlink, r"^a symbolic link"), id="dangling-symlink"),
    pytest.param(Hostile(corpus.make_symlinked_category, r"^a symbolic link where a category folder belongs; not followed"), id="symlinked-category-folder"),
    pytest.param(Hostile(corpus.make_socket, r"^a socket: not a regular file, not read$"), id="unix-socket"),
    pytest.param(Hostile(corpus.make_char_device, r"^a character device: not a regular file, not read$"), id="character-device"),
    pytest.param(Hostile(corpus.make_hard_link, r"^a hard link \(2 names\): another name, maybe outside the upload area"), id="hard-link-to-a-file-outside"),
    pytest.param(Hostile(corpus.make_bomb, r"^a gzip bomb: [\d,]+ compressed bytes inflated to [\d,]+ \(over 100x; refused there\)$", unread=False), id="gzip-bomb"),
    pytest.param(Hostile(corpus.make_plain_bomb_lookalike, r"^inflates past the limit of 2,097,152 bytes", SMALL, unread=False), id="inflates-past-the-size-limit"),
    pytest.param(Hostile(corpus.make_oversized_file, r"^3,1\d\d,\d{3} bytes, over the limit of 2,097,152 per file; not read$", SMALL), id="file-over-the-size-limit"),
    pytest.param(Hostile(corpus.make_long_line, r"^line 2 is longer than the limit of 262,144 bytes \(refused there\)$", SMALL, unread=False), id="line-over-the-line-limit"),
    pytest.param(Hostile(corpus.make_stale_truncated_gzip, r"^truncated gzip: .*unchanged for \d+ s, past the 0 s allowed", unread=False), id="truncated-gzip-past-its-grace"),
    pytest.param(Hostile(corpus.make_non_utf8_name, r"^a file name that is not UTF-8 text; not read$"), id="file-name-not-utf8"),
    pytest.param(Hostile(corpus.make_non_utf8_category, r"^a category folder whose name is not UTF-8 text; its files were not read$"), id="category-name-not-utf8"),
    pytest.param(Hostile(corpus.make_nested_folder, r"^a folder where files belong \(files sit directly in uploaded/reviews/toys/\)"), id="nested-folder"),
    pytest.param(Hostile(corpus.make_file_outside_category, r"^a file outside a category folder \(reviews files go in uploaded/reviews/<category>/\)"), id="file-outside-a-category"),
    pytest.param(Hostile(corpus.make_wrong_suffix, r"^not a reviews file \(names end in \.json\.gz or \.json\); not read$"), id="wrong-suffix"),
]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the data directory with content that must never be read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.json").write_bytes(corpus.secret_review())
    (folder / "passwd").write_text(f"root:x:0:0:{SECRET_MARKER}:/root:/bin/bash\n")
    return folder


def land_within(lander: Lander, timeout_s: float = LANDING_TIMEOUT_S):
    """land_pending on a thread: a landing blocked by an entry fails the test instead of hanging it."""
    result: dict = {}

    def run() -> None:
        try:
            result["report"] = lander.land_pending()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"the landing was still blocked after {timeout_s} s"
    if "error" in result:
        raise result["error"]
    return result["report"]


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_entry_is_refused_and_the_rest_lands(case: Hostile, dirs: DataDirs, outside: Path):
    normal = corpus.folder(dirs.root) / "normal.json.gz"
    normal.write_bytes(gz(review_line(reviewerID="NORMAL")))
    path = case.make(dirs.root, outside)

    lander = Lander(dirs, limits=case.limits)
    report = land_within(lander)

    rows = ledger_rows(lander)
    assert rows[f"uploaded/reviews/{CATEGORY}/normal.json.gz"]["status"] == "landed"
    assert report.files_landed == 1 and report.rows == 1
    row = rows[path]
    assert row["status"] == "quarantined" and re.search(case.reason, row["error"]), row
    if case.moved:
        assert row["archived_path"] == "quarantine/" + path[len("uploaded/") :]
        assert os.path.lexists(dirs.root / row["archived_path"])
    assert_nothing_left_in_upload_area(dirs)
    quarantined = [q for q in lander.ledger.quarantined() if q["source"] == path]
    assert [(q["line"], q["reason"], q["record"]) for q in quarantined] == [(None, row["error"], None)]
    if case.unread:
        assert row["sha256"].startswith("unread:")
    assert all(len((q["record"] or "").encode()) <= 1024 for q in lander.ledger.quarantined())
    assert_no_byte_from_outside(dirs)

    again = land_within(Lander(dirs, limits=case.limits))  # a refused entry is recorded once
    assert (again.batches, again.files_quarantined) == (0, 0)


def ledger_rows(lander: Lander) -> dict[str, dict]:
    with lander.ledger.engine.connect() as conn:
        return {r.path: dict(r._mapping) for r in conn.execute(select(landing_files))}


def assert_nothing_left_in_upload_area(dirs: DataDirs) -> None:
    left = [p for p in dirs.uploaded.rglob("*") if not p.is_dir() or p.is_symlink()]
    assert left == [], left


def assert_no_byte_from_outside(dirs: DataDirs) -> None:
    """The secret's marker is in no regular file of the data directory (links are not opened)."""
    marker = SECRET_MARKER.encode()
    for folder, _, names in os.walk(dirs.root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path) or os.stat(path).st_nlink > 1:
                continue  # a moved link or hard link: the quarantine holds it, unread
            with open(path, "rb") as handle:
                assert marker not in handle.read(), f"{path} holds content from outside the upload area"


def test_a_young_truncated_gzip_waits_then_lands_whole(dirs: DataDirs):
    """A gzip still being written is left for the next landing, not quarantined as corrupt."""
    whole = gz(review_line(reviewerID="SLOW") * 200)
    path = corpus.folder(dirs.root) / "slow.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    report = land_within(Lander(dirs, limits=ReadLimits(partial_grace_s=3600)))
    assert (report.files_waiting, report.batches) == (1, 0)
    assert path.exists() and ledger_rows(Lander(dirs)) == {}
    path.write_bytes(whole)
    report = land_within(Lander(dirs, limits=ReadLimits(partial_grace_s=3600)))
    assert (report.files_landed, report.rows, report.files_waiting) == (1, 200, 0)


def test_a_gzip_written_slowly_lands_once_whole(dirs: DataDirs):
    """An uploader writing a gzip in small pieces while landings run: no landing quarantines or
    half-lands it; the landing after the last piece lands all of it, once."""
    whole = gz(b"".join(review_line(reviewerID=f"W{n}") for n in range(3000)))
    path = corpus.folder(dirs.root) / "written.json.gz"
    lander = Lander(dirs, limits=ReadLimits(partial_grace_s=3600))
    reports = []
    with open(path, "wb") as handle:
        for start in range(0, len(whole), 1024):
            handle.write(whole[start : start + 1024])
            handle.flush()
            reports.append(land_within(lander))
    assert len(reports) > 5 and all(r.files_waiting == 1 and r.batches == 0 for r in reports[:-1])
    assert (reports[-1].files_landed, reports[-1].rows, reports[-1].files_quarantined) == (1, 3000, 0)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("with spaces and\nnewline.json.gz", id="spaces-and-newline"),
        pytest.param("x" * 247 + ".json.gz", id="255-byte-name"),
        pytest.param("-leading-dash.json", id="leading-dash"),
        pytest.param("ünïcødé-名前.json.gz", id="unicode"),
    ],
)
def test_odd_but_legal_names_land_and_round_trip(name: str, dirs: DataDirs):
    (corpus.folder(dirs.root) / name).write_bytes(gz(review_line(reviewerID="ODD")))
    lander = Lander(dirs)
    assert land_within(lander).files_landed == 1
    row = ledger_rows(lander)[f"uploaded/reviews/{CATEGORY}/{name}"]
    assert row["status"] == "landed"
    assert lander.archive.read(row["archived_path"]) == gz(review_line(reviewerID="ODD"))
    # A second upload under the same (255-byte) name, refused this time: the archive name that
    # carries the batch id is cut to a legal length, not refused by the file system.
    (corpus.folder(dirs.root) / name).write_bytes(gz(b"not json\n"))
    assert land_within(lander).files_quarantined == 1
    again = [r for r in ledger_rows(lander).values() if r["status"] == "quarantined"]
    assert len(again) == 1 and os.path.exists(dirs.root / again[0]["archived_path"])
    assert len(os.path.basename(again[0]["archived_path"]).encode()) <= 255


def test_thousands_of_files_in_one_folder_land(dirs: DataDirs):
    folder = corpus.folder(dirs.root)
    for n in range(5000):
        (folder / f"r{n:05d}.json.gz").write_bytes(gz(review_line(reviewerID=f"R{n}")))
    report = land_within(Lander(dirs, batch_files=2000))
    assert (report.files_landed, report.rows, report.batches) == (5000, 5000, 3)
    assert not any(folder.iterdir())


@pytest.mark.parametrize("kind", ["reviews", "products"])
def test_import_refuses_a_bomb_dump_where_it_passes_a_limit(kind: str, tmp_path: Path):
    """`amzn-assets import` has no size limit, but a bomb breaks the line or the ratio limit early."""
    from amzn_assets.landing.bulk import ImportFailed, import_dump

    dump = tmp_path / f"{kind}.json.gz"
    dump.write_bytes(corpus.zeros_bomb(1024))
    lander = Lander(DataDirs(tmp_path / "data"))
    with pytest.raises(ImportFailed, match=r"is longer than the limit of 16,777,216 bytes|a gzip bomb"):
        import_dump(lander, dump, kind=kind, category="toys" if kind == "reviews" else None)
    assert lander.ledger.file_status_counts() == {}
