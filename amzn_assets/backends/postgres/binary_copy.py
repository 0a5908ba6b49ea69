"""Arrow tables into PostgreSQL with binary COPY, streamed (no Dagster import).

pgpq encodes Arrow record batches into PostgreSQL's binary COPY format in Rust, so the server
neither parses text nor converts timestamps, and no CSV is built. A COPY streams its batches as
they are encoded (the server parses one while the next is encoded); prefetched() produces the next
chunk (read, transformed, sorted) in a background thread while the server takes the current one,
so client and server work side by side on two cores.

Arrow types must match the column types byte for byte (the DDL's type map: int8/int16 -> smallint,
int32 -> integer, int64 -> bigint, date32 -> date, timestamp[s, UTC] -> timestamptz, string ->
text); pgpq widens int8 to int2.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder
from psycopg2 import sql

BATCH_ROWS = 50_000  # rows encoded at a time: a few MB of COPY data in memory
READ_SIZE = 1 << 20  # bytes psycopg2 asks the stream for per PQputCopyData


class BinaryCopyStream:
    """A file-like object whose read() yields the binary COPY data of `tables` (all in `schema`),
    encoded lazily; `on_table` sees each table as it is encoded."""

    def __init__(self, schema: pa.Schema, tables: Iterable[pa.Table], on_table: Callable[[pa.Table], None]):
        self._schema = schema
        self._encoder = ArrowToPostgresBinaryEncoder(schema)
        self._parts = self._encode(tables, on_table)
        self._pending = memoryview(b"")
        self.rows = 0

    def _encode(self, tables: Iterable[pa.Table], on_table) -> Iterator[bytes]:
        yield self._encoder.write_header()
        for table in tables:
            table = table.select(self._schema.names).cast(self._schema)
            on_table(table)
            self.rows += table.num_rows
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                yield self._encoder.write_batch(batch)
        yield self._encoder.finish()

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            part = next(self._parts, None)
            if part is None:
                return b""
            self._pending = memoryview(part)
        if size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, memoryview(b"")
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return out.tobytes()


def copy_tables(
    cur,
    target: sql.Composable,
    tables: Iterable[pa.Table],
    prepare: Callable[[pa.Table], pa.Table] = lambda t: t,
    on_table: Callable[[pa.Table], None] = lambda t: None,
) -> int:
    """One binary COPY of the rows of every table into target, in the first table's columns (by
    name); `prepare` runs on each non-empty table first (sorting, say). Returns the rows copied."""
    prepared = (prepare(t) for t in tables if t.num_rows)
    first = next(prepared, None)
    if first is None:
        return 0
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in first.schema.names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(target, columns).as_string(cur)
    stream = BinaryCopyStream(first.schema, itertools.chain([first], prepared), on_table)
    cur.copy_expert(statement, stream, size=READ_SIZE)
    return stream.rows


def prefetched(items: Iterable, depth: int = 1) -> Iterator:
    """The items of `items` (tables), the next one produced by a background thread while the caller works
    on the current one (pyarrow's readers and sorts release the GIL, so a chunk is read and sorted
    while the server ingests the one before). An error in the producer is raised here; leaving the
    loop early stops the producer."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as error:  # handed to the consumer
            slots.put((done, error))

    producer = threading.Thread(target=produce, name="chunk-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                pass
            producer.join(timeout=0.1)
