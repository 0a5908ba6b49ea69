"""The PostgreSQL loads stay atomic and durable with their speed-ups (binary COPY, a bulk path that
truncates and rebuilds indexes, MERGE upserts, pooled connections).

* A load that fails half-way (a broken chunk, a dangling reference) leaves the rows, the indexes
  and the keys that were there, on both paths (the bulk path: the range holds the whole table).
* A loader SIGKILLed in the middle of a bulk load, and a PostgreSQL server SIGKILLed in the middle
  of one (then restarted: crash recovery), lose nothing committed and show nothing half-loaded.
* Concurrent upserts of overlapping dimension keys (concurrent backfill runs) neither deadlock nor
  lose the latest row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pyarrow as pa
import pytest

from amzn_assets.db_urls import libpq_url
from amzn_assets.backends.postgres import database as pg_database
from amzn_assets.backends.postgres import writes as pg_writes
from amzn_assets.tables import DATETIME_SCHEMA, PRODUCTS_SCHEMA, REVIEWS_FACT, REVIEWS_FACT_SCHEMA, USERS_SCHEMA
from amzn_assets.transforms.reviews import datetime_rows

REPO = Path(__file__).resolve().parents[2]
DAY0 = dt.date(2018, 1, 1)


def days(n: int, start: dt.date = DAY0) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def fact_rows(day: str, n: int, tag: str = "") -> pa.Table:
    """n reviews on a day, reviewer R<i>, product P<i % 7>; review_id unique per (day, i, tag)."""
    d = dt.date.fromisoformat(day)
    time0 = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)
    return pa.table(
        {
            "review_date": pa.array([d] * n, pa.date32()),
            "review_time": pa.array([time0] * n, REVIEWS_FACT_SCHEMA.field("review_time").type),
            "asin": [f"P{i % 7}" for i in range(n)],
            "reviewer_id": [f"R{i}" for i in range(n)],
            "category": ["toys"] * n,
            "rating": pa.array([1 + i % 5 for i in range(n)], pa.int8()),
            "verified": [True] * n,
            "vote": pa.array([i for i in range(n)], pa.int32()),
            "total_votes": pa.array([None] * n, pa.int32()),
            "style": [None] * n,
            "summary": [f"s{i}{tag}" for i in range(n)],
            "review_text": [f"text {i}\nwith a newline, a comma and \"quotes\" {tag}" for i in range(n)],
            "image_count": pa.array([0] * n, pa.int16()),
            "review_id": [f"{day}-{i:06d}-{tag}".ljust(32, "x")[:32] for i in range(n)],
        },
        schema=REVIEWS_FACT_SCHEMA,
    )


def load_dimensions(conn, schema: str, keys: list[str], n: int) -> None:
    day = dt.date.fromisoformat(keys[0])
    pg_writes.upsert(conn, schema, "datetime", ["date"], "date", [datetime_rows([dt.date.fromisoformat(k) for k in keys]).cast(DATETIME_SCHEMA)])
    users = pa.table({"reviewer_id": [f"R{i}" for i in range(n)], "reviewer_name": [None] * n, "seen_date": [day] * n}, schema=USERS_SCHEMA)
    pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [users])
    products = [{f.name: None for f in PRODUCTS_SCHEMA} | {"asin": f"P{i}", "has_metadata": False, "seen_date": day} for i in range(7)]
    pg_writes.upsert(conn, schema, "products", ["asin"], "seen_date", [pa.Table.from_pylist(products, schema=PRODUCTS_SCHEMA)])


def replace(conn, schema: str, keys: list[str], chunks) -> dict[str, int]:
    return pg_writes.replace_partitions(
        conn, schema, "reviews_fact", "review_date", keys, chunks, REVIEWS_FACT.references, REVIEWS_FACT.primary_key
    )


def snapshot(url: str, schema: str) -> list[tuple]:
    with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT review_date, review_id, summary, review_text FROM "{schema}".reviews_fact ORDER BY 1, 2')
        return cur.fetchall()


def indexes(url: str, schema: str) -> list[str]:
    with psycopg2.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'reviews_fact' ORDER BY 1", (schema,))
        return [r[0] for r in cur.fetchall()]


@pytest.fixture
def pg_schema(postgres_url):
    schema = f"t_{uuid.uuid4().hex[:10]}"
    conn = pg_database.connect(postgres_url)
    pg_database.ensure_schema(conn, schema)
    yield schema, conn
    conn.close()
    with psycopg2.connect(libpq_url(postgres_url)) as admin, admin.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def broken_after_first(first: pa.Table):
    yield first
    raise RuntimeError("the source broke half-way")


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk path (range holds the table)", "delete path"])
def test_a_failed_load_leaves_the_previous_rows_and_indexes(postgres_url, pg_schema, bulk):
    schema, conn = pg_schema
    keys = days(6)
    load_dimensions(conn, schema, keys, 50)
    assert replace(conn, schema, keys[:3], [fact_rows(k, 40, "v1") for k in keys[:3]]) == {k: 40 for k in keys[:3]}
    replace(conn, schema, keys[5:], [fact_rows(keys[5], 10, "v1")])
    before, before_indexes = snapshot(postgres_url, schema), indexes(postgres_url, schema)
    assert len(before) == 130 and len(before_indexes) == 2

    target = keys if bulk else keys[:3]  # the whole table's days, or a range with rows beside it
    with pytest.raises(RuntimeError, match="broke half-way"):
        replace(conn, schema, target, broken_after_first(fact_rows(keys[0], 40, "v2")))
    dangling = fact_rows(keys[1], 3, "v2").set_column(3, "reviewer_id", pa.array(["NOBODY"] * 3))
    with pytest.raises(pg_writes.ReferenceViolation, match="reviewer_id values missing from users"):
        replace(conn, schema, target, [fact_rows(keys[0], 40, "v2"), dangling])
    assert snapshot(postgres_url, schema) == before
    assert indexes(postgres_url, schema) == before_indexes

    # The same connection goes on working; a good load replaces the range.
    replace(conn, schema, target, [fact_rows(k, 20, "v3") for k in target])
    after = snapshot(postgres_url, schema)
    assert len(after) == 20 * len(target) + (0 if bulk else 10)
    assert indexes(postgres_url, schema) == before_indexes


LOADER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from amzn_assets_tests.backends.test_postgres_bulk_load import days, fact_rows, replace
    from amzn_assets.backends.postgres import database as pg_database
    from amzn_assets.backends.postgres import writes as pg_writes

    def chunks():
        keys = days(6)
        yield fact_rows(keys[0], 2000, "new")
        yield fact_rows(keys[1], 2000, "new")
        time.sleep(600)  # killed here: the first chunks are copied, the transaction is open
        yield fact_rows(keys[2], 2000, "new")

    conn = pg_database.connect({url!r})
    replace(conn, {schema!r}, days(6), chunks())
    """
)


