"""rating_model_sensor: trains the latest closed month's rating model as reviews_fact days arrive.

It follows reviews_fact materializations in the event log (cursor: the last storage id seen and the
latest day materialized) and applies planning.model_month_to_train: a month trains when the reviews
move past it, and again when its own days are re-materialized. A month whose window has a day with a
failed blocking reviews_fact check is refused (skipped with the days and checks named) and asked
again on the next reviews_fact writes.
"""

import json

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    AssetRecordsFilter,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    SensorDefinition,
    sensor,
)

from amzn_assets.domains.rating_model.checks import refusal_for_failed_checks
from amzn_assets.domains.rating_model.jobs import rating_model_job
from amzn_assets.domains.rating_model.partitions import monthly_partitions, window_days
from amzn_assets.ml.planning import model_month_to_train
from amzn_assets.settings import Settings
from amzn_assets.wiring.instance import sensor_status

REVIEWS_FACT = AssetKey("reviews_fact")
EVENTS_PER_TICK = 10_000


def month_to_train(context: SensorEvaluationContext, window_months: int):
    """rating_model_sensor's tick: the month to train now, if any."""
    state = json.loads(context.cursor) if context.cursor else {"storage_id": None, "frontier": None}
    result = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=REVIEWS_FACT, after_storage_id=state["storage_id"]),
        limit=EVENTS_PER_TICK,
        ascending=True,
    )
    if not result.records:
        return SkipReason("no new reviews_fact materializations")
    last_id = result.records[-1].storage_id
    days = {r.partition_key for r in result.records if r.partition_key}
    month, frontier = model_month_to_train(state["frontier"], days)
    # A month refused for a failed check is asked again on the next reviews_fact writes (mended days).
    month = month or state.get("refused")
    cursor = json.dumps({"storage_id": last_id, "frontier": frontier or None})
    if month is None or not monthly_partitions.has_partition_key(month):
        return SensorResult(skip_reason=f"reviews_fact up to {frontier}: no month to train", cursor=cursor)
    # A month with no reviews_fact day of its own has nothing new to learn (e.g. the month before a
    # stream's first day); its run would fail on an empty window.
    if not any(day.startswith(month) for day in context.instance.get_materialized_partitions(REVIEWS_FACT)):
        return SensorResult(skip_reason=f"month {month} has no reviews_fact day materialized", cursor=cursor)
    # Never train on a day whose latest blocking reviews_fact check failed (the asset refuses it too).
    refusal = refusal_for_failed_checks(context.instance, month, window_days(month, window_months))
    if refusal:
        refused_cursor = json.dumps({"storage_id": last_id, "frontier": frontier or None, "refused": month})
        return SensorResult(skip_reason=refusal, cursor=refused_cursor)
    return SensorResult(
        run_requests=[RunRequest(run_key=f"{month}:{last_id}", partition_key=month)],
        cursor=cursor,
    )


def model_sensors(settings: Settings) -> list[SensorDefinition]:
    """rating_model_sensor and rating_predictions_automation: off unless AMZN_MODEL_SENSOR_RUNNING=1
    (training takes CPU minutes and the `ml` extra), ticking every AMZN_SENSOR_INTERVAL_S."""
    status = sensor_status(settings.model_sensor_running)

    @sensor(
        job=rating_model_job,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=status,
        description=(
            "Trains and evaluates the latest closed month (the month before the latest reviews_fact day) when the "
            "reviews move past it, and again when its days are re-materialized. Older months: backfill."
        ),
    )
    def rating_model_sensor(context: SensorEvaluationContext):
        return month_to_train(context, settings.model_window_months)

    # rating_predictions follows the data (automation.py): a day's predictions are made once its
    # reviews_fact day and a serving model month exist, and again when either changes. Evaluated in the code
    # location (its condition reads the instance); emitted as backfills, so a new serving month re-scores
    # every day in runs of ranges (the asset's backfill policy), not a run per day.
    rating_predictions_automation = AutomationConditionSensorDefinition(
        "rating_predictions_automation",
        target=AssetSelection.assets("rating_predictions"),
        use_user_code_server=True,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=status,
        description="Makes rating_predictions for each reviews_fact day once a serving model month exists, and again when either changes.",
    )
    return [rating_model_sensor, rating_predictions_automation]
