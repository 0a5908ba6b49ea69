"""stream_job: one run lands what waits in the upload area and materializes exactly the days that the
newly landed batches fed (amzn_assets.stream.apply).

One run serves any spread of days: a tick that lands reviews of hundreds of scattered historical
days starts one run (in one process, no process per step), not a run per range of consecutive
days, and Dagster still records a materialization per asset and day, so the UI shows per-day
partition status. Runs carry amzn/serial (dagster.yaml: one at a time, oldest first).
"""

import time
from datetime import datetime, timezone

from dagster import AssetKey, AssetMaterialization, OpExecutionContext, in_process_executor, job, op

from amzn_assets.checks.stations import landed_station_findings
from amzn_assets.domains.climate.checks import station_check_evaluation
from amzn_assets.domains.reviews.checks import freshness_evaluation
from amzn_assets.storage.metadata import partition_metadata
from amzn_assets.stream.apply import STREAM_WATERMARK, apply_days, reference_tables_fed, take_batches, write_reference_tables
from amzn_assets.stream.liveness import worker_id
from amzn_assets.stream.read_through import NewestBatches, days_already_written, reference_tables_already_written
from amzn_assets.wiring.checks import evaluation_event
from amzn_assets.wiring.events import log_batch
from amzn_assets.wiring.instance import SERIAL_TAG, latest_materializations
from amzn_assets.wiring.policies import TRANSIENT_RETRY, WAREHOUSE_POOL
from amzn_assets.wiring.reporting import landing_metadata, summary_metadata
from amzn_assets.wiring.resources import LandingZone

STAGING_TABLES = {"landed_reviews", "landed_climate"}  # on staging_io_manager, like their assets
WORKER_TAG = "amzn/worker"


@op(
    out={},
    required_resource_keys={"landing", "io_manager", "staging_io_manager"},
    # It writes the warehouse (the pool caps writers); a database restart or an S3 5xx costs a retry.
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
    description="Land every complete file in the upload area, then materialize the days fed by batches not yet applied.",
)
def land_and_materialize(context: OpExecutionContext):
    # Who runs this: the sensor fails the run if this process dies (a killed daemon or machine).
    context.instance.add_run_tags(context.run_id, {WORKER_TAG: worker_id()})
    landing: LandingZone = context.resources.landing
    lander = landing.lander()
    report = lander.land_pending()
    context.log.info(f"landed: {landing_metadata(report)}")
    reader = landing.reader()

    def store_for(table: str):
        return context.resources.staging_io_manager if table in STAGING_TABLES else context.resources.io_manager

    with lander.ledger.exclusive("apply"):  # one applier at a time (stream runs, import --materialize)
        read_at = datetime.now(timezone.utc)  # the batches applied committed before this
        batches, days = take_batches(lander.ledger, reader)
        if not batches:
            context.log.info("no landed batch waits to be materialized")
            return
        newest = NewestBatches(batches, lambda batch_id: lander.ledger.partitions_of_batches([batch_id]))
        written = days_already_written(days, newest, lambda t, d: {day: r.run_id for day, r in latest_materializations(context.instance, t, d).items()}, lambda r: run_tags(context.instance, r))
        if any(written.values()):
            context.log.info("already written by asset runs that read these batches: " + ", ".join(f"{g} {len(d)} days" for g, d in written.items() if d))
            days = {group: group_days - written.get(group, set()) for group, group_days in days.items()}
        started = time.perf_counter()
        failed = []
        applied = {"amzn/batches": f"{batches[0][0]}..{batches[-1][0]}"}
        references = reference_tables_fed(batches)
        current = reference_tables_already_written(references, newest, lambda t: latest_run(context.instance, t), lambda r: run_tags(context.instance, r))
        for table, rows in write_reference_tables(reader, store_for, [t for t in references if t not in current]):
            context.log_event(AssetMaterialization(AssetKey(table), metadata={"dagster/row_count": rows} | applied))
            context.log.info(f"{table}: replaced whole, {rows} rows")
        for written in apply_days(reader, store_for, days):
            # One batch per table written: its materialization of each day, then the asset checks of
            # those days as evaluations of the assets' own checks. A failure does not fail the run
            # (writing the same days again would not mend them): it is recorded, and the rating
            # model refuses a month with a failed blocking check on a day.
            log_batch(context, [
                AssetMaterialization(AssetKey(written.table), partition=day, metadata=metadata | applied)
                for day, metadata in sorted(partition_metadata(written.rows_by_day, written.summary).items())
            ] + [evaluation_event(evaluation) for evaluation in written.checks])
            failed += [e for e in written.checks if not e.outcome.passed]
            context.log.info(f"{written.table}: {len(written.rows_by_day)} days, {sum(written.rows_by_day.values())} rows, {summary_metadata(written.summary)}")
        if days.get("climate") or days.get("stations"):  # stations written: unknown and renamed stations counted
            context.log_event(station_check_evaluation(landed_station_findings(reader)))
        lander.ledger.set_applied_through(STREAM_WATERMARK, batches[-1][0])
        context.log_event(evaluation_event(freshness_evaluation(lander.ledger, context.instance, sorted(days.get("reviews", ())), read_at)))
    if failed:
        context.log.warning(f"{len(failed)} check evaluations failed: " + "; ".join(f"{e.check.table}.{e.check.name} {e.outcome.description}" for e in failed[:5]))
    context.log.info(
        f"applied {len(batches)} batches ({batches[0][0]}..{batches[-1][0]}): "
        + ", ".join(f"{group} {len(d)} days" for group, d in days.items() if d)
        + f" in {time.perf_counter() - started:.1f}s"
    )


def run_tags(instance, run_id: str) -> dict[str, str]:
    run = instance.get_run_by_id(run_id)
    return dict(run.tags) if run else {}


def latest_run(instance, table: str) -> str | None:
    """The run of an unpartitioned table's latest materialization (None: never materialized)."""
    records = instance.fetch_materializations(AssetKey(table), limit=1).records
    return records[0].run_id if records else None


@job(executor_def=in_process_executor, tags=SERIAL_TAG, description="Land the upload area and materialize the days it fed (requested by stream_sensor).")
def stream_job():
    land_and_materialize()