def start_loader(url: str, schema: str) -> subprocess.Popen:
    env = {**os.environ, "PGAPPNAME": f"killtest-{schema}"}
    code = LOADER.format(repo=str(REPO), url=url, schema=schema)
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)


def wait_mid_load(url: str, schema: str, loader: subprocess.Popen) -> None:
    """Until the loader's session has copied its first chunks and waits, its transaction open."""
    deadline = time.monotonic() + 60
    with autocommit(url) as cur:
        while time.monotonic() < deadline:
            assert loader.poll() is None, "the loader ended before it was killed"
            cur.execute(
                "SELECT a.state, (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.mode = 'AccessExclusiveLock' "
                "AND l.relation = %s::regclass) FROM pg_stat_activity a WHERE a.application_name = %s",
                (f'"{schema}".reviews_fact', f"killtest-{schema}"),
            )
            row = cur.fetchone()
            if row and row[0] == "idle in transaction" and row[1]:
                time.sleep(0.5)  # two chunks copied by now (the second one follows at once)
                return
            time.sleep(0.2)
    raise AssertionError("the loader never reached the middle of its load")


@contextmanager
def autocommit(url: str):
    """A cursor whose every statement is its own transaction (pg_stat_activity is read afresh)."""
    conn = psycopg2.connect(libpq_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def wait_gone(url: str, schema: str) -> None:
    deadline = time.monotonic() + 30
    with autocommit(url) as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (f"killtest-{schema}",))
            if cur.fetchone()[0] == 0:
                return
            time.sleep(0.2)
    raise AssertionError("the killed loader's session is still there")


