"""stream_sensor requests a stream_job run when files wait in the upload area or landed batches wait
to be applied, and fails a started run whose worker process is gone."""

import time

from dagster import DagsterEventType, DagsterRunStatus, RunRequest, RunsFilter, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from amzn_assets.domains.stream.job import WORKER_TAG, stream_job
from amzn_assets.landing.kinds import KINDS
from amzn_assets.settings import Settings
from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets.stream.liveness import started_before, worker_is_gone
from amzn_assets.wiring.instance import listing_digest, sensor_status
from amzn_assets.wiring.resources import LandingZone

NOT_BEGUN = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING]
IN_PROGRESS = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
UNTAGGED_GRACE_S = 60


def run_worker_is_gone(instance, run) -> bool:
    """Whether a STARTED stream run's worker died: its tagged worker, or, for a run killed before it
    tagged itself, the process that logged RUN_START (once it had time to tag: a live run does so
    within seconds)."""
    if run.tags.get(WORKER_TAG):
        return worker_is_gone(run.tags[WORKER_TAG])
    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
    if not starts or not starts[0].pid or time.time() - starts[0].timestamp < UNTAGGED_GRACE_S:
        return False
    return not started_before(starts[0].pid, starts[0].timestamp)


def stream_sensor(settings: Settings) -> SensorDefinition:
    """Ticks every AMZN_SENSOR_INTERVAL_S; on by default with AMZN_SENSORS_RUNNING=1."""
    return sensor(
        name="stream_sensor",
        job=stream_job,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=sensor_status(settings.sensors_running),
        description="Requests a stream_job run when files wait in the upload area (local or S3) or landed batches wait to be materialized.",
    )(stream_tick)


def stream_tick(context: SensorEvaluationContext, landing: LandingZone):
    # Landed files leave the upload area, so a listing costs O(files waiting), not O(all files ever).
    lander = landing.lander()
    for run in context.instance.get_runs(RunsFilter(job_name=stream_job.name, statuses=IN_PROGRESS), limit=10):
        if run_worker_is_gone(context.instance, run):
            # Its process was killed: nothing else will end the run, and its amzn/serial slot would
            # block every later stream run. A failed run is retried (dagster.yaml run_retries).
            context.instance.report_run_failed(run, f"stream_job worker {run.tags.get(WORKER_TAG, 'of RUN_START')} is gone (killed?)")
    pending = [c.ledger_path for kind in KINDS for c in lander.discover(kind)]
    applied = lander.ledger.applied_through(STREAM_WATERMARK)
    unapplied = lander.ledger.committed_after(applied, limit=1)
    if not pending and not unapplied:
        return SkipReason("nothing waits in the upload area or the ledger")
    # A run that has not begun yet lands and applies everything present when it begins.
    waiting = context.instance.get_runs(RunsFilter(job_name=stream_job.name, statuses=NOT_BEGUN), limit=1)
    if waiting:
        return SkipReason(f"run {waiting[0].run_id} has not begun: it will take these")
    # The same state always gives the same key: a repeated tick starts nothing twice.
    return RunRequest(
        run_key=f"stream-{listing_digest(pending)}-{applied or 'none'}-{unapplied[0][0] if unapplied else 'none'}",
        tags={"amzn/files_waiting": str(len(pending))},
    )
