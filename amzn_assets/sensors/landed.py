"""The landed-partitions sensor: for batches committed since its cursor, request runs that
materialize exactly the days those batches fed."""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from amzn_assets.landing.kinds import CLIMATE, PRODUCTS, REVIEWS, STATIONS
from amzn_assets.landing.readers import LandedReader
from amzn_assets.resources import LandingZone
from amzn_assets.sensors.planning import SERIAL_TAG, plan_runs, sensor_interval_seconds
from amzn_assets.settings import sensors_default_running

BATCHES_PER_TICK = 500


def days_fed(reader: LandedReader, batches: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Days to (re)materialize per group, from the ledger and, for metadata, the landed rows."""
    by_kind: dict[str, list[str]] = {}
    for batch_id, kind in batches:
        by_kind.setdefault(kind, []).append(batch_id)
    days: dict[str, set[str]] = {}
    if "reviews" in by_kind:
        days["reviews"] = reader.ledger.partitions_of_batches(by_kind["reviews"])
    if "climate" in by_kind:
        days["climate"] = reader.ledger.partitions_of_batches(by_kind["climate"])
    if "products" in by_kind:  # new metadata: the days those products were reviewed
        asins = {a for b in by_kind["products"] for a in reader.batch_values(PRODUCTS, b, "asin")}
        days["products"] = reader.days_with(REVIEWS, "asin", sorted(asins)) if asins else set()
    if "stations" in by_kind:  # a new station list: the days those stations reported
        ids = {s for b in by_kind["stations"] for s in reader.batch_values(STATIONS, b, "station_id")}
        days["stations"] = reader.days_with(CLIMATE, "station_id", sorted(ids)) if ids else set()
    # A review (climate) run materializes products (stations) too, after this metadata landed.
    days["products"] = days.get("products", set()) - days.get("reviews", set())
    days["stations"] = days.get("stations", set()) - days.get("climate", set())
    return days


@sensor(
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING if sensors_default_running() else DefaultSensorStatus.STOPPED,
    asset_selection=["landed_reviews", "users", "products", "datetime", "reviews_fact", "landed_climate", "stations", "climate"],
    description="Materializes the days fed by newly landed batches (cursor: the last batch handled).",
)
def landed_partitions_sensor(context: SensorEvaluationContext, landing: LandingZone):
    reader = landing.reader()
    batches = reader.ledger.committed_after(context.cursor, limit=BATCHES_PER_TICK)
    if not batches:
        return SkipReason("no newly landed batches")
    first, last = batches[0][0], batches[-1][0]
    requests = [
        RunRequest(
            # The same batches always plan the same runs: a repeated tick requests nothing new.
            run_key=f"{run.group}:{first}..{last}:{run.start}..{run.end}",
            asset_selection=[AssetKey(a) for a in run.assets],
            tags={
                **SERIAL_TAG,
                "dagster/asset_partition_range_start": run.start,
                "dagster/asset_partition_range_end": run.end,
                "amzn/batches": f"{first}..{last}",
            },
        )
        for run in plan_runs(days_fed(reader, batches))
    ]
    return SensorResult(run_requests=requests, cursor=last)
