"""The layout of one data directory: the upload area, landed segments and ledger, the archive,
quarantine, the local warehouse and the model artifacts (data/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDirs:
    """The on-disk layout under one data directory (the seed project's layout, plus landing)."""

    root: Path

    @property
    def uploaded(self) -> Path:
        return self.root / "uploaded"

    @property
    def landed(self) -> Path:
        return self.root / "landed"

    @property
    def raw(self) -> Path:
        """Archive of source files that landed (the seed's backup folder)."""
        return self.root / "raw"

    @property
    def quarantine(self) -> Path:
        """Source files that could not be landed at all, kept for inspection."""
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def models(self) -> Path:
        """Local rating-model artifacts (storage.artifacts.MODELS_DIR)."""
        return self.root / "models"

    @property
    def ledger_lock(self) -> Path:
        return self.landed / ".landing.lock"

    @property
    def sqlite_ledger_url(self) -> str:
        """The default ledger (no AMZN_LEDGER_URL, a backend without a database): SQLite under landed/."""
        return f"sqlite:///{self.landed / 'ledger.sqlite'}"
