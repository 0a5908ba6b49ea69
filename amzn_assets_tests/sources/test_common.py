"""inflate() (sources/inflate.py) and split_lines() from amzn_assets.sources.common."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from amzn_assets.sources.common import SourceFileError, split_lines
from amzn_assets.sources.inflate import inflate

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_decompress_real_gzip_and_plain_bytes():
    raw = (FIXTURES / "All_Beauty_5.json.gz").read_bytes()
    data = inflate(raw)
    assert data.count(b"\n") == 5269
    assert inflate(b'{"a": 1}\n') == b'{"a": 1}\n'


def test_truncated_gzip_raises():
    raw = (FIXTURES / "meta_Appliances_sample100.json.gz").read_bytes()
    with pytest.raises(SourceFileError) as info:
        inflate(raw[: len(raw) // 2])
    assert "truncated" in str(info.value) or "corrupt" in str(info.value)


def test_corrupt_gzip_raises():
    raw = bytearray(gzip.compress(b'{"a": 1}\n' * 100))
    raw[20:30] = b"\x00" * 10
    with pytest.raises(SourceFileError, match="corrupt"):
        inflate(bytes(raw))


@pytest.mark.parametrize("raw", [b"", b"  \n", gzip.compress(b"")])
def test_empty_file_raises(raw):
    with pytest.raises(SourceFileError, match="empty file"):
        inflate(raw)


def test_split_lines_numbers_and_skips_blanks():
    lines = split_lines(b'{"a": 1}\n\n{"a": 2}\n', "x.json", "Cat")
    assert [(r.line, r.data, r.category) for r in lines] == [(1, b'{"a": 1}', "Cat"), (3, b'{"a": 2}', "Cat")]
