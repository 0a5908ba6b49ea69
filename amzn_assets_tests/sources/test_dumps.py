"""iter_review_dump: whole-dump streaming gives what parse_reviews gives, batch by batch."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import threading
import tracemalloc
import zlib
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from amzn_assets.sources import dumps
from amzn_assets.sources.common import SourceFileError, split_lines
from amzn_assets.sources.dumps import iter_review_dump
from amzn_assets.sources.reviews import parse_reviews
from amzn_assets_tests.sources.test_reviews import GOOD

FIXTURES = Path(__file__).parents[1] / "fixtures"
TODAY = dt.date(2024, 1, 1)
SOURCE = "All_Beauty_5.json.gz"


@pytest.fixture(scope="module")
def beauty_lines() -> list[bytes]:
    data = gzip.decompress((FIXTURES / "All_Beauty_5.json.gz").read_bytes())
    return [line for line in data.split(b"\n") if line]


def reference(data: bytes, category: str | None = "All_Beauty"):
    """parse_reviews over every line of the decompressed dump: the expected outcome."""
    return parse_reviews(split_lines(data, SOURCE, category), today=TODAY)


def stream(path: Path, batch_lines: int, category: str | None = "All_Beauty"):
    results = list(iter_review_dump(path, category=category, source=SOURCE, batch_lines=batch_lines, today=TODAY))
    return results


def assert_same(results, expected) -> None:
    table = pa.concat_tables([r.table for r in results])
    rejected = [r for result in results for r in result.rejected]
    assert table.schema == expected.table.schema
    assert table.num_rows == expected.table.num_rows
    if not table.equals(expected.table):  # name the first differing row
        got, want = table.to_pylist(), expected.table.to_pylist()
        diff = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        pytest.fail(f"row {diff} differs:\n got  {got[diff]}\n want {want[diff]}")
    assert rejected == expected.rejected


def write(tmp_path: Path, data: bytes, name: str = "dump.json.gz", level: int = 1) -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data, compresslevel=level) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("batch_lines", [1000, 262_144])
def test_all_beauty_same_as_parse_reviews(batch_lines):
    path = FIXTURES / "All_Beauty_5.json.gz"
    results = stream(path, batch_lines)
    assert [len(r.table) for r in results] == ([1000] * 5 + [269] if batch_lines == 1000 else [5269])
    assert_same(results, reference(gzip.decompress(path.read_bytes())))




def test_bad_lines_rejected_with_whole_dump_line_numbers(tmp_path, beauty_lines):
    lines = list(beauty_lines[:2500])
    bad = {  # 0-based position -> line
        0: b'{"asin": "B0000530HU", "overall": 5.0',
        999: orjson.dumps({**GOOD, "overall": 7}),
        1000: b"not json at all",
        1700: orjson.dumps({k: v for k, v in GOOD.items() if k != "asin"}),
        2499: orjson.dumps({**GOOD, "unixReviewTime": 1924992000}),
    }
    for at, line in bad.items():
        lines[at] = line
    lines.insert(1500, b"")  # a blank line: skipped, but counted
    data = b"\n".join(lines) + b"\n"
    results = stream(write(tmp_path, data), batch_lines=700)
    assert [len(r.table) + len(r.rejected) for r in results] == [700, 700, 699, 401]
    expected_lines = [1, 1000, 1001, 1702, 2501]  # 1-based, after the blank line at 1501
    assert [(r.source, r.line) for res in results for r in res.rejected] == [(SOURCE, n) for n in expected_lines]
    reasons = [r.reason for res in results for r in res.rejected]
    assert reasons[0].startswith("invalid JSON") and reasons[1] == "overall out of range 1-5: 7"
    assert reasons[3] == "missing asin" and reasons[4] == "review date in the future: 2031-01-01"
    assert_same(results, reference(data))


# Lines that the fast path must hand to the orjson path, or whose values it must get exactly right.
def _odd_lines() -> list[bytes]:
    g = GOOD
    d = orjson.dumps
    no_time = {k: v for k, v in g.items() if k != "unixReviewTime"}
    return [
        d(g),
        b"",
        b"   ",
        b"\r",
        b"\x0b",
        d(g) + b"\r",  # CRLF
        b"  " + d(g),  # leading blanks
        b"\xef\xbb\xbf" + d(g),  # a byte order mark
        d(g) + d(g),  # two objects on one line
        b'{"asin": "B0000530HU",',  # an object over two lines
        b'"reviewerID": "A1", "overall": 5.0, "unixReviewTime": 1}',
        b"null",
        b"[1, 2]",
        b"{}",
        d({**g, "reviewerName": None}),
        d({**g, "style": {"Size:": None}}),
        d({**g, "style": {"Size:": "a", "Size": "b"}}),  # both become "Size": the last one wins
        d({**g, "style": {"Size": "b", "Size:": "a"}}),
        d({**g, "style": {"Size:": " a ", "Color:": "b"}}),
        d({**g, "style": {"Size:": 5}}),
        d({**g, "style": {"Weight:": 5}}),  # a key with no string value anywhere in its chunk
        d({**g, "style": {"Shape:": ["a"]}}),
        d({**g, "style": {}}),
        d({**g, "style": "big"}),
        d({**g, "vote": "1,341"}),
        d({**g, "vote": 12}),
        d({**g, "vote": 12.0}),
        d({**g, "vote": ""}),
        d({**g, "vote": " 3"}),
        d({**g, "vote": "99999999999"}),
        d({**g, "vote": "123456789012345678901234"}),
        d({**g, "vote": ",,"}),
        d({**g, "vote": "-1"}),
        d({**g, "helpful": [3, 5]}),
        d({**g, "helpful": [3]}),
        d({**g, "vote": "2", "helpful": [3, 5]}),
        d({**g, "image": []}),
        d({**g, "image": ["a", "b"]}),
        d({**g, "image": "a"}),
        d({**g, "overall": 5}),
        d({**g, "overall": "5"}),
        d({**g, "overall": True}),
        d({**g, "overall": 4.5}),
        b'{"overall": NaN, "asin": "B1", "reviewerID": "A1", "unixReviewTime": 1}',
        b'{"overall": 5.0, "asin": "B1", "reviewerID": "A1", "unixReviewTime": 1, "x": NaN}',
        b'{"overall": 5.0, "asin": "B1", "reviewerID": "A1", "unixReviewTime": 1, "x": -Infinity}',
        d({**g, "brandNewField": {"x": [1, 2]}}),
        d({**g, "asin": " B0000530HU "}),
        d({**g, "asin": "\u00a0B0000530HU"}),
        d({**g, "asin": 5}),
        d({**g, "asin": ""}),
        d({**g, "unixReviewTime": "1472688000"}),
        d({**g, "unixReviewTime": 1472688000.0}),
        d({**g, "unixReviewTime": -5}),
        d({**no_time, "reviewTime": "12 31, 2015"}),
        d({**g, "verified": "yes"}),
        d({**g, "reviewText": 12.50}),
        d({**g, "reviewText": "caf\u00e9 \u2603 \U0001f600 \\ \" \n\t"}),
        d({**g, "reviewText": "caf\u00e9"}).replace(b"\xc3\xa9", b"\\u00e9"),
        d({**g, "reviewText": "bad \xff"}).replace("\xff".encode(), b"\xff"),
        d({**g, "summary": "Infinity and NaN are words"}),
        b'{"asin": "A", "asin": "B", "reviewerID": "A1", "overall": 5.0, "unixReviewTime": 1}',
        b'{"a": ' + b"[" * 1100 + b"]" * 1100 + b', "asin": "B1", "reviewerID": "A1", "overall": 5.0, "unixReviewTime": 1}',
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # pyarrow would crash on this one
        d({**g, "asin": "B\u0000X"}),
    ]


@pytest.mark.parametrize(("batch_lines", "min_split"), [(7, None), (5000, 1), (100_000, None)])
def test_odd_lines_same_as_parse_reviews(tmp_path, beauty_lines, monkeypatch, batch_lines, min_split):
    if min_split:  # pyarrow then judges every line on its own, not its chunk or half-chunk
        monkeypatch.setattr(dumps, "_MIN_SPLIT", min_split)
    odd = _odd_lines()
    lines = list(beauty_lines[:3000])
    at = sorted(random.Random(5).sample(range(0, 3000, 10), len(odd)), reverse=True)
    for position, line in zip(at, odd):  # at least 10 lines apart: one per 7-line chunk at most
        lines.insert(position, line)
    data = b"\n".join(lines)  # and no newline after the last line
    expected = reference(data)
    assert len(expected.rejected) > 20
    assert_same(stream(write(tmp_path, data), batch_lines), expected)


@pytest.mark.parametrize(
    "change",
    [
        {"vote": 12},  # "vote" is a string elsewhere: pyarrow refuses the chunk
        {"style": {"Size:": 5}},  # so is "Size:"
        {"unixReviewTime": 1472688000.0},  # pyarrow cannot make it an int64
    ],
)
def test_refused_chunk_sends_only_the_culprits_to_orjson(tmp_path, beauty_lines, monkeypatch, change):
    to_orjson = []
    original = dumps._BatchParser._orjson

    def spy(self, lines, first, rejected):
        to_orjson.extend(first + i + 1 for i in lines)
        return original(self, lines, first, rejected)

    monkeypatch.setattr(dumps._BatchParser, "_orjson", spy)
    lines = list(beauty_lines[:5000])
    for at in (10, 2500, 4990):
        lines[at] = orjson.dumps({**orjson.loads(lines[at]), **change})
    data = b"\n".join(lines) + b"\n"
    assert_same(stream(write(tmp_path, data), 100_000), reference(data))
    assert to_orjson == [11, 2501, 4991]


def test_a_null_inside_style_goes_to_the_orjson_path(tmp_path, beauty_lines):
    lines = list(beauty_lines[:100])
    lines[50] = orjson.dumps({**GOOD, "style": {"Size:": None}})
    data = b"\n".join(lines)
    results = stream(write(tmp_path, data), 1000)
    assert results[0].table.slice(50, 1)["style"].to_pylist() == ['{"Size":null}']
    assert_same(results, reference(data))


def test_fuzzed_lines_same_as_parse_reviews(tmp_path, beauty_lines):
    """Random damage to real lines: the stream decides exactly like parse_reviews."""
    rng = random.Random(2018)
    values = [None, True, 0, 7, -3, 4.5, 5.0, "", " x ", "5", "1,341", "null", [], [1], ["a"], {}, {"k:": "v"}]
    fields = ["asin", "reviewerID", "overall", "unixReviewTime", "vote", "style", "image", "verified",
              "reviewerName", "summary", "reviewText", "helpful", "reviewTime", "other"]
    lines = []
    for line in beauty_lines[:4000]:
        roll = rng.random()
        if roll < 0.1:
            record = orjson.loads(line)
            record[rng.choice(fields)] = rng.choice(values)
            line = orjson.dumps(record)
        elif roll < 0.13:
            cut = rng.randrange(len(line))
            line = line[:cut] + line[cut + 1 :]  # a byte gone
        elif roll < 0.15:
            line = line.replace(b"}", b", \"x\": NaN}" if rng.random() < 0.5 else b", \"x\": null}", 1)
        lines.append(line)
    data = b"\n".join(lines) + b"\n"
    expected = reference(data)
    assert len(expected.rejected) > 100
    assert_same(stream(write(tmp_path, data), 1500), expected)


def test_2014_format_and_crlf(tmp_path, beauty_lines, monkeypatch):
    """2014 records ("helpful": [helpful, total], no verified/style/vote/image), CRLF line ends:
    both numbers kept, on the vectorized path (none of these lines needs the orjson path)."""
    to_orjson = []
    original = dumps._BatchParser._orjson

    def spy(self, lines, first, rejected):
        to_orjson.extend(lines)
        return original(self, lines, first, rejected)

    monkeypatch.setattr(dumps._BatchParser, "_orjson", spy)
    lines = []
    for n, line in enumerate(beauty_lines[:2000]):
        record = orjson.loads(line)
        for key in ("verified", "style", "vote", "image"):
            record.pop(key, None)
        record["helpful"] = [n % 7, n % 7 + n % 3]
        lines.append(orjson.dumps(record))
    data = b"\r\n".join(lines) + b"\r\n"
    results = stream(write(tmp_path, data), 900)
    assert results[0].table["vote"].to_pylist()[:8] == [0, 1, 2, 3, 4, 5, 6, 0]
    assert results[0].table["total_votes"].to_pylist()[:8] == [0, 2, 4, 3, 5, 7, 6, 1]
    assert to_orjson == []
    assert_same(results, reference(data))


def test_plain_file_and_category_none(tmp_path, beauty_lines):
    data = b"\n".join(beauty_lines[:1200]) + b"\n"
    results = stream(write(tmp_path, data, "dump.json"), 500, category=None)
    assert [len(r.table) for r in results] == [500, 500, 200]
    assert_same(results, reference(data, category=None))


def test_multi_member_gzip_with_padding(tmp_path, beauty_lines):
    one, two = b"\n".join(beauty_lines[:300]) + b"\n", b"\n".join(beauty_lines[300:700]) + b"\n"
    path = tmp_path / "members.json.gz"
    path.write_bytes(gzip.compress(one) + b"\x00" * 10 + gzip.compress(two) + b"\x00" * 3)
    assert_same(stream(path, 256), reference(gzip.decompress(path.read_bytes())))
    path.write_bytes(gzip.compress(one) + b"garbage")
    with pytest.raises(SourceFileError, match="garbage"):
        stream(path, 256)


def test_truncated_gzip_yields_complete_lines_then_raises(tmp_path, beauty_lines):
    data = b"\n".join(beauty_lines[:3000]) + b"\n"
    raw = gzip.compress(data, compresslevel=6)
    path = tmp_path / "truncated.json.gz"
    path.write_bytes(raw[: len(raw) * 2 // 3])
    complete = zlib.decompressobj(31).decompress(raw[: len(raw) * 2 // 3])
    lines_complete = complete.count(b"\n")
    assert 1000 < lines_complete < 3000

    results = []
    with pytest.raises(SourceFileError) as info:
        for result in iter_review_dump(path, category="All_Beauty", source=SOURCE, batch_lines=500, today=TODAY):
            results.append(result)
    message = str(info.value)
    assert f"the last complete line is line {lines_complete:,}" in message
    assert "truncated" in message and SOURCE in message
    assert ("stops inside the next one" in message) == (not complete.endswith(b"\n"))
    assert sum(len(r.table) + len(r.rejected) for r in results) == lines_complete
    assert all(len(r.table) == 500 for r in results[:-1])
    assert_same(results, reference(complete[: complete.rfind(b"\n") + 1]))


def test_corrupt_gzip_raises(tmp_path, beauty_lines):
    raw = bytearray(gzip.compress(b"\n".join(beauty_lines[:2000]) + b"\n"))
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)
    path = tmp_path / "corrupt.json.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceFileError, match=r"corrupt or truncated gzip .*the last complete line is line \d"):
        stream(path, 100_000)


@pytest.mark.parametrize("raw", [b"", gzip.compress(b""), gzip.compress(b"\n  \n"), b"\n\n"])
def test_empty_dump_raises(tmp_path, raw):
    path = tmp_path / "empty.json.gz"
    path.write_bytes(raw)
    with pytest.raises(SourceFileError, match="empty file"):
        stream(path, 100)


def test_stopping_early_ends_the_reader_thread(tmp_path, beauty_lines):
    path = write(tmp_path, b"\n".join(beauty_lines * 4) + b"\n")
    def readers() -> list[threading.Thread]:  # other tests' threads (moto, dagster) come and go
        return [t for t in threading.enumerate() if t.name == "review-dump-reader" and t.is_alive()]

    assert not readers()
    dump = iter_review_dump(path, category="All_Beauty", source=SOURCE, batch_lines=100, today=TODAY)
    assert len(next(dump).table) == 100
    assert len(readers()) == 1
    dump.close()
    assert not readers()


def test_memory_stays_bounded(tmp_path, beauty_lines):
    """200k lines (~93 MB of JSON) in batches of 20,000: Python-side peak and Arrow memory stay
    within a few batches, far from the size of the dump."""
    n = 200_000
    path = tmp_path / "big.json.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        block = b"\n".join(beauty_lines) + b"\n"
        for _ in range(n // len(beauty_lines)):
            out.write(block)
        out.write(b"\n".join(beauty_lines[: n % len(beauty_lines)]) + b"\n")
    stream(FIXTURES / "All_Beauty_5.json.gz", 1000)  # imports and caches: not part of the measure
    arrow_before = pa.total_allocated_bytes()
    arrow_peak = rows = 0
    tracemalloc.start()
    try:
        for result in iter_review_dump(path, category="All_Beauty", source=SOURCE, batch_lines=20_000, today=TODAY):
            rows += len(result.table)
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - arrow_before)
            del result
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == n
    # about 25 MB and 10 MB here, against 93 MB of JSON and ~100 MB of Arrow for the whole dump
    assert peak < 60e6, f"Python peak {peak / 1e6:.0f} MB"
    assert arrow_peak < 60e6, f"Arrow {arrow_peak / 1e6:.0f} MB"  # one 20,000-row batch is ~10 MB
