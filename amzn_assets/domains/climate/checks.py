"""The climate domain's checks: the warehouse rules on `climate` (amzn_assets.checks.warehouse,
declared on the asset), and the station check: after `stations` is written, count the climate
data's stations that the station list lacks and the stations renamed between climate files
(amzn_assets.checks.stations). One station evaluation per run over everything landed; it warns,
never blocks."""

from __future__ import annotations

from dagster import AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, asset_check

from amzn_assets.checks.stations import StationFindings, landed_station_findings
from amzn_assets.wiring.checks import check_specs


def climate_check_specs() -> list[AssetCheckSpec]:
    return check_specs("climate")


CHECK_NAME = "stations_known_and_named_once"
DESCRIPTION = (
    "Every station in the landed climate data is in the station list, and no station's name changed "
    "between climate files. Warns, never blocks."
)


def _result_fields(findings: StationFindings) -> dict:
    return dict(
        passed=findings.passed, severity=AssetCheckSeverity.WARN, description=findings.description(), metadata=findings.metadata()
    )


@asset_check(asset="stations", name=CHECK_NAME, description=DESCRIPTION, required_resource_keys={"landing"}, blocking=False)
def stations_known_and_named_once(context) -> AssetCheckResult:
    return AssetCheckResult(**_result_fields(landed_station_findings(context.resources.landing.reader())))


def station_check_evaluation(findings: StationFindings) -> AssetCheckEvaluation:
    """The same evaluation as an event, for the stream job (which writes stations without the asset)."""
    return AssetCheckEvaluation(asset_key=AssetKey("stations"), check_name=CHECK_NAME, **_result_fields(findings))
