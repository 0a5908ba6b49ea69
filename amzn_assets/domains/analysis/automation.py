"""The analysis assets follow new data by declarative automation: a month is requested when any of
its upstream partitions (a reviews_fact, products or climate day of the month, or the upstream
analysis month) is materialized again, by a stream run, an asset run or a backfill, for any month,
not only the latest (the stream replays history); never while it or an upstream is being written.
analysis_automation evaluates it (the built-in conditions need no code server)."""

from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, SensorDefinition

from amzn_assets.settings import Settings
from amzn_assets.wiring import groups
from amzn_assets.wiring.instance import sensor_status


def analysis_condition() -> AutomationCondition:
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("analysis_follows_the_data")


def analysis_sensors(settings: Settings) -> list[SensorDefinition]:
    """analysis_automation: on with AMZN_SENSORS_RUNNING=1 (like stream_sensor), every AMZN_SENSOR_INTERVAL_S."""
    return [
        AutomationConditionSensorDefinition(
            "analysis_automation",
            target=AssetSelection.groups(groups.ANALYSIS),
            minimum_interval_seconds=settings.sensor_interval_s,
            default_status=sensor_status(settings.sensors_running),
            description="Materializes the analysis months whose reviews, products or climate days were written again.",
        )
    ]
