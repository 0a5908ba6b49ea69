"""Plain-Python planning for the sensors: which assets and day ranges follow from landed batches."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

REVIEW_ASSETS = ("landed_reviews", "users", "products", "datetime", "reviews_fact")
CLIMATE_ASSETS = ("landed_climate", "stations", "climate", "datetime")
# Runs of the warehouse assets share this tag; dagster.yaml lets one such run at a time, oldest
# first, so a later run (which sees more landed data) always writes last.
SERIAL_TAG = {"amzn/serial": "warehouse"}


@dataclass(frozen=True)
class PlannedRun:
    group: str  # "reviews", "climate", "products", "stations"
    assets: tuple[str, ...]
    start: str
    end: str


def contiguous_ranges(days: Iterable[str]) -> list[tuple[str, str]]:
    """Sorted runs of consecutive days, e.g. [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ordered = sorted({date.fromisoformat(d) for d in days})
    ranges: list[tuple[str, str]] = []
    for day in ordered:
        if ranges and date.fromisoformat(ranges[-1][1]) + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day.isoformat())
        else:
            ranges.append((day.isoformat(), day.isoformat()))
    return ranges


def plan_runs(days_by_group: dict[str, set[str]]) -> list[PlannedRun]:
    assets_of = {
        "reviews": REVIEW_ASSETS,
        "climate": CLIMATE_ASSETS,
        "products": ("products",),
        "stations": ("stations",),
    }
    planned = []
    for group in ("reviews", "climate", "products", "stations"):
        for start, end in contiguous_ranges(days_by_group.get(group, ())):
            planned.append(PlannedRun(group, assets_of[group], start, end))
    return planned


def listing_digest(paths: Iterable[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(paths)).encode()).hexdigest()[:16]


def sensor_interval_seconds() -> int:
    return int(os.environ.get("AMZN_SENSOR_INTERVAL_S", "30"))


def month_of(day: str) -> str:
    return day[:7]


def month_before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def model_month_to_train(frontier_before: str | None, updated_days: Iterable[str]) -> tuple[str | None, str]:
    """(the rating-model month to train or None, the new frontier) after reviews_fact days were updated.

    The frontier is the latest reviews_fact day materialized so far. The month before the
    frontier's month is the latest closed month: the data has moved past it, by the review dates
    and not the clock, so a replay of old reviews closes months just as live data does. It trains
    when it closes (the frontier enters a new month) and again when its own days are updated
    (late reviews). Older months are trained by a backfill, never by this rule: one new day must
    not retrain years of models.
    """
    days = sorted(updated_days)
    if not days:
        return None, frontier_before or ""
    frontier = max(days[-1], frontier_before or days[-1])
    closed = month_before(month_of(frontier))
    just_closed = frontier_before is None or month_of(frontier_before) != month_of(frontier)
    late_days = any(month_of(d) == closed for d in days)
    return (closed if just_closed or late_days else None), frontier
