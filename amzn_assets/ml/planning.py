"""Plain-Python planning for rating_model_sensor: which month to train after reviews_fact days were updated."""

from __future__ import annotations

from collections.abc import Iterable


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
