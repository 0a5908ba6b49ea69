"""db_urls: libpq URLs get the psycopg2 driver for SQLAlchemy (make_url), and lose it again for libpq."""

from __future__ import annotations

import pytest
from psycopg2.extensions import parse_dsn
from sqlalchemy.engine import make_url

from amzn_assets.db_urls import libpq_url, sqlalchemy_url


@pytest.mark.parametrize(
    "url, driver",
    [
        ("postgresql://u:p%40ss@h:5432/db?sslmode=require", "postgresql+psycopg2"),
        ("postgres://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("sqlite:////tmp/a b/ledger.sqlite", "sqlite"),
    ],
)
def test_sqlalchemy_url_names_the_driver_and_keeps_the_rest(url, driver):
    parsed = sqlalchemy_url(url)
    assert parsed.drivername == driver
    assert parsed.set(drivername="x") == make_url(url).set(drivername="x")


def test_libpq_url_keeps_the_query_libpq_reads():
    url = "postgresql+psycopg2://postgres:@/postgres?host=/tmp/a%20b"
    assert libpq_url(url) == "postgresql://postgres:@/postgres?host=/tmp/a%20b"
    assert parse_dsn(libpq_url(url))["host"] == "/tmp/a b"
    assert make_url(libpq_url(url)) == sqlalchemy_url(libpq_url(url)).set(drivername="postgresql")
