"""The SQL files agree with amzn_assets.tables, and the analysis queries compute what they claim.

* sql/postgres/schema.sql and sql/redshift/schema.sql: every star table has exactly the columns of
  its Arrow schema, in order, with the mapped types, and the TableSpec primary key.
* sql/analysis/*.sql: run with DuckDB on small hand-made tables built from the Arrow schemas.
* On a real PostgreSQL (the suite starts its own, or uses AMZN_TEST_POSTGRES_URL), the Postgres DDL
  is applied (twice) and the analysis queries are run there too, in a throwaway schema.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from amzn_assets import tables

REPO = Path(__file__).resolve().parents[2]
SQL_DIR = REPO / "sql"
PG_SCHEMA = SQL_DIR / "postgres" / "schema.sql"
REDSHIFT_SCHEMA = SQL_DIR / "redshift" / "schema.sql"
TOP_PRODUCTS = SQL_DIR / "analysis" / "top_products.sql"
RATING_BY_TEMPERATURE = SQL_DIR / "analysis" / "rating_by_temperature.sql"

STAR_NAMES = [t.name for t in tables.STAR_TABLES]
REFERENCE_NAMES = [t.name for t in tables.REFERENCE_TABLES]  # station_list, product_catalog: unpartitioned
ANALYSIS_NAMES = [t.name for t in tables.ANALYSIS_TABLES]  # monthly: product_popularity, ...
LEDGER_NAMES = ["landing_batches", "landing_files", "quarantine", "landing_applied"]


# --------------------------------------------------------------------------------------------------
# A small CREATE TABLE parser (enough for our own DDL files).
# --------------------------------------------------------------------------------------------------

_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK"}


@dataclass
class Column:
    name: str
    type: str  # normalised: lower case, single spaces, e.g. "double precision", "varchar(64)"
    definition: str


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    options: str = ""  # what follows the closing parenthesis (Redshift DISTSTYLE/DISTKEY/SORTKEY)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _unquote(identifier: str) -> str:
    identifier = identifier.strip()
    if identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1]
    return identifier.lower()


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [" ".join(p.split()) for p in parts if p.strip()]


def _identifier_list(text: str) -> tuple[str, ...]:
    return tuple(_unquote(x) for x in text.split(","))


def parse_create_tables(sql: str) -> dict[str, Table]:
    sql = _strip_comments(sql)
    result: dict[str, Table] = {}
    header = re.compile(r'CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?("[^"]+"|\w+)\s*\(', re.I)
    for m in header.finditer(sql):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        body = sql[m.end() : i - 1]
        end = sql.index(";", i)
        table = Table(_unquote(m.group(1)), options=" ".join(sql[i:end].split()))
        for part in _split_top_level(body):
            first = part.split()[0]
            if first.upper() in _CONSTRAINT_WORDS:
                table.constraints.append(part)
                pk = re.search(r"PRIMARY\s+KEY\s*\(([^)]*)\)", part, re.I)
                if pk:
                    table.primary_key = _identifier_list(pk.group(1))
                continue
            name = _unquote(first)
            rest = part[len(first) :].strip()
            type_match = re.match(r"(double\s+precision|\w+\s*\(\s*\d+\s*\)|\w+)", rest, re.I)
            assert type_match, f"no type in column definition {part!r}"
            column_type = re.sub(r"\s+", " ", type_match.group(1).lower()).replace(" (", "(")
            table.columns.append(Column(name, column_type, part))
            if re.search(r"\bPRIMARY\s+KEY\b", rest, re.I):
                table.primary_key = (name,)
        assert table.name not in result, f"table {table.name} created twice"
        result[table.name] = table
    return result


@pytest.fixture(scope="module")
def pg_tables() -> dict[str, Table]:
    return parse_create_tables(PG_SCHEMA.read_text())


@pytest.fixture(scope="module")
def redshift_tables() -> dict[str, Table]:
    return parse_create_tables(REDSHIFT_SCHEMA.read_text())


def test_parser_handles_nested_parentheses_and_inline_keys():
    parsed = parse_create_tables(
        'CREATE TABLE IF NOT EXISTS "t" (\n  a VARCHAR(10) NOT NULL, -- c, d\n'
        "  b BIGINT IDENTITY(1, 1) PRIMARY KEY,\n  c double  precision\n) DISTKEY (a);"
    )
    t = parsed["t"]
    assert t.column_names == ["a", "b", "c"]
    assert [c.type for c in t.columns] == ["varchar(10)", "bigint", "double precision"]
    assert t.primary_key == ("b",)
    assert t.options == "DISTKEY (a)"


# --------------------------------------------------------------------------------------------------
# Star tables against amzn_assets.tables
# --------------------------------------------------------------------------------------------------

PG_TYPES = {
    pa.string(): "text",
    pa.date32(): "date",
    tables.UTC_SECONDS: "timestamptz",
    pa.int8(): "smallint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.bool_(): "boolean",
}
REDSHIFT_TYPES = {**PG_TYPES, pa.string(): "varchar"}


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
def test_ddl_has_the_star_reference_and_ledger_tables_only(dialect, pg_tables, redshift_tables):
    parsed = pg_tables if dialect == "postgres" else redshift_tables
    assert sorted(parsed) == sorted(STAR_NAMES + REFERENCE_NAMES + ANALYSIS_NAMES + LEDGER_NAMES)
    # the landed_* staging tables live in Parquet only
    assert not any(name.startswith("landed_") for name in parsed)


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
@pytest.mark.parametrize("spec", tables.STAR_TABLES + tables.REFERENCE_TABLES + tables.ANALYSIS_TABLES, ids=lambda s: s.name)
def test_star_table_columns_and_key_match_the_arrow_schema(dialect, spec, pg_tables, redshift_tables):
    table = (pg_tables if dialect == "postgres" else redshift_tables)[spec.name]
    assert table.column_names == spec.schema.names
    assert table.primary_key == spec.primary_key

    expected_types = PG_TYPES if dialect == "postgres" else REDSHIFT_TYPES
    for column, arrow_field in zip(table.columns, spec.schema):
        expected = expected_types[arrow_field.type]
        if dialect == "redshift" and expected == "varchar":
            m = re.fullmatch(r"varchar\((\d+)\)", column.type)
            assert m and 1 <= int(m.group(1)) <= 65535, (spec.name, column)
        else:
            assert column.type == expected, (spec.name, column.name, column.type, arrow_field.type)
        if column.name in spec.primary_key:
            assert "NOT NULL" in column.definition.upper(), (spec.name, column.name)


def test_redshift_text_sizes(redshift_tables):
    def size(table: str, column: str) -> int:
        col = next(c for c in redshift_tables[table].columns if c.name == column)
        return int(re.fullmatch(r"varchar\((\d+)\)", col.type).group(1))

    assert size("reviews_fact", "review_text") == 65535
    assert size("reviews_fact", "style") == 4096
    assert size("products", "description") == 65535
    assert size("quarantine", "record") >= 4 * 4000  # MAX_RECORD_CHARS characters of UTF-8
    # a key has the same size wherever it appears
    assert size("reviews_fact", "asin") == size("products", "asin")
    assert size("reviews_fact", "reviewer_id") == size("users", "reviewer_id")
    assert size("climate", "station_id") == size("stations", "station_id")
    # a reference table's columns are its daily dimension's, widths included (they are queried as one)
    for reference, seen in (("station_list", "stations"), ("product_catalog", "products")):
        seen_types = {c.name: c.type for c in redshift_tables[seen].columns}
        assert all(c.type == seen_types[c.name] for c in redshift_tables[reference].columns), reference


def _foreign_keys(table: Table) -> dict[tuple[str, ...], tuple[str, tuple[str, ...], str]]:
    """{(local columns): (referenced table, (referenced columns), rest of the clause)}"""
    found = {}
    for part in table.constraints:
        m = re.search(
            r'FOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s+("[^"]+"|\w+)\s*\(([^)]*)\)(.*)', part, re.I
        )
        if m:
            found[_identifier_list(m.group(1))] = (
                _unquote(m.group(2)),
                _identifier_list(m.group(3)),
                m.group(4).strip().upper(),
            )
    return found


EXPECTED_FOREIGN_KEYS = {
    "reviews_fact": {
        ("reviewer_id",): ("users", ("reviewer_id",)),
        ("asin",): ("products", ("asin",)),
        ("review_date",): ("datetime", ("date",)),
    },
    "climate": {
        ("station_id",): ("stations", ("station_id",)),
        ("date",): ("datetime", ("date",)),
    },
}


def test_references_are_declared_where_each_dialect_keeps_them(pg_tables, redshift_tables):
    """Redshift declares them (informational); PostgreSQL leaves them to the loader's set-wise check
    (TableSpec.references), which must name the same relations."""
    for name in STAR_NAMES:
        expected = EXPECTED_FOREIGN_KEYS.get(name, {})
        fks = _foreign_keys(redshift_tables[name])
        assert {k: v[:2] for k, v in fks.items()} == expected, name
        assert all("DEFERRABLE" not in rest for _, _, rest in fks.values())  # not Redshift syntax
        assert _foreign_keys(pg_tables[name]) == {}, name
        spec = tables.TABLES_BY_NAME[name]
        assert {(own,): (other, (key,)) for own, other, key in spec.references} == expected, name


def test_postgres_indexes_and_idempotence():
    sql = _strip_comments(PG_SCHEMA.read_text())
    normalised = " ".join(sql.split())
    assert re.search(r"CREATE INDEX IF NOT EXISTS \w+ ON reviews_fact \(asin\)", normalised)
    assert re.search(
        r"CREATE UNIQUE INDEX IF NOT EXISTS \w+ ON landing_files \(kind, sha256\) "
        r"WHERE status = 'landed'",
        normalised,
    )
    assert re.search(r"CREATE INDEX IF NOT EXISTS \w+ ON landing_files \(status\)", normalised)
    assert re.search(r"CREATE INDEX IF NOT EXISTS \w+ ON landing_files \(path\)", normalised)
    assert re.search(r"CREATE INDEX IF NOT EXISTS \w+ ON quarantine \(batch_id\)", normalised)
    # every statement is idempotent: CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, or a migration that checks first
    migrations = re.findall(r"DO (\$\w*\$)(.*?)\1;", sql, re.S)
    assert [m[0] for m in migrations] == ["$migrate_review_id$"]
    assert all(" ".join(body.split()).startswith("BEGIN IF NOT EXISTS (") for _, body in migrations)
    sql = re.sub(r"DO (\$\w*\$).*?\1;", "", sql, flags=re.S)
    statements = [s.strip() for s in sql.split(";") if s.strip()]
    idempotent = r"CREATE (UNIQUE )?(TABLE|INDEX) IF NOT EXISTS|ALTER TABLE \w+ ADD COLUMN IF NOT EXISTS \w+ \w+$"
    assert statements and all(re.match(idempotent, s) for s in statements)


@pytest.mark.parametrize("path", [PG_SCHEMA, REDSHIFT_SCHEMA], ids=["postgres", "redshift"])
def test_datetime_and_date_are_quoted(path):
    sql = _strip_comments(path.read_text())
    # the table "datetime" is always quoted
    assert re.findall(r'"?\bdatetime\b"?', sql) and all(
        m == '"datetime"' for m in re.findall(r'"?\bdatetime\b"?', sql)
    )
    # the column "date": quoted in its definitions and in key lists
    parsed = parse_create_tables(path.read_text())
    for table in ("datetime", "climate"):
        definition = next(c.definition for c in parsed[table].columns if c.name == "date")
        assert definition.startswith('"date" ')
    assert not re.search(r"[(,]\s*date\s*[),]", sql, re.I)


PG_LEDGER = {
    "landing_batches": [
        ("batch_id", "text PRIMARY KEY"),
        ("kind", "text NOT NULL"),
        ("status", "text NOT NULL"),
        ("file_count", "integer NOT NULL DEFAULT 0"),
        ("row_count", "bigint NOT NULL DEFAULT 0"),
        ("rejected_count", "integer NOT NULL DEFAULT 0"),
        ("created_at", "timestamptz NOT NULL"),
        ("committed_at", "timestamptz"),
    ],
    "landing_files": [
        ("file_id", "bigserial PRIMARY KEY"),
        ("path", "text NOT NULL"),
        ("size_bytes", "bigint NOT NULL"),
        ("mtime_ns", "bigint NOT NULL"),
        ("sha256", "text NOT NULL"),
        ("kind", "text NOT NULL"),
        ("category", "text"),
        ("batch_id", "text NOT NULL REFERENCES landing_batches (batch_id)"),
        ("status", "text NOT NULL"),
        ("partitions", "text"),
        ("error", "text"),
        ("archived_path", "text"),
        ("landed_at", "timestamptz"),
    ],
    "quarantine": [
        ("quarantine_id", "bigserial PRIMARY KEY"),
        ("batch_id", "text"),
        ("kind", "text NOT NULL"),
        ("source", "text NOT NULL"),
        ("line", "integer"),
        ("reason", "text NOT NULL"),
        ("record", "text"),
        ("created_at", "timestamptz NOT NULL"),
    ],
    "landing_applied": [
        ("consumer", "text PRIMARY KEY"),
        ("batch_id", "text NOT NULL"),
        ("applied_at", "timestamptz NOT NULL"),
    ],
}


@pytest.mark.parametrize("name", LEDGER_NAMES)
def test_postgres_ledger_tables(name, pg_tables):
    table = pg_tables[name]
    assert [(c.name, c.definition.split(None, 1)[1]) for c in table.columns] == PG_LEDGER[name]
    assert not table.constraints


@pytest.mark.parametrize("name", LEDGER_NAMES)
def test_redshift_ledger_tables(name, pg_tables, redshift_tables):
    table = redshift_tables[name]
    assert table.column_names == pg_tables[name].column_names
    assert table.primary_key == pg_tables[name].primary_key
    for column in table.columns:
        definition = column.definition.upper()
        assert "SERIAL" not in definition
        if column.name.endswith("_id") and column.name != "batch_id":
            assert column.type == "bigint" and "IDENTITY(1, 1)" in definition


def test_redshift_distribution_and_sort_keys(redshift_tables):
    def options(name: str) -> str:
        return redshift_tables[name].options.upper().replace(" (", "(")

    assert "DISTSTYLE KEY" in options("reviews_fact")
    assert "DISTKEY(ASIN)" in options("reviews_fact")
    assert "SORTKEY(REVIEW_TIME)" in options("reviews_fact")
    assert "DISTSTYLE KEY" in options("products") and "DISTKEY(ASIN)" in options("products")
    assert "DISTSTYLE ALL" in options("users") or "DISTKEY(REVIEWER_ID)" in options("users")
    assert "DISTSTYLE ALL" in options("datetime") and 'SORTKEY("DATE")' in options("datetime")
    assert "DISTSTYLE ALL" in options("stations")
    assert 'SORTKEY("DATE")' in options("climate")


def test_redshift_has_no_postgres_only_syntax():
    sql = _strip_comments(REDSHIFT_SCHEMA.read_text()).upper()
    for word in ("CREATE INDEX", "CREATE UNIQUE INDEX", "SERIAL", "DEFERRABLE", " TEXT", "WHERE "):
        assert word not in sql, word


# --------------------------------------------------------------------------------------------------
# Analysis queries on small hand-made tables
# --------------------------------------------------------------------------------------------------


def test_analysis_files_start_with_a_comment():
    for path in (TOP_PRODUCTS, RATING_BY_TEMPERATURE):
        assert path.read_text().startswith("-- "), path


UTC = dt.timezone.utc
_sequence = iter(range(1_000_000))


def _review(asin: str, day: dt.date, rating: int) -> dict:
    n = next(_sequence)
    return {
        "review_date": day,
        "review_time": dt.datetime(day.year, day.month, day.day, tzinfo=UTC),
        "asin": asin,
        "reviewer_id": f"R{n:05d}",
        "category": "All_Beauty",
        "rating": rating,
        "verified": True,
        "vote": None,
        "style": None,
        "summary": "s",
        "review_text": "t",
        "image_count": 0,
        "review_id": f"{n:032x}",
    }


D = dt.date
REVIEW_DAY = D(2018, 1, 1)


def _top_products_reviews() -> list[dict]:
    ratings = {
        "B001": [5, 5, 5, 5, 4],  # 4.80 over 5
        "B002": [5, 5, 5, 5],  # 4 reviews: excluded
        "B003": [5] * 12 + [4] * 37,  # 208 / 49 = 4.2449 -> 4.24 (not 4.25: no double rounding)
        "B004": [5, 5, 5, 4, 5],  # 4.80 over 5: after B001 by asin
        "B005": [5] * 8 + [4] * 2,  # 4.80 over 10: first, more reviews
        "B006": [3] * 6,  # 3.00
    }
    return [_review(asin, REVIEW_DAY, r) for asin, rs in ratings.items() for r in rs]


def _climate(station: str, day: dt.date, tmax: float | None) -> dict:
    return {"station_id": station, "date": day, "tmax": tmax, "tmin": None if tmax is None else tmax - 10}


# day -> ratings of its reviews; and the tmax of each reporting station
TEMPERATURE_REVIEWS = {
    D(2018, 2, 1): [5, 4],  # stations 48 and 52 -> 50 -> bucket 50 (per station it would be 40 and 50)
    D(2018, 2, 2): [3],  # 59.9 -> bucket 50
    D(2018, 2, 3): [1, 2],  # -3 -> bucket -10
    D(2018, 2, 4): [5, 5, 4],  # 60 and 69 -> 64.5 -> bucket 60
    D(2018, 2, 5): [5],  # no station reports tmax: left out
    D(2018, 2, 7): [1],  # no climate at all: left out
}
TEMPERATURE_CLIMATE = [
    _climate("S1", D(2018, 2, 1), 48.0),
    _climate("S2", D(2018, 2, 1), 52.0),
    _climate("S3", D(2018, 2, 1), None),
    _climate("S1", D(2018, 2, 2), 59.9),
    _climate("S1", D(2018, 2, 3), -3.0),
    _climate("S2", D(2018, 2, 3), None),
    _climate("S1", D(2018, 2, 4), 60.0),
    _climate("S2", D(2018, 2, 4), 69.0),
    _climate("S1", D(2018, 2, 5), None),
    _climate("S1", D(2018, 2, 6), 75.0),  # no reviews that day: no bucket 70
]
EXPECTED_RATING_BY_TEMPERATURE = [
    (-10, 2, Decimal("1.50"), 1),
    (50, 3, Decimal("4.00"), 2),
    (60, 3, Decimal("4.67"), 1),
]
EXPECTED_TOP_PRODUCTS = [
    ("B005", "Product B005", "Brand B005", "Beauty", 10, Decimal("4.80")),
    ("B001", "Product B001", "Brand B001", "Beauty", 5, Decimal("4.80")),
    ("B004", "Product B004", "Brand B004", "Beauty", 5, Decimal("4.80")),
    ("B003", "Product B003", "Brand B003", "Beauty", 49, Decimal("4.24")),
    ("B006", "Product B006", "Brand B006", "Beauty", 6, Decimal("3.00")),
]


def _star_rows() -> dict[str, list[dict]]:
    """Consistent rows for all six star tables (every foreign key resolves)."""
    reviews = _top_products_reviews() + [
        # one product per day, under 5 reviews each: not in top_products
        _review(f"T{day:%m%d}", day, r) for day, rs in TEMPERATURE_REVIEWS.items() for r in rs
    ]
    climate = list(TEMPERATURE_CLIMATE)
    days = sorted({r["review_date"] for r in reviews} | {c["date"] for c in climate})
    asins = sorted({r["asin"] for r in reviews})
    return {
        "reviews_fact": reviews,
        "users": [
            {"reviewer_id": r["reviewer_id"], "reviewer_name": "n", "seen_date": r["review_date"]}
            for r in reviews
        ],
        "products": [
            {
                "asin": a,
                "title": f"Product {a}",
                "brand": f"Brand {a}",
                "category": "Beauty",
                "has_metadata": True,
                "seen_date": REVIEW_DAY,
            }
            for a in asins
        ],
        "datetime": [
            {
                "date": d,
                "year": d.year,
                "month": d.month,
                "day": d.day,
                "day_of_week": d.isoweekday(),
                "week": d.isocalendar()[1],
                "day_of_year": d.timetuple().tm_yday,
            }
            for d in days
        ],
        "stations": [
            {"station_id": s, "in_station_list": True, "seen_date": days[0]}
            for s in sorted({c["station_id"] for c in climate})
        ],
        "climate": climate,
    }


def _duckdb_with(rows: dict[str, list[dict]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for spec in tables.STAR_TABLES:
        arrow_table = pa.Table.from_pylist(rows.get(spec.name, []), schema=spec.schema)
        con.register("arrow_input", arrow_table)
        con.execute(f'CREATE TABLE "{spec.name}" AS SELECT * FROM arrow_input')
        con.unregister("arrow_input")
    return con


def _query(con, path: Path) -> list[tuple]:
    return [tuple(row) for row in con.execute(path.read_text()).fetchall()]


def test_top_products_on_duckdb():
    con = _duckdb_with(_star_rows())
    assert _query(con, TOP_PRODUCTS) == EXPECTED_TOP_PRODUCTS


def test_top_products_limits_to_20():
    rows = _star_rows()
    extra = [f"C{i:03d}" for i in range(30)]
    rows["reviews_fact"] += [_review(a, REVIEW_DAY, 1) for a in extra for _ in range(5)]
    rows["products"] += [{"asin": a, "title": a, "seen_date": REVIEW_DAY} for a in extra]
    result = _query(_duckdb_with(rows), TOP_PRODUCTS)
    assert len(result) == 20
    assert result[:5] == EXPECTED_TOP_PRODUCTS
    assert [r[0] for r in result[5:]] == extra[:15]  # ties at 1.00 over 5: by asin
    assert all(r[5] == Decimal("1.00") for r in result[5:])


def test_rating_by_temperature_on_duckdb():
    con = _duckdb_with(_star_rows())
    assert _query(con, RATING_BY_TEMPERATURE) == EXPECTED_RATING_BY_TEMPERATURE


# --------------------------------------------------------------------------------------------------
# PostgreSQL (the suite's own server, or AMZN_TEST_POSTGRES_URL; see conftest.postgres_url)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def pg_connection(postgres_url):
    """A DBAPI connection whose search_path is a fresh schema, dropped afterwards."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    schema = f"amzn_ddl_test_{uuid.uuid4().hex[:12]}"
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
            cur.execute(f"SET search_path TO {schema}")
        raw.commit()
        yield raw
    finally:
        raw.rollback()
        with raw.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        raw.commit()
        raw.close()
        engine.dispose()


