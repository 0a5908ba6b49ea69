"""The checks' state in a few lines (`amzn-assets summary`): per check, the latest evaluation of each
day (passed / failed) and the latest evaluation of all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from amzn_assets.checks.warehouse import CHECKS, Evaluation, WarehouseCheck

FAILED_DAYS_SHOWN = 5


@dataclass
class CheckSummary:
    check: WarehouseCheck
    days_passed: int = 0
    days_failed: int = 0
    failed_days: list[str] = field(default_factory=list)
    latest_passed: bool | None = None  # the latest evaluation's outcome; None: never evaluated
    shown: str = ""  # the description to print: a failed day's when a day failed, else the latest


def summarize(evaluations: Iterable[Evaluation]) -> list[CheckSummary]:
    """Summaries of one evaluation per check and day (the checks run directly over the warehouse)."""
    by_check = {(c.table, c.name): CheckSummary(c) for c in CHECKS}
    for e in evaluations:
        s = by_check[(e.check.table, e.check.name)]
        s.latest_passed = e.outcome.passed
        if e.outcome.passed:
            s.days_passed += 1
        else:
            s.days_failed += 1
            s.failed_days += [e.partition] if e.partition else []
        if not s.days_failed or (s.days_failed == 1 and not e.outcome.passed):  # the first failure, else the latest
            s.shown = e.outcome.description
    return list(by_check.values())


def summary_lines(summaries: Sequence[CheckSummary]) -> list[str]:
    lines = []
    for s in summaries:
        c = s.check
        kind = "blocking" if c.blocking else ("warn" if c.warn else "error")
        if s.latest_passed is None:
            state = "not evaluated"
        elif c.per_day:
            failed = sorted(s.failed_days)
            shown = f" ({', '.join(failed[:FAILED_DAYS_SHOWN])}{' ...' if len(failed) > FAILED_DAYS_SHOWN else ''})" if failed else ""
            state = f"{s.days_passed} days passed, {s.days_failed} failed{shown}"
        else:
            state = "passed" if s.latest_passed else ("WARNING" if c.warn else "FAILED")
        lines.append(f"  {c.table + '.' + c.name:<36}{kind:<10}{state}")
        if s.shown and (s.days_failed or not c.per_day):
            lines.append(f"      {s.shown}")
    return lines


def station_lines(reader) -> list[str]:
    """`amzn-assets summary`'s station lines: climate stations missing from the station list and
    stations renamed between climate files (amzn_assets.checks.stations), over everything landed."""
    from amzn_assets.checks.stations import landed_station_findings  # reads landed segments: imported when asked

    f = landed_station_findings(reader)
    lines = [
        f"  stations in climate data: {f.stations_observed}, not in the station list: {f.unknown_stations} "
        f"({f.unknown_station_days} station-days), renamed between files: {f.renamed_stations}"
    ]
    if not f.passed:
        lines.append(f"      {f.description()}")
    return lines