def committed_state(url: str, schema: str, keys: list[str]):
    conn = pg_database.connect(url)
    load_dimensions(conn, schema, keys, 2000)
    replace(conn, schema, keys[:2], [fact_rows(k, 300, "old") for k in keys[:2]])
    conn.close()
    return snapshot(url, schema), indexes(url, schema)


def test_a_loader_killed_mid_load_loses_nothing_committed(postgres_url, pg_schema):
    schema, _ = pg_schema
    before, before_indexes = committed_state(postgres_url, schema, days(6))
    loader = start_loader(postgres_url, schema)
    try:
        wait_mid_load(postgres_url, schema, loader)
    finally:
        os.killpg(loader.pid, signal.SIGKILL)
        loader.wait(timeout=30)
    wait_gone(postgres_url, schema)
    assert snapshot(postgres_url, schema) == before
    assert indexes(postgres_url, schema) == before_indexes


def postmaster_and_children(server) -> list[int]:
    postmaster = server.get_pid()
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(postmaster):
            children.append(int(stat.parent.name))
    return [postmaster, *children]


@pytest.mark.timeout(180, method="signal")
def test_a_server_killed_mid_load_recovers_every_committed_row_and_no_partial_one():
    """Its own server (the suite's is shared): SIGKILL the postmaster and every backend while a bulk
    load is open, restart it (WAL crash recovery), compare."""
    import pgserver

    data = tempfile.mkdtemp(prefix="amzn-test-pgcrash-")
    server = pgserver.get_server(data, cleanup_mode="delete")
    try:
        url = server.get_uri()
        schema = "crash"
        conn = pg_database.connect(url)
        pg_database.ensure_schema(conn, schema)
        conn.close()
        before, before_indexes = committed_state(url, schema, days(6))
        loader = start_loader(url, schema)
        try:
            wait_mid_load(url, schema, loader)
            for pid in postmaster_and_children(server):
                with contextlib.suppress(ProcessLookupError):  # a backend may exit once its postmaster is gone
                    os.kill(pid, signal.SIGKILL)
        finally:
            os.killpg(loader.pid, signal.SIGKILL)
            loader.wait(timeout=30)
        deadline = time.monotonic() + 30
        while server.get_postmaster_info() is not None and server.get_postmaster_info().is_running():
            assert time.monotonic() < deadline, "the killed postmaster is still running"
            time.sleep(0.2)
        server.ensure_postgres_running()  # crash recovery replays the WAL
        pg_database._pool.clear()
        assert snapshot(url, schema) == before
        assert indexes(url, schema) == before_indexes
    finally:
        server.cleanup()


