"""The ledger tables, in SQLAlchemy Core (portable to SQLite and PostgreSQL).

sql/postgres/schema.sql and sql/redshift/schema.sql declare the same tables for the warehouse
dialects; a test checks that the columns agree.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData()

# Batch status: open -> committed. An open batch found at start-up crashed mid-way: recovery
# deletes its segments and rows, so its files are landed again.
landing_batches = Table(
    "landing_batches",
    metadata,
    Column("batch_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("file_count", Integer, nullable=False, default=0),
    Column("row_count", BigInteger, nullable=False, default=0),
    Column("rejected_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("committed_at", DateTime(timezone=True)),
)

# File rows are written when their batch commits, with a final status: landed | quarantined |
# duplicate. archived_path is where the source file is moved right after the commit.
landing_files = Table(
    "landing_files",
    metadata,
    Column("file_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("category", Text),
    Column("batch_id", Text, ForeignKey("landing_batches.batch_id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("partitions", Text),  # JSON list of the partition keys (dates) the file fed
    Column("error", Text),
    Column("archived_path", Text),
    Column("landed_at", DateTime(timezone=True)),
)
Index(
    "landing_files_one_live_copy",
    landing_files.c.kind,
    landing_files.c.sha256,
    unique=True,
    sqlite_where=landing_files.c.status == "landed",
    postgresql_where=landing_files.c.status == "landed",
)
# A plain index for the duplicate lookup: SQLite cannot use the partial index above when the
# status arrives as a bound parameter.
Index("landing_files_sha256", landing_files.c.sha256)
Index("landing_files_status", landing_files.c.status)
Index("landing_files_path", landing_files.c.path)
Index("landing_files_batch", landing_files.c.batch_id)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", Text),
    Column("kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("line", Integer),
    Column("reason", Text, nullable=False),
    Column("record", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("quarantine_batch", quarantine.c.batch_id)

# How far each consumer of the ledger has applied committed batches: the stream job materializes
# the days fed by batches after its watermark, then moves it (batches commit in batch-id order).
landing_applied = Table(
    "landing_applied",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("batch_id", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# Compactions of landed segments (landing/compaction.py): a compaction rewrites the span segments
# of many committed batches (and earlier compactions) into pieces named by its id. Status: open
# (pieces being written; recovery deletes them) -> live (its pieces are read in place of the
# segments of the batches it holds) -> superseded (merged into a later compaction; its pieces and
# row are deleted after that one commits).
landing_compactions = Table(
    "landing_compactions",
    metadata,
    Column("compaction_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("batch_count", Integer, nullable=False, default=0),
    Column("row_count", BigInteger, nullable=False, default=0),
    Column("piece_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("committed_at", DateTime(timezone=True)),
)
Index("landing_compactions_kind_status", landing_compactions.c.kind, landing_compactions.c.status)

# Which live compaction holds a committed batch's rows now (a batch has no row here while its own
# segments are read). Written only by a compaction's commit, in the transaction that makes it live.
landing_compacted = Table(
    "landing_compacted",
    metadata,
    Column("batch_id", Text, primary_key=True),
    Column("compaction_id", Text, nullable=False),
)
Index("landing_compacted_compaction", landing_compacted.c.compaction_id)
