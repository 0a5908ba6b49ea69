"""What a query returns on any backend (QueryResult), how `amzn-assets query` prints it, and the
row and partition counts of every table through any backend's query function. The engines live
with their backends: DuckDB over parquet in backends/local/query.py, PostgreSQL and Redshift in
backends/postgres/query.py."""

from __future__ import annotations

from dataclasses import dataclass

import tabulate
from tabulate import DataRow, Line, TableFormat

from amzn_assets.tables import ALL_TABLES
from amzn_assets.warehouse.whole_dimensions import quote


def _pipe_table():
    return TableFormat(
        lineabove=None, linebelowheader=Line("", "-", "-+-", ""), linebetweenrows=None, linebelow=None,
        headerrow=DataRow("", " | ", ""), datarow=DataRow("", " | ", ""), padding=0, with_header_hide=None,
    )


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def format_table(result: QueryResult, max_width: int = 60) -> str:
    """Columns separated by " | ", a rule under the header, NULL for None, cells cut at max_width,
    and the row count."""
    def cell(value) -> str:
        text = "NULL" if value is None else str(value)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(v) for v in row] for row in result.rows]
    tabulate.MIN_PADDING = 0  # columns exactly as wide as their widest cell (tabulate pads headers by 2)
    table = tabulate.tabulate(cells, headers=result.columns, tablefmt=_pipe_table(), disable_numparse=True)
    return table + f"\n({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})"


def counts_with(query) -> dict[str, tuple[int, int | None]]:
    """Rows and distinct partitions (None: an unpartitioned table) per table that exists, through any backend."""
    counts = {}
    for spec in ALL_TABLES:
        partitions = f"count(DISTINCT {quote(spec.partition_column)})" if spec.partition_column else "NULL"
        try:
            result = query(f"SELECT count(*), {partitions} FROM {quote(spec.name)}")
        except Exception:  # noqa: BLE001 - the table is not materialized (or not on this backend)
            continue
        counts[spec.name] = tuple(result.rows[0])
    return counts
