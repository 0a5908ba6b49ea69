"""query and summary: the warehouse of the chosen backend, the ledger, the asset checks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from amzn_assets.cli.common import ledger, pass_settings
from amzn_assets.settings import Settings


@click.command(help="run SQL over the warehouse (tables under their asset names)")
@click.argument("sql", required=False)
@click.option("--file", "sql_file", help="read the SQL from a file, e.g. sql/analysis/top_products.sql")
@click.option("--csv", "as_csv", is_flag=True, help="print CSV instead of a table")
@pass_settings
def query(settings: Settings, sql: str | None, sql_file: str | None, as_csv: bool) -> int:
    from amzn_assets.backends import backend_for
    from amzn_assets.warehouse.query import format_table

    sql = Path(sql_file).read_text() if sql_file else sql
    if not sql:
        print("give a SQL string or --file", file=sys.stderr)
        return 2
    try:
        result = backend_for(settings).query(sql)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    if as_csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        print(format_table(result))
    return 0


@click.command(help="rows and partitions per table, ledger and quarantine counts")
@pass_settings
def summary(settings: Settings) -> int:
    from amzn_assets.backends import backend_for
    from amzn_assets.warehouse.query import counts_with

    backend = backend_for(settings)
    counts = counts_with(backend.query)
    if not counts:
        print(f"nothing materialized yet (AMZN_BACKEND={backend.name})")
        return 1
    print(f"warehouse ({backend.name}): {backend.location()}")
    print(f"  {'table':<20}{'rows':>10}{'partitions':>12}")
    for name, (rows, partitions) in counts.items():
        print(f"  {name:<20}{rows:>10}{'-' if partitions is None else partitions:>12}")  # -: not partitioned
    landing_ledger = ledger(settings)
    files = landing_ledger.file_status_counts()
    print("  landing ledger: " + (", ".join(f"{n} files {s}" for s, n in sorted(files.items())) or "empty"))
    print(f"  quarantined records: {len(landing_ledger.quarantined())}")
    print_station_lines(settings, landing_ledger)
    print_checks(settings, backend.query)
    if "product_popularity" in counts:
        print_top_products(backend.query)
    return 0


TOP_PRODUCTS_SQL = """
    SELECT month, category, asin, title, reviews, mean_rating, wilson_lower
    FROM product_popularity WHERE month = (SELECT max(month) FROM product_popularity)
    ORDER BY wilson_lower DESC, reviews DESC, asin LIMIT 5
"""


def print_top_products(query) -> None:
    """The latest month's top products (product_popularity), by the lower bound of their 4-5 star share."""
    rows = query(TOP_PRODUCTS_SQL).rows
    if not rows:
        return
    print(f"  top products of {str(rows[0][0])[:7]} (product_popularity: Wilson lower bound of the 4-5 star share):")
    for n, (_, category, asin, title, reviews, mean, lower) in enumerate(rows, 1):
        name = (title or asin)[:50]
        print(f"    {n}. {name} ({asin}, {category}): {reviews} reviews, mean {float(mean):.2f}, lower bound {float(lower):.3f}")


def print_station_lines(settings: Settings, landing_ledger) -> None:
    """Climate stations missing from the landed station list, and stations renamed between files."""
    from amzn_assets.checks.summary import station_lines
    from amzn_assets.landing.readers import LandedReader
    from amzn_assets.landing.segments import SegmentStore

    print("\n".join(station_lines(LandedReader(landing_ledger, SegmentStore(settings.dirs.landed)))))


def print_checks(settings: Settings, query) -> None:
    """The asset checks: the latest evaluations in the Dagster instance of DAGSTER_HOME, else the
    checks run now over the warehouse."""
    from amzn_assets.checks.summary import summary_lines

    if settings.dagster_home:
        from dagster import DagsterInstance

        from amzn_assets.cli.check_summary import latest_evaluations

        with DagsterInstance.get() as instance:
            summaries = latest_evaluations(instance)
        print(f"  asset checks (latest evaluation of each day, from the Dagster instance in {settings.dagster_home}):")
    else:
        from amzn_assets.cli.check_summary import evaluate_now
        from amzn_assets.definitions import resources_from

        days = {}
        for table, column in (("reviews_fact", "review_date"), ("climate", "date")):
            try:
                days[table] = [str(row[0]) for row in query(f'SELECT DISTINCT "{column}" FROM "{table}"').rows]
            except Exception:  # noqa: BLE001 - the table is not materialized
                days[table] = []
        summaries = evaluate_now(resources_from(settings), days)
        print("  asset checks (DAGSTER_HOME is not set: run now over every day of the warehouse; freshness counts "
              "only the stream's watermark):")
    print("\n".join(summary_lines(summaries)))


COMMANDS = (query, summary)
