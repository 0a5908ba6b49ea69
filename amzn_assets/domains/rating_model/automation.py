"""rating_predictions follows the data by declarative automation: its AutomationCondition, evaluated by
rating_predictions_automation (an AutomationConditionSensorDefinition in sensor.py).

A day's predictions are requested once its reviews_fact day and a serving model month exist (the
latest month whose rating_model_beats_baselines passed; a month that failed it never serves), and
again when either changes: the day is written again, or another month starts serving (a newer month
passes, or the serving month is trained and passes again). The decision over storage ids is plain
Python (amzn_assets/ml/serving.py); PredictionsOutOfDate reads them from the instance.

Why a custom condition: the built-in ones map rating_predictions' dependency on rating_model through
its LastPartitionMapping, i.e. the latest month *by the clock*, which a replayed history (reviews of
2018 streamed today) never materializes; and no built-in condition knows which month serves. A custom
condition is evaluated in the code location (use_user_code_server=True), not in the daemon.
"""

from __future__ import annotations

from dagster import AssetCheckKey, AssetKey, AutomationCondition, AutomationContext, AutomationResult, DagsterEventType

from amzn_assets.ml.serving import days_to_predict, serving_month

REVIEWS_FACT = AssetKey("reviews_fact")
GATE = AssetCheckKey(AssetKey("rating_model_evaluation"), "rating_model_beats_baselines")
SUCCEEDED = "SUCCEEDED"


class PredictionsOutOfDate(AutomationCondition):
    """True for the days whose predictions are missing or older than their reviews_fact day or the
    serving model month (amzn_assets.ml.serving.days_to_predict)."""

    @property
    def description(self) -> str:
        return "reviews_fact day and a serving rating_model month exist; predictions missing or older than either"

    @property
    def name(self) -> str:
        return "predictions_out_of_date"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        storage = context.asset_graph_view.instance.event_log_storage
        gate = [
            (info.partition_key, info.latest_execution_status.value == SUCCEEDED, info.latest_check_event_storage_id)
            for info in storage.get_asset_check_partition_info([GATE])
            if info.partition_key
        ]
        serving = serving_month(gate)
        days: set[str] = set()
        if serving is not None:
            materialized = DagsterEventType.ASSET_MATERIALIZATION
            facts = storage.get_latest_storage_id_by_partition(REVIEWS_FACT, materialized)
            made = storage.get_latest_storage_id_by_partition(context.key, materialized)
            days = days_to_predict(facts, made, serving[1])
        return AutomationResult(context, context.candidate_subset.compute_intersection_with_partition_keys(days))


def predictions_condition() -> AutomationCondition:
    """Requested when the days turn out of date (or their reviews_fact day is written again), once per
    change: a run that fails leaves them out of date without requesting them again until the next
    change; never while the day or its predictions are being written."""
    out_of_date = PredictionsOutOfDate()
    return (
        (out_of_date.newly_true() | AutomationCondition.any_deps_updated()).since_last_handled()
        & out_of_date
        & ~AutomationCondition.in_progress()
        & ~AutomationCondition.any_deps_in_progress()
    ).with_label("predictions_follow_the_data")