def _apply(raw, path: Path) -> None:
    with raw.cursor() as cur:
        cur.execute(path.read_text())  # psycopg2 runs a multi-statement string
    raw.commit()


def _pg_columns(raw, table: str) -> list[str]:
    with raw.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in cur.fetchall()]


def test_schema_applies_on_postgres(pg_connection):
    raw = pg_connection
    _apply(raw, PG_SCHEMA)
    _apply(raw, PG_SCHEMA)  # idempotent
    for spec in tables.STAR_TABLES + tables.REFERENCE_TABLES:
        assert _pg_columns(raw, spec.name) == spec.schema.names
    for name in LEDGER_NAMES:
        assert _pg_columns(raw, name) == [c for c, _ in PG_LEDGER[name]]

    with raw.cursor() as cur:
        # the partial unique index: one landed file per (kind, sha256); duplicates do not count
        cur.execute(
            "INSERT INTO landing_batches (batch_id, kind, status, created_at) VALUES ('b1', 'reviews', 'open', now())"
        )
        insert_file = (
            "INSERT INTO landing_files (path, size_bytes, mtime_ns, sha256, kind, batch_id, status) "
            "VALUES ('p', 1, 1, 'abc', 'reviews', 'b1', %s)"
        )
        cur.execute(insert_file, ("duplicate",))
        cur.execute(insert_file, ("landed",))
        cur.execute(insert_file, ("duplicate",))
        cur.execute("SAVEPOINT s")
        with pytest.raises(Exception, match="unique"):
            cur.execute(insert_file, ("landed",))
        cur.execute("ROLLBACK TO SAVEPOINT s")


def test_analysis_queries_on_postgres(pg_connection):
    raw = pg_connection
    _apply(raw, PG_SCHEMA)
    rows = _star_rows()
    with raw.cursor() as cur:
        for spec in tables.STAR_TABLES:
            names = spec.schema.names
            columns = ", ".join(f'"{n}"' for n in names)
            placeholders = ", ".join(["%s"] * len(names))
            cur.executemany(
                f'INSERT INTO "{spec.name}" ({columns}) VALUES ({placeholders})',
                [tuple(row.get(n) for n in names) for row in rows[spec.name]],
            )
    raw.commit()
    for path, expected in (
        (TOP_PRODUCTS, EXPECTED_TOP_PRODUCTS),
        (RATING_BY_TEMPERATURE, EXPECTED_RATING_BY_TEMPERATURE),
    ):
        with raw.cursor() as cur:
            cur.execute(path.read_text())
            assert [tuple(r) for r in cur.fetchall()] == expected, path.name
