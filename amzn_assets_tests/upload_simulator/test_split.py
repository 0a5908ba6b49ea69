"""`split`: a real 5-core dump becomes one whole, byte-exact, deterministic file per line."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from amzn_assets.cli import main
from amzn_assets.upload_simulator.split import SplitError, check_category, split_dump

DUMP = Path(__file__).parents[1] / "fixtures" / "All_Beauty_5.json.gz"
DUMP_LINES = 5269


def dump_lines() -> list[bytes]:
    return gzip.decompress(DUMP.read_bytes()).splitlines(keepends=True)


def read_all(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_split_writes_one_exact_file_per_line(tmp_path: Path):
    out = tmp_path / "all_beauty"
    summary = split_dump(DUMP, "all_beauty", out, progress=False)

    assert (summary.files, summary.lines, summary.blank) == (DUMP_LINES, DUMP_LINES, 0)
    files = read_all(out)
    assert len(files) == DUMP_LINES
    for line_no, line in enumerate(dump_lines(), start=1):
        assert gzip.decompress(files[f"all_beauty-{line_no:09d}.json.gz"]) == line

    # A rerun overwrites every file with identical bytes, and leaves nothing else.
    split_dump(DUMP, "all_beauty", out, progress=False)
    assert read_all(out) == files


def test_blank_lines_skipped_last_line_gets_newline_limit(tmp_path: Path):
    dump = tmp_path / "small.json.gz"
    dump.write_bytes(gzip.compress(b'{"a": 1}\n\n  \n{"b": 2}\r\n{"c": 3}'))

    summary = split_dump(dump, "x", tmp_path / "x", progress=False)
    assert (summary.files, summary.lines, summary.blank) == (3, 5, 2)
    got = {p.name: gzip.decompress(p.read_bytes()) for p in (tmp_path / "x").iterdir()}
    assert got == {
        "x-000000001.json.gz": b'{"a": 1}\n',
        "x-000000004.json.gz": b'{"b": 2}\r\n',  # bytes kept exactly
        "x-000000005.json.gz": b'{"c": 3}\n',
    }

    limited = split_dump(DUMP, "y", tmp_path / "y", limit=10, progress=False)
    assert limited.files == 10 and len(list((tmp_path / "y").iterdir())) == 10


def test_truncated_dump_stops_with_only_whole_files(tmp_path: Path):
    dump = tmp_path / "truncated.json.gz"
    raw = DUMP.read_bytes()
    dump.write_bytes(raw[: len(raw) * 3 // 5])
    out = tmp_path / "out"

    with pytest.raises(SplitError) as caught:
        split_dump(dump, "all_beauty", out, progress=False)
    message = str(caught.value)
    assert "truncated or corrupt" in message and str(dump) in message
    written = int(re.search(r"(\d+) whole files written, up to line (\d+)", message).group(1))

    files = list(out.iterdir())
    assert 0 < written < DUMP_LINES and len(files) == written
    assert not [p for p in files if p.name.startswith(".")]
    lines = dump_lines()
    for path in files:  # every file decompresses to its whole original line
        line_no = int(path.name.removesuffix(".json.gz").rsplit("-", 1)[1])
        assert gzip.decompress(path.read_bytes()) == lines[line_no - 1]


def test_cli_split_and_truncated_exit_code(tmp_path: Path, capsys):
    assert main(["--data-dir", str(tmp_path), "split", str(DUMP), "--category", "all_beauty", "--limit", "25"]) == 0
    assert "into 25 files" in capsys.readouterr().out
    assert len(list((tmp_path / "all_beauty").iterdir())) == 25

    truncated = tmp_path / "t.json.gz"
    truncated.write_bytes(DUMP.read_bytes()[:20_000])
    assert main(["--data-dir", str(tmp_path), "split", str(truncated), "--category", "t"]) == 1
    assert "truncated or corrupt while reading line" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    ["uploaded", "landed", "raw", "quarantine", "warehouse", "Home", "-x", "_x", "a/b", "a b", "", "a\n", "..", "é"],
)
def test_bad_category_names_refused(tmp_path: Path, name: str, capsys):
    with pytest.raises(ValueError, match="category"):
        check_category(name)
    with pytest.raises(ValueError):
        split_dump(DUMP, name, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    assert main(["--data-dir", str(tmp_path), "split", str(DUMP), f"--category={name}"]) == 2
    assert "category" in capsys.readouterr().err


def test_good_category_names():
    for name in ("all_beauty", "home_and_kitchen", "cds-and-vinyl", "0day", "raw2"):
        assert check_category(name) == name
