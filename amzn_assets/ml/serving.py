"""Which rating_model month serves predictions, and which days' predictions are out of date (plain
Python over storage ids: the Dagster wiring is amzn_assets/domains/rating_model/automation.py).

The serving month is the latest month whose model passed its blocking check (rating_model_beats_baselines):
a month that failed it never scores anything. A day's predictions are out of date when the day has
reviews_fact rows written and a serving month exists, and the predictions are missing or older than
either the day's latest reviews_fact write or the serving month's passing check (a newer month, or
the same month trained again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def serving_month(gate: Iterable[tuple[str, bool, int]]) -> tuple[str, int] | None:
    """(month, storage id of its passing check) of the latest month whose latest gate evaluation
    passed; gate: (month, passed, storage id of that evaluation) per evaluated month."""
    passed = [(month, event_id) for month, ok, event_id in gate if ok]
    return max(passed) if passed else None


def days_to_predict(fact_writes: Mapping[str, int], prediction_writes: Mapping[str, int], model_event: int | None) -> set[str]:
    """The days whose predictions are out of date; the arguments map a day to the storage id of its
    latest reviews_fact / rating_predictions materialization (model_event: serving_month's id)."""
    if model_event is None:
        return set()
    return {
        day
        for day, fact in fact_writes.items()
        if (made := prediction_writes.get(day)) is None or made < fact or made < model_event
    }


def serving_month_in_store(store, months: Iterable[str], passes) -> str | None:
    """The latest month of `months` (stored rating_model months) whose stored evaluation passes
    (passes(metrics) -> bool): what rating_predictions scores with by default."""
    from amzn_assets.ml.artifacts import METRICS_FILE, read_json

    for month in sorted(months, reverse=True):
        if store.exists("rating_model_evaluation", month) and passes(read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)):
            return month
    return None
