"""A PostgreSQL URL in the two forms the project's libraries take: SQLAlchemy's (with the psycopg2
driver named) and libpq's (psycopg2.connect, psql)."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

_LIBPQ_SCHEMES = ("postgresql", "postgres")  # what libpq accepts; SQLAlchemy knows only "postgresql"


def sqlalchemy_url(url: str) -> URL:
    """A database URL for create_engine, parsed by SQLAlchemy (make_url), with a libpq scheme
    (postgresql://, postgres://) given the psycopg2 driver this project ships.

    SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed. Other URLs (sqlite:///...,
    postgresql+psycopg2://...) come back as SQLAlchemy parses them.
    """
    parsed = make_url(url)
    if parsed.drivername in _LIBPQ_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed


def libpq_url(url: str) -> str:
    """The inverse of sqlalchemy_url, for psycopg2.connect and psql.

    A string edit on purpose, not make_url(...).render_as_string(): rendering re-encodes the query
    string the way SQLAlchemy reads it (a space as "+"), which libpq reads back as a literal "+"
    (a socket directory ?host=/tmp/a%20b would become /tmp/a+b)."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)
