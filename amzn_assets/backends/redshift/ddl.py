"""The Redshift DDL as the IO manager applies it (no Dagster, no connection): sql/redshift/ split
into statements (dollar-quoted bodies kept whole), run with the schema named, and the VARCHAR widths
the IO manager truncates values to before a COPY (sql.py says why)."""

from __future__ import annotations

import re
from pathlib import Path

from amzn_assets.backends.redshift.sql import Statement, ident
from amzn_assets.sql_files import default_sql_dir

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")  # $$ or $tag$ opening a dollar-quoted body


def split_sql(text: str) -> list[str]:
    """Statements of a SQL script: `--` comments dropped, split on `;` outside quotes and
    dollar-quoted bodies ($tag$ ... $tag$, as in a PostgreSQL DO block)."""
    statements, current, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end  # keep the newline
            continue
        tag = _DOLLAR_TAG.match(text, i) if c == "$" else None
        if tag:
            end = text.find(tag.group(), tag.end())
            if end < 0:
                raise ValueError("unterminated dollar quote in SQL script")
            end += len(tag.group())
            current.append(text[i:end])
            i = end
            continue
        if c in ("'", '"'):
            end = i + 1
            while True:
                end = text.find(c, end)
                if end < 0:
                    raise ValueError("unterminated quote in SQL script")
                if text.startswith(c * 2, end):  # doubled quote inside the quoted text
                    end += 2
                    continue
                break
            current.append(text[i : end + 1])
            i = end + 1
            continue
        if c == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    statements.append("".join(current))
    cleaned = ("\n".join(line.rstrip() for line in s.strip().splitlines() if line.strip()) for s in statements)
    return [s for s in cleaned if s]


def redshift_ddl(sql_dir: Path | None = None) -> str:
    if sql_dir is None:
        sql_dir = default_sql_dir()
    # The column comments (generated from amzn_assets/tables.py) run after the tables they describe.
    return (Path(sql_dir) / "redshift" / "schema.sql").read_text() + "\n" + (Path(sql_dir) / "redshift" / "comments.sql").read_text()


def ensure_schema(schema: str, ddl: str | None = None) -> list[Statement]:
    """CREATE SCHEMA IF NOT EXISTS, then sql/redshift/schema.sql (all IF NOT EXISTS) inside it."""
    body = split_sql(redshift_ddl() if ddl is None else ddl)
    return (
        [Statement("BEGIN"), Statement(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")]
        # search_path, not qualified names: the DDL file names its tables (and REFERENCES) bare.
        + [Statement(f"SET search_path TO {ident(schema)}")]
        + [Statement(s) for s in body]
        + [Statement("COMMIT")]
    )


_CREATE_TABLE = re.compile(r'^CREATE TABLE IF NOT EXISTS\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s*\(', re.IGNORECASE)
_VARCHAR_COLUMN = re.compile(r'^\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s+VARCHAR\((\d+)\)', re.IGNORECASE | re.MULTILINE)


def varchar_widths(ddl: str | None = None) -> dict[str, dict[str, int]]:
    """{table: {column: n}} of every VARCHAR(n) column of the Redshift DDL (n counts UTF-8 bytes)."""
    widths: dict[str, dict[str, int]] = {}
    for statement in split_sql(redshift_ddl() if ddl is None else ddl):
        match = _CREATE_TABLE.match(statement)
        if match:
            widths[match.group(1)] = {c: int(n) for c, n in _VARCHAR_COLUMN.findall(statement)}
    return widths


# --------------------------------------------------------------------------------------------------
# Loads
# --------------------------------------------------------------------------------------------------
