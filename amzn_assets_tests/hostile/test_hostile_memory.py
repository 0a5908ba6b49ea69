"""Peak memory of `amzn-assets land` with the default limits: a hostile file costs the landing
almost nothing more than a normal one, and the largest file the limits admit under 100 MB more."""

from __future__ import annotations

from pathlib import Path

import pytest

from amzn_assets_tests.hostile import corpus
from amzn_assets_tests.hostile.corpus import gz, review_line
from amzn_assets_tests.hostile.memory import land_peak_rss_mb, review_file_of

MAX_GROWTH_MB = 100
MiB = 1 << 20


def area_with(root: Path, name: str, data: bytes) -> Path:
    folder = corpus.folder(root)
    (folder / "normal.json.gz").write_bytes(gz(review_line(reviewerID="NORMAL")))
    if data:
        (folder / name).write_bytes(data)
    return root


@pytest.mark.timeout(300)
def test_one_file_grows_a_landing_by_at_most_100_mb_whatever_it_holds(tmp_path: Path):
    baseline, _ = land_peak_rss_mb(area_with(tmp_path / "baseline", "", b""))
    files = {
        "bomb.json.gz": corpus.zeros_bomb(3072),  # 3 GiB of zeros in ~3 MB: refused after a few MiB
        "at-the-limit.json.gz": review_file_of(12 * MiB - 64 * 1024),  # the largest a landing takes
        "one-long-line.json.gz": gz(review_line(reviewText=corpus.text_like(11 * MiB))),
        "huge.json": b" " * (200 * MiB),  # over the size limit: not read at all
    }
    grown = {}
    for name, data in files.items():
        peak, output = land_peak_rss_mb(area_with(tmp_path / name, name, data))
        grown[name] = peak - baseline
        assert "reviews:" in output
    print(f"baseline {baseline:.0f} MB, growth:", {k: round(v) for k, v in grown.items()})
    assert all(growth <= MAX_GROWTH_MB for growth in grown.values()), (baseline, grown)
    assert grown["bomb.json.gz"] <= 20 and grown["huge.json"] <= 20, grown
