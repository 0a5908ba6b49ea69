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
from dagster._serdes import serialize_value
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
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
UPDATED_COLUMNS = ("execution_status", "evaluation_event", "evaluation_event_timestamp", "evaluation_event_storage_id",
                   "materialization_event_storage_id")
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
            mirrored, mirrored_rows = [e for e, _ in mirrored], [r for _, r in mirrored]
            assets = [(e, i) for e, i in zip(mirrored, ids) if e.dagster_event_type in ASSET_EVENTS and e.dagster_event.asset_key]
            if assets:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
            latest = {}
            for event, event_id in assets:  # the asset table keeps each key's latest event of a kind
                latest[(event.dagster_event.asset_key, event.dagster_event_type)] = (event, event_id)
            for event, event_id in latest.values():
                self._store_asset_event(conn, event, event_id)
            checks = [(e, i, r) for e, i, r in zip(mirrored, ids, mirrored_rows) if e.dagster_event_type in ASSET_CHECK_EVENTS]
            evaluations = [(e, i, r) for e, i, r in checks if e.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION and e.run_id]
            if evaluations:
                self._store_check_evaluations(conn, evaluations)
            batched = {id(e) for e, _, _ in evaluations}
            for event, event_id, _ in checks:
                if id(event) not in batched:  # planned events: Dagster's own code, in this transaction (_connect)
                    self.store_asset_check_event(event, event_id)

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """Dagster's rows (one per planned partition), with the event serialized once, not once per
        partition: the event holds the run's partition subset, so a 5,274-day range serialized
        5,274 copies of a 5,274-key event per check (11 s profiled, per backfill)."""
        planned = event.dagster_event.event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        common = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [dict(common, partition=key) for key in keys])

    def _store_check_evaluations(self, conn, evaluations: list[tuple[EventLogEntry, int, dict]]) -> None:
        """store_asset_check_event for a run's evaluations, as two executemany statements: update
        the rows its planned events made (an asset run), insert the others (the stream job plans
        none). The columns and statuses are those Dagster's _update_asset_check_evaluation writes."""
        table = AssetCheckExecutionsTable
        planned = set()
        for run_id in {e.run_id for e, _, _ in evaluations}:
            query = db.select(table.c.asset_key, table.c.check_name, table.c.partition).where(table.c.run_id == run_id)
            planned |= {(run_id, *row) for row in conn.execute(query)}
        updates, inserts = [], []
        for event, event_id, row in evaluations:
            evaluation = event.dagster_event.event_specific_data
            values = {
                "asset_key": evaluation.asset_key.to_string(),
                "check_name": evaluation.check_name,
                "partition": evaluation.partition,
                "run_id": event.run_id,
                "execution_status": (AssetCheckExecutionRecordStatus.SUCCEEDED if evaluation.passed else AssetCheckExecutionRecordStatus.FAILED).value,
                "evaluation_event": row["event"],
                "evaluation_event_timestamp": row["timestamp"],
                "evaluation_event_storage_id": event_id,
                "materialization_event_storage_id": evaluation.target_materialization_data.storage_id if evaluation.target_materialization_data else None,
            }
            key = (event.run_id, values["asset_key"], values["check_name"], values["partition"])
            (updates if key in planned else inserts).append(values)
        if inserts:
            conn.execute(table.insert(), inserts)
        for partitioned in (True, False):  # "partition = NULL" matches nothing: a statement for each
            rows = [dict(v, **{f"b_{k}": v[k] for k in ("asset_key", "check_name", "run_id", "partition")}) for v in updates if (v["partition"] is not None) == partitioned]
            if rows:
                match = table.c.partition == db.bindparam("b_partition") if partitioned else table.c.partition.is_(None)
                statement = table.update().where(
                    table.c.asset_key == db.bindparam("b_asset_key"), table.c.check_name == db.bindparam("b_check_name"),
                    table.c.run_id == db.bindparam("b_run_id"), match,
                )
                conn.execute(statement.values({c: db.bindparam(c) for c in UPDATED_COLUMNS}), rows)


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