def test_concurrent_upserts_of_overlapping_keys_neither_deadlock_nor_lose_the_latest_row(postgres_url, pg_schema):
    """Eight threads, each its own connection, upsert overlapping reviewers in different orders and
    with different days; every upsert succeeds and each reviewer keeps its latest day's row."""
    schema, _ = pg_schema
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        conn = pg_database.connect(postgres_url)
        try:
            for rnd in range(4):
                day = DAY0 + dt.timedelta(days=(w * 4 + rnd) % 9)
                ids = [f"R{i}" for i in range(3000)]
                ids = ids[::-1] if w % 2 else ids  # opposite orders
                chunk = pa.table(
                    {"reviewer_id": ids, "reviewer_name": [f"{day}"] * len(ids), "seen_date": [day] * len(ids)}, schema=USERS_SCHEMA
                )
                pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [chunk])
        except BaseException as error:
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer did not finish in 120 s"
    assert not errors, errors
    latest = max(DAY0 + dt.timedelta(days=(w * 4 + rnd) % 9) for w in range(8) for rnd in range(4))
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT count(*), min(seen_date), max(seen_date), count(DISTINCT reviewer_name) FROM "{schema}".users')
        assert cur.fetchone() == (3000, latest, latest, 1)


def test_a_rerun_of_unchanged_dimension_rows_writes_no_row_version(postgres_url, pg_schema):
    """MERGE updates only rows that are older and differ: re-upserting the same rows leaves every
    row's xmin (the transaction that wrote it) as it was; a changed name is written."""
    schema, conn = pg_schema
    users = pa.table({"reviewer_id": ["A", "B"], "reviewer_name": ["a", None], "seen_date": [DAY0, DAY0]}, schema=USERS_SCHEMA)
    pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [users])

    def versions():
        with conn.cursor() as cur:
            cur.execute(f'SELECT reviewer_id, reviewer_name, xmin::text FROM "{schema}".users ORDER BY 1')
            rows = cur.fetchall()
        conn.rollback()
        return rows

    first = versions()
    pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [users])
    assert versions() == first
    renamed = users.set_column(1, "reviewer_name", pa.array(["a", "b"]))
    pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [renamed])
    after = versions()
    assert after[0] == first[0] and after[1][1] == "b" and after[1][2] != first[1][2]


def test_a_first_dimension_load_keeps_each_keys_latest_row_and_a_failed_one_keeps_the_index(postgres_url, pg_schema):
    """Into an empty table the upsert stages every chunk and inserts each key's latest row once
    (the bulk path); a load that breaks leaves the table as it was, primary key included."""
    schema, conn = pg_schema

    def users(day: int, names: str, ids: range) -> pa.Table:
        return pa.table(
            {"reviewer_id": [f"R{i}" for i in ids], "reviewer_name": [f"{names}{i}" for i in ids], "seen_date": [DAY0 + dt.timedelta(days=day)] * len(ids)},
            schema=USERS_SCHEMA,
        )

    def primary_key() -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", (f'"{schema}".users',))
            found = cur.fetchall()
        conn.rollback()
        return found

    def broken():
        yield users(0, "x", range(10))
        raise RuntimeError("the source broke half-way")

    with pytest.raises(RuntimeError, match="broke half-way"):
        pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", broken())
    assert primary_key() == [("users_pkey",)]
    chunks = [users(3, "old", range(0, 60)), users(9, "new", range(40, 100)), users(5, "mid", range(50, 70))]
    assert pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", chunks) == {
        (DAY0 + dt.timedelta(days=d)).isoformat(): n for d, n in ((3, 60), (9, 60), (5, 20))
    }
    assert primary_key() == [("users_pkey",)]
    with conn.cursor() as cur:
        cur.execute(f'SELECT reviewer_id, reviewer_name, seen_date FROM "{schema}".users')
        stored = {reviewer: (name, day) for reviewer, name, day in cur.fetchall()}
    conn.rollback()
    assert len(stored) == 100
    assert stored["R10"] == ("old10", DAY0 + dt.timedelta(days=3))
    assert stored["R55"] == ("new55", DAY0 + dt.timedelta(days=9))  # day 9 beats days 3 and 5
    # The table is no longer empty: the next upsert merges, an older day changes nothing.
    pg_writes.upsert(conn, schema, "users", ["reviewer_id"], "seen_date", [users(1, "older", range(100))])
    with conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{schema}".users WHERE reviewer_name LIKE %s', ("older%",))
        assert cur.fetchone() == (0,)
    conn.rollback()
