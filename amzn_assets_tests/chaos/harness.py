"""SIGKILL a command at seeded random moments, then let it finish; snapshot what it wrote.

Shared by the chaos tests (a few kills of each kind) and benchmarks/chaos.py (the long run). A kill
takes the command's whole process group (its step processes too), as a crashed machine would.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amzn_assets.landing.archive import Archive
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.data_dirs import DataDirs


@dataclass
class Kills:
    """Where each kill landed: seconds after the start, or None when the command finished first."""

    what: str
    seed: int
    moments: list[float | None] = field(default_factory=list)

    @property
    def landed(self) -> int:
        return sum(m is not None for m in self.moments)

    def __str__(self) -> str:
        shown = ", ".join("finished first" if m is None else f"{m:.2f}s" for m in self.moments)
        return f"{self.what}: seed {self.seed}, {self.landed} of {len(self.moments)} kills landed ({shown})"


def kill_at_random(
    command: Sequence[str], env: dict, *, kills: int, window: tuple[float, float], seed: int,
    what: str = "", cwd: str | os.PathLike | None = None,
) -> Kills:
    """Start the command `kills` times, each time SIGKILLing its process group after a uniform random
    delay within `window` (unless it finished first)."""
    rng = random.Random(seed)
    log = Kills(what or " ".join(command[:3]), seed)
    for _ in range(kills):
        delay = rng.uniform(*window)
        process = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            process.wait(timeout=delay)
            log.moments.append(None)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            log.moments.append(delay)
    return log


def run_to_completion(command: Sequence[str], env: dict, *, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(list(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed after the kills:\n{done.stderr[-3000:]}")
    return done


def landing_snapshot(dirs: DataDirs) -> dict:
    """What landing produced: every distinct landed review (by review_id), climate rows, ledger file
    statuses, quarantined records, files left in the upload area and archived."""
    lander = Lander(dirs)
    reader = LandedReader(lander.ledger, lander.segments)
    days = sorted(lander.ledger.partitions_of_batches(lander.ledger.committed_batches("reviews")))
    reviews, merged = reader.reviews(days) if days else (None, 0)
    ids = sorted(reviews["review_id"].to_pylist()) if reviews is not None else []
    return {
        "reviews": len(ids),
        "review_ids": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "repeats_merged": merged,
        "files": lander.ledger.file_status_counts(),
        "quarantined_records": len(lander.ledger.quarantined()),
        "left_in_upload_area": sum(1 for p in dirs.uploaded.rglob("*") if p.is_file()),
        "archived": sum(1 for _ in Archive(lander.store).paths()),  # bundle members and files under raw/
    }


def table_snapshot(query: Callable[[str], Sequence[tuple]]) -> dict:
    """Rows and a digest of the sorted keys of every star table, through any backend's SQL."""
    from amzn_assets.tables import STAR_TABLES

    snapshot = {}
    for spec in STAR_TABLES:
        keys = ", ".join(f'"{c}"' for c in spec.primary_key)
        try:
            rows = query(f"SELECT {keys} FROM \"{spec.name}\" ORDER BY {keys}")
        except Exception:  # noqa: BLE001 - a table the input never fed
            continue
        text = "\n".join("|".join(str(v) for v in row) for row in rows)
        snapshot[spec.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest()[:16])
    return snapshot


def seed_from_env() -> int:
    """AMZN_CHAOS_SEED reproduces a run; otherwise a fresh seed (printed by the caller)."""
    return int(os.environ.get("AMZN_CHAOS_SEED") or time.time_ns() % 1_000_000)


def copy_tree(source: Path, target: Path) -> None:
    import shutil

    shutil.copytree(source, target, dirs_exist_ok=True)
