"""The bad-input corpus: every kind of odd or bad input, one case each, through the real landing.

Each case is one uploaded file (bytes built here) and its outcome: the rows it lands (the columns
given), the records quarantined (line, reason regex), or the whole file quarantined (reason regex).
The runner lands it with `Lander.land_pending` on a fresh data directory and checks the ledger row
of the file, the quarantine table, the rows of its batch and where the file was archived, and that
nothing is dropped silently: every record of the input is a landed row, a quarantined record, or
replaced by a later record of the same file (`merged`). Cases marked `dump` go through the bulk
import too (`landing.bulk.import_dump`: the streaming parser of `sources/dumps.py` for reviews),
which must land the same rows and quarantine the same lines for the same reasons. A few cases are
races with the uploader or another client (`race`): a file still being written, one renamed
between listing and reading, an S3 object deleted between list and get.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from amzn_assets.landing.bulk import ImportFailed, import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.kinds import CLIMATE, PRODUCTS, REVIEWS, STATIONS, SourceKind
from amzn_assets.landing.ledger_schema import landing_files
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.s3_store import S3Store
from amzn_assets.landing.stores import LocalStore
from amzn_assets.data_dirs import DataDirs
from amzn_assets.sources.inflate import ReadLimits, inflate
from amzn_assets.transforms.climate import stations as stations_of_day
from amzn_assets_tests.conftest import FIXTURES, review_json, upload

BOM = b"\xef\xbb\xbf"
UTC = timezone.utc


@dataclass(frozen=True)
class Case:
    path: str  # under uploaded/
    data: bytes | Callable[[], bytes]  # a callable for big inputs, built when the case runs
    rows: tuple[dict, ...] = ()  # landed rows (the columns given), in any order
    refused: tuple[tuple[int, str], ...] = ()  # quarantined records: (line, reason regex)
    file_refused: str | None = None  # the whole file quarantined: reason regex
    status: str | None = None  # the file's ledger status; default: landed if rows, else quarantined
    merged: int = 0  # records replaced by a later record of the same file (same key)
    before: dict[str, bytes] = field(default_factory=dict)  # files landed by an earlier run
    dump: bool = False  # the bulk import gives the same outcome
    race: str | None = None  # "in-flight", "renamed-before-read" or "s3-deleted-before-get"
    check: Callable[[LandedReader], None] | None = None  # more checks on what landed

    @property
    def content(self) -> bytes:
        return self.data() if callable(self.data) else self.data


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def line(**overrides) -> bytes:
    return orjson.dumps(review_json(**overrides))


def lines(*records: bytes, end: bytes = b"\n") -> bytes:
    return b"".join(r + end for r in records)


def review_2014(**overrides) -> bytes:
    """The 2014 format: "helpful": [helpful, total], "reviewTime" only, no verified/style/vote/image."""
    record = {
        "reviewerID": "A2014", "asin": "B000TEST14", "reviewerName": "Old", "helpful": [3, 5],
        "reviewText": "Still works.", "overall": 5.0, "summary": "Fine", "reviewTime": "07 14, 2013",
    }
    return orjson.dumps({**record, **overrides})


def review_text_of(size: int) -> Callable[[], bytes]:
    def build() -> bytes:
        # Text that compresses like real text, not like a run of one sentence (a gzip bomb, over 100x).
        text = base64.b64encode(random.Random(size).randbytes(size * 3 // 4 + 3)).decode()[:size]
        return gz(lines(line(reviewText=text), line(reviewerID="A2")))

    return build


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a": ' * depth + inner + b"}" * depth


def product(**fields) -> dict:
    return {"asin": "B000TEST01", "title": "Mop", **fields}


def station(station_id: str = "USW00025333", name: str = "SITKA AIRPORT", *, lat: str = "57.0481",
            elevation: str = "4.3", tail: str = " " * 9 + "70371") -> bytes:
    """A ghcnd-stations.txt line in the documented layout (trailing blanks trimmed, like the file)."""
    text = f"{station_id:<11} {lat:>8} {'-135.3647':>9} {elevation:>6} AK {name:<30}{tail}"
    return text.rstrip().encode()


CSV_HEADER = b'"STATION","NAME","DATE","PRCP","TMAX","TMIN"'


def csv(*rows: bytes, header: bytes = CSV_HEADER, end: bytes = b"\n") -> bytes:
    return b"".join(r + end for r in (header, *rows))


def obs(day: int, tmax: str = "48", *, station_id: str = "USW00025333", name: str = "SITKA AIRPORT, AK US") -> bytes:
    return f'"{station_id}","{name}","2018-01-{day:02d}","0.45","{tmax}","38"'.encode()


R = "reviews/toys/odd.json.gz"
P = "metadata/products/meta.json"
S = "metadata/climate/ghcnd-stations.txt"
C = "climate/sitka.csv"
JAN_2 = datetime(2018, 1, 2, tzinfo=UTC)


def unlisted_station_kept(reader: LandedReader) -> None:
    landed = reader.climate(["2018-01-01"])
    row = stations_of_day(landed, reader.station_list()).to_pylist()[0]
    assert (row["station_id"], row["name"], row["in_station_list"]) == ("USW00025333", "SITKA AIRPORT, AK US", False)


CASES = [
    # --- reviews: whole files ---------------------------------------------------------------------
    pytest.param(Case(R, gz(line())[:-12], file_refused="truncated", dump=True), id="review-truncated-gzip"),
    pytest.param(Case(R, b"", file_refused="empty file", dump=True), id="review-empty-file"),
    pytest.param(Case(R, gz(b""), file_refused="empty", dump=True), id="review-empty-gzip"),
    pytest.param(Case(R, gz(line()) + b"garbage", file_refused="gzip", dump=True), id="review-gzip-trailing-garbage"),
    pytest.param(
        Case(R, gz(lines(line())) + gz(lines(line(reviewerID="A2"))), rows=({"reviewer_id": "A1TESTREVIEWER"}, {"reviewer_id": "A2"}), dump=True),
        id="review-gzip-two-members",
    ),
    pytest.param(Case(R, lines(line()), rows=({"asin": "B000TEST01"},), dump=True), id="review-plain-json-named-gz"),
    pytest.param(
        Case(R, gz(lines(line(), line(reviewerID="A2"), line(reviewerID="A3"), end=b"\r\n")),
             rows=tuple({"reviewer_id": r, "review_text": "Works as described."} for r in ("A1TESTREVIEWER", "A2", "A3")), dump=True),
        id="review-crlf-line-ends",
    ),
    pytest.param(Case(R, gz(BOM + lines(line(), line(reviewerID="A2"))), rows=({"reviewer_id": "A1TESTREVIEWER"}, {"reviewer_id": "A2"}), dump=True), id="review-utf8-bom"),
    pytest.param(
        Case(R, gz(b"\n" + line() + b"\n   \n\t\n" + line(reviewerID="A2")), rows=({"reviewer_id": "A1TESTREVIEWER"}, {"reviewer_id": "A2"}), dump=True),
        id="review-blank-lines-and-no-final-newline",
    ),
    pytest.param(Case(R, gz(lines(line(), line(reviewerID="A2"), end=b"\r")), refused=((1, "^invalid JSON: unexpected content after document"),), dump=True), id="review-cr-only-line-ends"),
    pytest.param(Case(R, gz(orjson.dumps([review_json(), review_json(reviewerID="A2")])), refused=((1, "^not a JSON object$"),), dump=True), id="review-json-array-not-lines"),
    pytest.param(Case(R, gz(orjson.dumps(review_json(), option=orjson.OPT_INDENT_2)), refused=tuple((n, "^invalid JSON") for n in range(1, 12)), dump=True), id="review-pretty-printed-over-lines"),
    # --- reviews: records -------------------------------------------------------------------------
    pytest.param(Case(R, gz(b'{"asin": "B1", "overall": 5.0,'), refused=((1, "^invalid JSON"),), dump=True), id="review-invalid-json"),
    pytest.param(Case(R, gz(line() + line(reviewerID="A2")), refused=((1, "^invalid JSON: unexpected content after document"),), dump=True), id="review-two-objects-on-one-line"),
    pytest.param(
        Case(R, gz('{"asin": "B1", "reviewerID": "A1", "overall": 5.0, "summary": "caf\xe9"}'.encode("latin-1")), refused=((1, "^not valid UTF-8$"),), dump=True),
        id="review-not-utf8",
    ),
    pytest.param(Case(R, gz(line(asin=...)), refused=((1, "^missing asin$"),), dump=True), id="review-missing-asin"),
    pytest.param(Case(R, gz(line(overall=7.0)), refused=((1, "^overall out of range 1-5: 7$"),), dump=True), id="review-overall-7"),
    pytest.param(Case(R, gz(line(overall=None)), refused=((1, "^missing overall$"),), dump=True), id="review-null-overall"),
    pytest.param(
        Case(R, gz(line(unixReviewTime=1924992000, reviewTime="01 1, 2031")), refused=((1, "^review date in the future: 2031-01-01$"),), dump=True),
        id="review-future-date",
    ),
    pytest.param(
        Case(R, gz(lines(line(), line(reviewerID="A2", overall=0.0))), rows=({"reviewer_id": "A1TESTREVIEWER"},), refused=((2, "^overall out of range"),), dump=True),
        id="review-one-bad-line-among-good",
    ),
    pytest.param(Case(R, gz(line(vote="1,341")), rows=({"vote": 1341},), dump=True), id="review-vote-thousands-separator"),
    pytest.param(Case(R, gz(line(vote=12)), rows=({"vote": 12},), dump=True), id="review-vote-as-integer"),
    pytest.param(
        Case(R, gz(line(brandNewField={"x": 1}, another=[1, 2])), rows=({"asin": "B000TEST01", "rating": 4},), dump=True),
        id="review-unknown-extra-fields",
    ),
    pytest.param(
        Case(R, gz(lines(review_2014(), review_2014(reviewerID="A2015", helpful=[0, 0], reviewTime="12 31, 2013"))),
             rows=({"reviewer_id": "A2014", "vote": 3, "verified": None, "review_time": datetime(2013, 7, 14, tzinfo=UTC), "image_count": 0},
                   {"reviewer_id": "A2015", "vote": 0, "verified": None, "review_time": datetime(2013, 12, 31, tzinfo=UTC), "image_count": 0}),
             dump=True),
        id="review-2014-format-helpful-and-reviewTime-only",
    ),
    pytest.param(
        Case(R, gz(b'{"asin": "B000TEST01", "reviewerID": "A1", "overall": 1.0, "unixReviewTime": 1514851200, "overall": 5.0, "asin": "B000TEST02"}'),
             rows=({"asin": "B000TEST02", "rating": 5},), dump=True),
        id="review-duplicate-keys-last-wins",
    ),
    pytest.param(
        Case(R, review_text_of(5 * 2**20), rows=({"reviewer_id": "A2"},), refused=((1, r"^record too large: 5,24\d,\d{3} bytes \(the limit is 1 MiB\)$"),), dump=True),
        id="review-text-5-MB",
    ),
    pytest.param(
        # Refused by a limit: in the upload area unread, for its size (12 MiB); through `import`
        # (dumps have no size limit) where the line passes the line limit (16 MiB), the rest not inflated.
        Case(R, review_text_of(50 * 2**20), file_refused=r"over the limit of 12,582,912 per file; not read|line 1 is longer than the limit of 16,777,216 bytes", dump=True),
        id="review-text-50-MB",
    ),
    pytest.param(
        Case(R, gz(lines(line(), line(reviewerID="A2")[:-1] + b', "deep": ' + b"[" * 5000 + b"]" * 5000 + b"}")),
             rows=({"reviewer_id": "A1TESTREVIEWER"},), refused=((2, "^invalid JSON: depth limit exceeded"),), dump=True),
        id="review-deeply-nested-json",
    ),
    pytest.param(
        Case(R, gz(lines(line(), line(reviewerID="A2")[:-1] + b', "style": ' + nested(300, b'"x"') + b"}")),
             rows=({"reviewer_id": "A1TESTREVIEWER"},), refused=((2, "^style nested too deeply$"),), dump=True),
        id="review-deeply-nested-style",
    ),
    pytest.param(
        Case(R, gz(line(reviewText="nul").replace(b"nul", b"a\x00b")), refused=((1, "^invalid JSON: unexpected control character"),), dump=True),
        id="review-raw-nul-byte",
    ),
    pytest.param(
        Case(R, gz(lines(line(reviewText="a\x00b"), line(reviewerID="A2"), line(reviewerID="A3", summary="\x00"))),
             rows=({"reviewer_id": "A2"},), refused=((1, "^NUL character in review_text$"), (3, "^NUL character in summary$")), dump=True),
        id="review-escaped-nul-character",
    ),
    # --- reviews: the upload area -----------------------------------------------------------------
    pytest.param(Case(R, gz(line()), status="duplicate", before={"reviews/toys/first.json.gz": gz(line())}), id="review-same-file-uploaded-twice"),
    pytest.param(Case(R, gz(line()), rows=({"asin": "B000TEST01"},), race="in-flight"), id="review-still-being-uploaded"),
    pytest.param(Case(R, gz(line()), rows=({"asin": "B000TEST01"},), race="renamed-before-read"), id="review-renamed-between-list-and-read"),
    pytest.param(Case(R, gz(line()), race="s3-deleted-before-get"), id="review-s3-object-deleted-between-list-and-get"),
    # --- product metadata -------------------------------------------------------------------------
    pytest.param(
        Case(P, orjson.dumps([product(title="Mop &amp; Bucket", price="$3.62"), product(asin="B000TEST02", title="Broom")]),
             rows=({"asin": "B000TEST01", "title": "Mop & Bucket", "price": 3.62}, {"asin": "B000TEST02", "title": "Broom", "price": None}), dump=True),
        id="products-json-array",
    ),
    pytest.param(
        Case(P, gz(BOM + b"\n " + orjson.dumps([product(), product(asin="B000TEST02")], option=orjson.OPT_INDENT_2)),
             rows=({"asin": "B000TEST01"}, {"asin": "B000TEST02"}), dump=True),
        id="products-pretty-json-array-with-bom",
    ),
    pytest.param(
        Case(P, BOM + lines(orjson.dumps(product()), orjson.dumps(product(asin="B000TEST02")), end=b"\r\n"),
             rows=({"asin": "B000TEST01", "title": "Mop"}, {"asin": "B000TEST02", "title": "Mop"}), dump=True),
        id="products-json-lines-crlf-and-bom",
    ),
    pytest.param(
        Case(P, lines(orjson.dumps(product()), orjson.dumps({"title": "no asin"}), b'{"asin": "B2", "title":'),
             rows=({"asin": "B000TEST01"},), refused=((2, "^missing asin$"), (3, "^invalid JSON")), dump=True),
        id="products-bad-lines-among-good",
    ),
    pytest.param(
        Case(P, b"[" + orjson.dumps(product()) + b', "B000TEST02", {"title": "x", "x": ' + b"[" * 300 + b"]" * 300 + b"}]",
             rows=({"asin": "B000TEST01"},), refused=((2, "^not a JSON object$"), (3, "^missing asin$")), dump=True),
        id="products-json-array-bad-elements-one-deeply-nested",
    ),
    pytest.param(Case(P, orjson.dumps([product(), product()])[:-5], file_refused="invalid JSON array", dump=True), id="products-truncated-json-array"),
    pytest.param(
        Case(P, lines(orjson.dumps(product(title="Old")), orjson.dumps(product(title="New"))), rows=({"asin": "B000TEST01", "title": "New"},), merged=1, dump=True),
        id="products-same-asin-twice-later-wins",
    ),
    pytest.param(
        Case(P, lines(orjson.dumps(product(title="a\x00b")), orjson.dumps(product(asin="B000TEST02"))), rows=({"asin": "B000TEST02"},), refused=((1, "^NUL character in title$"),), dump=True),
        id="products-escaped-nul-character",
    ),
    pytest.param(
        Case(P, lines(b"{'asin': '0000031852', 'title': 'Girls Ballet Tutu', 'salesRank': {'Toys & Games': 211836}}"), refused=((1, "^invalid JSON"),), dump=True),
        id="products-2014-python-literal-metadata",
    ),
    # --- station list (fixed width) ---------------------------------------------------------------
    pytest.param(
        Case(S, lines(station(), b"USW00025334  57.0481", station("USW00025335")),
             rows=({"station_id": "USW00025333"}, {"station_id": "USW00025335"}), refused=((2, "^line too short for id, latitude and longitude"),)),
        id="stations-line-shorter-than-the-layout",
    ),
    pytest.param(
        Case(S, lines(station(tail=""), station("USW00025335", name="", tail="")),
             rows=({"station_id": "USW00025333", "name": "SITKA AIRPORT", "elevation": 4.3, "wmo_id": None},
                   {"station_id": "USW00025335", "name": None, "elevation": 4.3, "wmo_id": None})),
        id="stations-trailing-columns-trimmed",
    ),
    pytest.param(
        Case(S, BOM + lines(station(), station("USW00025335"), end=b"\r\n"), rows=({"station_id": "USW00025333", "wmo_id": "70371"}, {"station_id": "USW00025335", "wmo_id": "70371"})),
        id="stations-crlf-and-bom",
    ),
    pytest.param(
        Case(S, lines(station(lat="north"), station("USW00025335", elevation="-999.9"), station("USW00025336", name="SITKA\x00")),
             rows=({"station_id": "USW00025335", "elevation": None},), refused=((1, "^latitude not a number"), (3, "^NUL character$"))),
        id="stations-bad-values-and-nul",
    ),
    pytest.param(
        Case(S, lines(station(), station("USW00025335"), end=b"\r"), rows=({"station_id": "USW00025333"}, {"station_id": "USW00025335"})),
        id="stations-cr-only-line-ends",
    ),
    pytest.param(
        Case(S, lines(station() + station("USW00025335"), station("USW00025336")), rows=({"station_id": "USW00025336"},),
             refused=((1, r"^line longer than the layout \(170 characters, at most 85\)$"),)),
        id="stations-two-lines-run-together",
    ),
    pytest.param(Case(S, lines(station(), station("USW00025335", name="SITK?").replace(b"?", b"\xc1")), rows=({"station_id": "USW00025333"},), refused=((2, "^not valid UTF-8$"),)), id="stations-not-utf8-line"),
    # --- NOAA CDO daily CSV -----------------------------------------------------------------------
    pytest.param(Case(C, csv(), file_refused="^no data rows"), id="climate-zero-row-csv"),
    pytest.param(
        Case(C, csv(obs(1) + b',"x"', obs(2)[: obs(2).rindex(b",")], obs(3)), rows=({"date": date(2018, 1, 3), "tmax": 48.0},),
             refused=((2, "^wrong number of fields: 7, expected 6$"), (3, "^wrong number of fields: 5, expected 6$"))),
        id="climate-rows-with-extra-or-missing-columns",
    ),
    pytest.param(
        Case(C, csv(b'"USW00025333","2018-01-01","9","48"', header=b'"STATION","DATE","NEWCOLUMN","TMAX"'),
             rows=({"date": date(2018, 1, 1), "tmax": 48.0, "prcp": None, "station_name": None},)),
        id="climate-header-with-unknown-and-without-some-columns",
    ),
    pytest.param(Case(C, csv(b'"USW00025333","48"', header=b'"STATION","TMAX"'), file_refused="^missing DATE column"), id="climate-no-date-column"),
    pytest.param(Case(C, csv(obs(1), obs(2), end=b"\r"), rows=({"date": date(2018, 1, 1)}, {"date": date(2018, 1, 2)})), id="climate-cr-only-line-ends"),
    pytest.param(
        Case(C, csv(obs(1), b"", b"   ", obs(2).replace(b',"48"', b',\r"48"'), obs(3)), rows=({"date": date(2018, 1, 1)}, {"date": date(2018, 1, 3)}),
             refused=((4, "^wrong number of fields: 1, expected 6$"), (5, "^wrong number of fields: 5, expected 6$"), (6, "^wrong number of fields: 2, expected 6$"))),
        id="climate-blank-line-and-stray-cr",
    ),
    pytest.param(
        Case(C, csv(obs(1, name="SITKA\nAIRPORT"), obs(2, "NA")), file_refused="^a quoted value spans lines"),
        id="climate-quoted-value-spans-lines",
    ),
    pytest.param(
        Case(C, BOM + csv(obs(1), obs(2), end=b"\r\n"), rows=({"date": date(2018, 1, 1), "station_name": "SITKA AIRPORT, AK US"}, {"date": date(2018, 1, 2), "station_name": "SITKA AIRPORT, AK US"})),
        id="climate-crlf-and-bom",
    ),
    pytest.param(
        Case(C, csv(obs(1, "NA"), obs(2).replace(b"2018-01-02", b"2018-02-30"), obs(3, " 0023"), obs(4, "50"), obs(4, "51")),
             rows=({"date": date(2018, 1, 3), "tmax": 23.0}, {"date": date(2018, 1, 4), "tmax": 51.0}), merged=1,
             refused=((2, "^invalid number in TMAX: 'NA'$"), (3, "^invalid DATE: '2018-02-30'$"))),
        id="climate-bad-values-and-a-repeated-day",
    ),
    pytest.param(
        Case(C, csv(obs(1, name="SITKA ?").replace(b"?", b"\xc1"), obs(2), obs(3, name="SITKA\x00")), rows=({"date": date(2018, 1, 2)},),
             refused=((2, "^not valid UTF-8$"), (4, "^NUL character in NAME$"))),
        id="climate-not-utf8-row-and-nul",
    ),
    pytest.param(
        Case(C, (FIXTURES / "sitka_weather_2018_full.csv").read_bytes(), rows=tuple({"station_id": "USW00025333"} for _ in range(405)),
             before={S: (FIXTURES / "ghcnd-stations_excerpt_head40.txt").read_bytes()}, check=unlisted_station_kept),
        id="climate-unknown-station-id",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, dirs, tmp_path, request):
    kind = kind_of(case.path)
    if case.before:
        for rel, data in case.before.items():
            upload(dirs, rel, data)
        Lander(dirs).land_pending()
    data = case.content
    path = case.path
    if case.race == "s3-deleted-before-get":
        return check_s3_deleted_before_get(dirs, request.getfixturevalue("aws"), path, data)
    if case.race == "in-flight":
        path = check_in_flight(dirs, path, data)
    elif case.race == "renamed-before-read":
        path = check_renamed_before_read(dirs, path, data)
    else:
        upload(dirs, path, data)

    # No grace for a truncated gzip: each file here is complete (hostile/ tests the waiting).
    lander = Lander(dirs, limits=ReadLimits(partial_grace_s=0))
    lander.land_pending()
    ledger_row = file_row(lander, path)
    status = case.status or ("landed" if case.rows else "quarantined")
    assert ledger_row["status"] == status, ledger_row
    assert not (dirs.uploaded / path).exists()
    assert lander.archive.read(ledger_row["archived_path"]) == data  # a bundle member or a file
    quarantined = [q for q in lander.ledger.quarantined() if q["source"] == f"uploaded/{path}"]
    whole_file = [q["reason"] for q in quarantined if q["line"] is None]
    records = [(q["line"], q["reason"]) for q in quarantined if q["line"] is not None]
    if case.file_refused:
        assert len(whole_file) == 1 and re.search(case.file_refused, whole_file[0]), whole_file
        assert ledger_row["error"] == whole_file[0] and ledger_row["archived_path"] == f"quarantine/{path}"
    else:
        assert whole_file == []
    assert_refused(records, case.refused)
    landed = batch_rows(lander, kind, ledger_row)
    assert project(landed, case.rows) == project(case.rows, case.rows)
    if status != "duplicate" and not case.file_refused:
        assert records_in(kind, data) == len(landed) + len(records) + case.merged, "a record went missing"
    if case.check:
        case.check(LandedReader(lander.ledger, lander.segments))
    if case.dump:
        check_bulk_import_agrees(tmp_path, kind, path, data, case, landed, records)


def kind_of(path: str) -> SourceKind:
    for kind in (PRODUCTS, STATIONS, REVIEWS, CLIMATE):
        if path.startswith(kind.upload_subdir + "/"):
            return kind
    raise ValueError(path)


def file_row(lander: Lander, path: str) -> dict:
    with lander.ledger.engine.connect() as conn:
        rows = conn.execute(select(landing_files).where(landing_files.c.path == f"uploaded/{path}"))
        found = [dict(r._mapping) for r in rows]
    assert len(found) == 1, found
    return found[0]


def batch_rows(lander: Lander, kind: SourceKind, ledger_row: dict) -> list[dict]:
    """The rows the file's batch landed (one file per batch here)."""
    if ledger_row["status"] != "landed":
        return []
    keys = json.loads(ledger_row["partitions"]) if ledger_row["partitions"] else ()
    table = lander.segments.read(kind.name, kind.schema, {ledger_row["batch_id"]}, kind.partition_column, keys)
    return table.to_pylist()


