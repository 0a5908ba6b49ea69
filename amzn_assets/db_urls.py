"""A PostgreSQL URL in the two forms the project's libraries take: SQLAlchemy's (with the psycopg2
driver named) and libpq's (psycopg2.connect, psql)."""

from __future__ import annotations


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (postgresql://...) for SQLAlchemy with the psycopg2 driver this project ships.

    SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The inverse of sqlalchemy_url, for psycopg2.connect and psql."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)
