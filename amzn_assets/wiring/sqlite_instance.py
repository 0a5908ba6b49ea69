"""The embedded Dagster instance's storage: Dagster's SQLite storage, with its event log made cheap
enough for thousands of daily partitions.

Dagster's SqliteEventLogStorage creates a SQLAlchemy engine for every statement (so nothing it
compiles is ever reused), probes the schema on every asset event and stores events one by one
(~10 ms per materialization or check evaluation here; a run over 4,770 days paid 558 s for 43k of
them). This subclass keeps one engine per shard (a bounded LRU), caches the schema probes, lets
nested connections to one shard share their transaction, and implements store_event_batch: a batch
of events costs one transaction on the run's shard and one on the index shard.

Batches come from Dagster itself when DAGSTER_EVENT_BATCH_SIZE > 0 (the per-partition
materializations of a range run; the stream job's events through wiring.events). The storage sets
that default (DEFAULT_BATCH_SIZE) in every process that opens the instance, because Dagster reads
it from the environment where events are handled. The on-disk layout is DagsterSqliteStorage's, so
an instance made with `storage: sqlite` opens unchanged (docs/scaling.md).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from sqlalchemy.pool import NullPool

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_BATCH_SIZE = "1000"
ENGINES_KEPT = 8  # shards with an engine kept: the index and the few runs this process writes


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    stores_check_batches = True  # wiring.events batches check evaluations for this storage

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        self._open = threading.local()  # shard -> the connection a caller of this thread holds
        self._probes: dict[str, bool] = {}
        super().__init__(base_dir, inst_data)
        os.environ.setdefault(BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        engine = self._engines.pop(shard, None) or db.create_engine(
            self.conn_string_for_shard(shard), poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > ENGINES_KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        held = getattr(self._open, shard, None)
        if held is not None:  # nested (a batch writing check rows): join the open transaction
            yield held
            return
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            setattr(self._open, shard, conn)
            try:
                yield conn
            finally:
                setattr(self._open, shard, None)

    def _has_asset_key_index_cols_on_connection(self, conn) -> bool:
        if "asset_key_index_cols" not in self._probes:
            self._probes["asset_key_index_cols"] = super()._has_asset_key_index_cols_on_connection(conn)
        return self._probes["asset_key_index_cols"]

    def has_table(self, table_name: str) -> bool:
        if not self._probes.get(f"table:{table_name}"):  # a missing table may be migrated in later
            self._probes[f"table:{table_name}"] = super().has_table(table_name)
        return self._probes[f"table:{table_name}"]

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        self._dispose_engines()
        super().delete_events(run_id)

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store the events as store_event would, in one transaction per shard."""
        events = [e for e in events if not (e.dagster_event and e.dagster_event.is_asset_failed_to_materialize)]
        if not events:
            return
        rows = [self._event_to_row(e) for e in events]  # serialized once, for both shards
        for run_id in dict.fromkeys(e.run_id for e in events):
            with self.run_connection(run_id) as conn:
                conn.execute(SqlEventLogStorageTable.insert(), [r for r in rows if r["run_id"] == run_id])
        mirrored = [(e, r) for e, r in zip(events, rows) if e.is_dagster_event and _mirrored(e)]
        if not mirrored:
            return
        with self.index_transaction() as conn:
            returning = SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True)
            ids = [row[0] for row in conn.execute(returning, [r for _, r in mirrored])]
            mirrored = [e for e, _ in mirrored]
            assets = [(e, i) for e, i in zip(mirrored, ids) if e.dagster_event_type in ASSET_EVENTS and e.dagster_event.asset_key]
            if assets:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
            latest = {}
            for event, event_id in assets:  # the asset table keeps each key's latest event of a kind
                latest[(event.dagster_event.asset_key, event.dagster_event_type)] = (event, event_id)
            for event, event_id in latest.values():
                self._store_asset_event(conn, event, event_id)
            for event, event_id in zip(mirrored, ids):
                if event.dagster_event_type in ASSET_CHECK_EVENTS:
                    self.store_asset_check_event(event, event_id)  # joins this transaction (_connect)


def _mirrored(event: EventLogEntry) -> bool:
    """Whether store_event copies the event into the index shard."""
    kind = event.dagster_event_type
    return (kind in ASSET_EVENTS and event.dagster_event.asset_key) or kind in ASSET_CHECK_EVENTS or kind in EVENT_TYPE_TO_PIPELINE_RUN_STATUS


class BatchingSqliteStorage(DagsterSqliteStorage):
    """`storage: custom` in dagster.yaml: DagsterSqliteStorage's layout under base_dir, with the
    batching event log."""

    def __init__(self, base_dir: str, inst_data=None):
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        os.makedirs(config_value["base_dir"], exist_ok=True)
        return cls(inst_data=inst_data, **config_value)