def assert_refused(records: list[tuple[int, str]], expected: tuple[tuple[int, str], ...]) -> None:
    assert [line for line, _ in records] == [line for line, _ in expected], records
    for (_, reason), (_, pattern) in zip(records, expected):
        assert re.search(pattern, reason), (reason, pattern)


def project(rows, like) -> list[list]:
    """Rows reduced to the columns the expected rows name, in a stable order."""
    names = sorted({name for row in like for name in row})
    return sorted(([row.get(name) for name in names] for row in rows), key=lambda values: [str(v) for v in values])


def records_in(kind: SourceKind, data: bytes) -> int:
    """Records in an uploaded file: its JSON lines, or a JSON array's elements; the station list's
    lines (ended by LF, CRLF or CR); the CSV's rows (lines but the header, empty lines skipped)."""
    plain = inflate(data).removeprefix(BOM)
    if kind is PRODUCTS and plain.lstrip()[:1] == b"[":
        return len(orjson.loads(plain))
    if kind is CLIMATE:
        return sum(1 for text in plain.splitlines() if text) - 1
    lines = plain.splitlines() if kind is STATIONS else plain.split(b"\n")
    return sum(1 for text in lines if text.strip())


def check_bulk_import_agrees(tmp_path: Path, kind: SourceKind, path: str, data: bytes, case: Case, landed: list[dict], records) -> None:
    """The same bytes as a dump through `import_dump`: the same rows and the same refused lines."""
    dump = tmp_path / "dump" / Path(path).name
    dump.parent.mkdir()
    dump.write_bytes(data)
    lander = Lander(DataDirs(tmp_path / "dump-data"))
    category = path.split("/")[1] if kind is REVIEWS else None
    if case.file_refused:
        with pytest.raises(ImportFailed, match=case.file_refused):
            import_dump(lander, dump, kind=kind.name, category=category)
        assert lander.ledger.file_status_counts() == {} and lander.ledger.quarantined() == []
        return
    report = import_dump(lander, dump, kind=kind.name, category=category)
    assert [(q["line"], q["reason"]) for q in lander.ledger.quarantined()] == records
    rows = lander.segments.read(kind.name, kind.schema, {report.batch_id}, kind.partition_column, report.days).to_pylist()
    assert sorted(map(repr, rows)) == sorted(map(repr, landed))


