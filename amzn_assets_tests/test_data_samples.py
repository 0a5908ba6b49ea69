"""data/samples/ (the hand-upload samples data/README.md describes) land whole, nothing quarantined."""

from __future__ import annotations

import shutil
from pathlib import Path

from amzn_assets.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_the_samples_land_as_data_readme_says(dirs, monkeypatch, capsys):
    monkeypatch.delenv("AMZN_UPLOAD_URL", raising=False)
    monkeypatch.delenv("AMZN_LEDGER_URL", raising=False)
    monkeypatch.setenv("AMZN_BACKEND", "local")
    sizes = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert 0 < sizes < 200_000, "the samples stay small"
    shutil.copytree(SAMPLES, dirs.uploaded)

    assert main(["--data-dir", str(dirs.root), "land"]) == 0
    out = capsys.readouterr().out
    assert "landed 4 files (431 rows)" in out and "0 files quarantined" in out and "0 records quarantined" in out
    assert "reviews: 47 partitions 2018-01-06..2018-05-16" in out
    assert "landed 4 files (431 rows)" in (SAMPLES.parent / "README.md").read_text()
