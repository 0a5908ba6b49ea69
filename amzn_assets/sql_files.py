"""Where the SQL files (sql/<dialect>/) are found when no AMZN_SQL_DIR says otherwise."""

from __future__ import annotations

from pathlib import Path


def default_sql_dir() -> Path:
    """sql/ beside the package (a checkout or an editable install), else under the working directory."""
    beside_package = Path(__file__).resolve().parents[1] / "sql"
    return beside_package if beside_package.is_dir() else Path.cwd() / "sql"