# --- races with the uploader and other clients ------------------------------------------------------


def check_in_flight(dirs, path: str, data: bytes) -> str:
    """An uploader writes `.<name>.tmp`, then renames it: a run in between leaves it alone."""
    folder, _, name = path.rpartition("/")
    partial = upload(dirs, f"{folder}/.{name}.tmp", data[: len(data) // 2])
    report = Lander(dirs).land_pending()
    assert (report.batches, Lander(dirs).ledger.file_status_counts()) == (0, {})
    partial.write_bytes(data)
    partial.rename(dirs.uploaded / path)
    return path


class InterruptedBeforeReading:
    """A store mixin: its _before_reading() runs before the first read of a landing (after the listing)."""

    def read(self, path):
        self._before_reading()
        return super().read(path)

    def read_many(self, paths, *args):
        self._before_reading()
        return super().read_many(paths, *args)


class RenamingStore(InterruptedBeforeReading, LocalStore):
    """Renames one file after the listing, before the first read (another client moving it)."""

    def __init__(self, root, path: str, new_path: str):
        super().__init__(root)
        self.moves = [(path, new_path)]

    def _before_reading(self) -> None:
        for source, dest in self.moves:
            (Path(self.root) / source).rename(Path(self.root) / dest)
        self.moves = []


def check_renamed_before_read(dirs, path: str, data: bytes) -> str:
    """Listed, then renamed before it is read: skipped (no ledger row), landed by the next run."""
    upload(dirs, path, data)
    new_path = path.replace("odd", "renamed")
    store = RenamingStore(dirs.root, f"uploaded/{path}", f"uploaded/{new_path}")
    report = Lander(dirs, store=store).land_pending()
    assert (report.batches, Lander(dirs).ledger.file_status_counts()) == (0, {})
    assert (dirs.uploaded / new_path).read_bytes() == data
    return new_path


class DeletingS3Store(InterruptedBeforeReading, S3Store):
    """Deletes one object after the listing, before the first get (another client removing it)."""

    def __init__(self, url, client, key: str):
        super().__init__(url, client)
        self.doomed = [key]

    def _before_reading(self) -> None:
        for key in self.doomed:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        self.doomed = []


def check_s3_deleted_before_get(dirs, endpoint: str, path: str, data: bytes) -> None:
    """The batch goes on without the vanished object: the other file of the batch lands."""
    import boto3

    client = boto3.client("s3")
    bucket = f"amzn-bad-input-{time.time_ns()}"
    client.create_bucket(Bucket=bucket)
    kept = path.replace("odd", "kept")
    client.put_object(Bucket=bucket, Key=f"data/uploaded/{path}", Body=data)
    client.put_object(Bucket=bucket, Key=f"data/uploaded/{kept}", Body=gz(line(reviewerID="A2")))
    store = DeletingS3Store(f"s3://{bucket}/data", client, f"uploaded/{path}")
    report = Lander(dirs, store=store).land_pending()
    assert (report.files_landed, report.files_quarantined, report.rows) == (1, 0, 1)
    lander = Lander(dirs, store=store)
    assert file_row(lander, kept)["status"] == "landed"
    with lander.ledger.engine.connect() as conn:
        assert conn.execute(select(landing_files.c.path)).scalars().all() == [f"uploaded/{kept}"]
    assert lander.ledger.quarantined() == []
    listed = client.list_objects_v2(Bucket=bucket, Prefix="data/")["Contents"]
    bundle, _, member = file_row(lander, kept)["archived_path"].partition("#")
    assert [o["Key"] for o in listed] == [f"data/{bundle}"] and member == f"uploaded/{kept}"
