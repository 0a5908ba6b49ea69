"""stream_sensor requests a stream_job run when files wait in the upload area or landed batches wait
to be applied. It also ends what a killed daemon leaves behind: it fails a started run whose worker
process is gone, and cancels a run it created but never submitted. After a failed run it requests
a new one (the run key moves past the failure) after a wait that doubles with each failure in a row."""

import time

from dagster import DagsterEventType, DagsterRunStatus, RunRequest, RunsFilter, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from amzn_assets.domains.stream.job import WORKER_TAG, stream_job
from amzn_assets.landing.kinds import KINDS
from amzn_assets.settings import Settings
from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets.stream.liveness import started_before, worker_is_gone
from amzn_assets.wiring.instance import listing_digest, sensor_status
from amzn_assets.wiring.resources import LandingZone

NOT_BEGUN = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING]
IN_PROGRESS = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
UNSUCCESSFUL = [DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
UNTAGGED_GRACE_S = 60
# A tick creates its run (NOT_STARTED) and submits it within milliseconds: a NOT_STARTED run older
# than this was created by a daemon killed in between, and nothing else would ever start or end it.
UNSUBMITTED_GRACE_S = 60
# A failed stream run is retried once at once (dagster.yaml run_retries). After that, while the
# failures go on (a database down), the sensor waits RETRY_AFTER_S, doubling with each failed run in
# a row up to MAX_RETRY_WAIT_S, before the next run: the stream heals by itself, at a bounded cost.
RETRY_AFTER_S = 30
MAX_RETRY_WAIT_S = 3600


def run_worker_is_gone(instance, run) -> bool:
    """Whether a STARTED stream run's worker died: its tagged worker, or, for a run killed before it
    tagged itself, the process that logged RUN_START (once it had time to tag: a live run does so
    within seconds)."""
    if run.tags.get(WORKER_TAG):
        return worker_is_gone(run.tags[WORKER_TAG])
    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
    pid = starts[0].dagster_event.pid if starts and starts[0].dagster_event else None
    if not pid or time.time() - starts[0].timestamp < UNTAGGED_GRACE_S:
        return False
    return not started_before(pid, starts[0].timestamp)


def stream_sensor(settings: Settings) -> SensorDefinition:
    """Ticks every AMZN_SENSOR_INTERVAL_S; on by default with AMZN_SENSORS_RUNNING=1."""
    return sensor(
        name="stream_sensor",
        job=stream_job,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=sensor_status(settings.sensors_running),
        description="Requests a stream_job run when files wait in the upload area (local or S3) or landed batches wait to be materialized.",
    )(stream_tick)


def end_abandoned_runs(instance) -> None:
    """Fail the started stream runs whose worker is gone and cancel the unsubmitted ones: nothing
    else would end them, and a started one holds the amzn/serial slot every later run waits for."""
    for run in instance.get_runs(RunsFilter(job_name=stream_job.name, statuses=IN_PROGRESS), limit=10):
        if run_worker_is_gone(instance, run):  # a failed run is retried (dagster.yaml run_retries)
            instance.report_run_failed(run, f"stream_job worker {run.tags.get(WORKER_TAG, 'of RUN_START')} is gone (killed?)")
    unsubmitted = RunsFilter(job_name=stream_job.name, statuses=[DagsterRunStatus.NOT_STARTED], tags={"dagster/sensor_name": "stream_sensor"})
    for record in instance.get_run_records(unsubmitted, limit=10):
        if time.time() - record.create_timestamp.timestamp() > UNSUBMITTED_GRACE_S:
            instance.report_run_canceled(record.dagster_run, "created by a stream_sensor tick that stopped before submitting it (daemon killed?)")


def retry_wait_s(instance) -> float:
    """Seconds left to wait before the next run, after failed ones (0: none to wait)."""
    ended = RunsFilter(job_name=stream_job.name, statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE])
    records = instance.get_run_records(ended, limit=8)
    in_a_row = next((n for n, r in enumerate(records) if r.dagster_run.status == DagsterRunStatus.SUCCESS), len(records))
    if not in_a_row:
        return 0.0
    wait = min(RETRY_AFTER_S * 2 ** (in_a_row - 1), MAX_RETRY_WAIT_S)
    return max(0.0, wait - (time.time() - (records[0].end_time or 0)))


def stream_tick(context: SensorEvaluationContext, landing: LandingZone):
    # Landed files leave the upload area, so a listing costs O(files waiting), not O(all files ever).
    lander = landing.lander()
    end_abandoned_runs(context.instance)
    pending = [c.ledger_path for kind in KINDS for c in lander.discover(kind)]
    applied = lander.ledger.applied_through(STREAM_WATERMARK)
    unapplied = lander.ledger.committed_after(applied, limit=1)
    if not pending and not unapplied:
        return SkipReason("nothing waits in the upload area or the ledger")
    # A run that has not begun yet lands and applies everything present when it begins.
    waiting = context.instance.get_runs(RunsFilter(job_name=stream_job.name, statuses=NOT_BEGUN), limit=1)
    if waiting:
        return SkipReason(f"run {waiting[0].run_id} has not begun: it will take these")
    wait = retry_wait_s(context.instance)
    if wait:
        return SkipReason(f"the last stream run failed: the next one starts in {wait:.0f} s")
    failed = context.instance.get_runs(RunsFilter(job_name=stream_job.name, statuses=UNSUCCESSFUL), limit=1)
    # The same state always gives the same key: a repeated tick starts nothing twice. The newest
    # failed run is part of the state: Dagster never starts a key again once a run of it began, so
    # a key that stayed put after a failure would stall the stream until new files came.
    return RunRequest(
        run_key=f"stream-{listing_digest(pending)}-{applied or 'none'}-{unapplied[0][0] if unapplied else 'none'}-{failed[0].run_id if failed else 'none'}",
        tags={"amzn/files_waiting": str(len(pending))},
    )
