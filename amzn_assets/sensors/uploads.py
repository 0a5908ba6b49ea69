"""The upload sensor: when complete files wait in the upload area, request a run that lands them."""

import json

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    job,
    op,
    sensor,
)

from amzn_assets.assets.reporting import landing_metadata
from amzn_assets.landing.kinds import KINDS
from amzn_assets.resources import LandingZone
from amzn_assets.sensors.planning import listing_digest, sensor_interval_seconds
from amzn_assets.settings import sensors_default_running

FAILED = {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
MAX_ATTEMPTS = 3  # then the sensor waits for new files or a person instead of retrying forever


@op(description="Land every complete file in the upload area into segments and the ledger.")
def land_uploads(context: OpExecutionContext, landing: LandingZone) -> None:
    report = landing.lander().land_pending()
    context.add_output_metadata(
        landing_metadata(report)
        | {"rows": report.rows, "partitions": json.dumps({k: sorted(v) for k, v in report.partitions.items()})}
    )


@job(description="Land the upload area (requested by upload_sensor).")
def land_uploads_job():
    land_uploads()


@sensor(
    job=land_uploads_job,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING if sensors_default_running() else DefaultSensorStatus.STOPPED,
    description="Requests a landing run when complete files wait in the upload area (local or S3).",
)
def upload_sensor(context: SensorEvaluationContext, landing: LandingZone):
    # Landed files leave the upload area, so a listing costs O(files waiting), not O(all files ever).
    lander = landing.lander()
    pending = [path for kind in KINDS for path, _ in lander.discover(kind)]
    if not pending:
        return SkipReason("no files waiting in the upload area")
    digest = listing_digest(pending)
    cursor = json.loads(context.cursor) if context.cursor else {}
    run_key = f"land-{digest}"
    attempt = 0
    if cursor.get("digest") == digest:
        # The same files still wait: leave the requested run alone, or retry it if it failed.
        runs = context.instance.get_runs(RunsFilter(tags={"dagster/run_key": cursor["run_key"]}), limit=1)
        if not runs:  # requested but not created yet (or a repeated tick): the same key is harmless
            run_key = cursor["run_key"]
            attempt = cursor.get("attempt", 0)
        elif runs[0].status not in FAILED | {DagsterRunStatus.SUCCESS}:
            return SkipReason(f"run {runs[0].run_id} is landing these {len(pending)} files")
        else:
            attempt = cursor.get("attempt", 0) + 1
            if attempt > MAX_ATTEMPTS:
                return SkipReason(f"landing these files failed {MAX_ATTEMPTS} times: see run key {cursor['run_key']}")
            run_key = f"land-{digest}-{attempt}"
    return SensorResult(
        run_requests=[RunRequest(run_key=run_key, tags={"amzn/files": str(len(pending))})],
        cursor=json.dumps({"digest": digest, "run_key": run_key, "attempt": attempt}),
    )
