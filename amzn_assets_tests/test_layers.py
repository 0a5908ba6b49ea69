"""The one-way stack of docs/contributing.md, as import-linter contracts ([tool.importlinter] in
pyproject.toml): layers, plain code without Dagster, storage without Settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout, done.stdout[-2000:]


def test_imports_inside_functions_are_only_for_heavy_optional_dependencies():
    """A function-level import hides a cycle from import-linter: only TensorFlow and friends (the
    ml extra, ~4 s to import) should be imported late; the CLI also defers Dagster to start fast.
    Counted (a ratchet): the number may only go down as the rest move to the top of their modules."""
    late = []
    for path in sorted((REPO / "amzn_assets").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if line.startswith((" ", "\t")) and stripped.startswith(("import ", "from ")) and " import " in stripped + " ":
                late.append(f"{path.relative_to(REPO)}:{number}: {stripped}")
    assert len(late) <= LATE_IMPORTS_NOW, "\n".join(late)


LATE_IMPORTS_NOW = 82  # 2026-12-07: cli 33 (start-up time), ml 31 (TensorFlow, SentencePiece, scikit-learn), landing 6, backends 5, the rest 7
