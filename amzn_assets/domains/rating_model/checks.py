"""What the model's checks decide, from a stored metrics.json (plain functions; the @asset_check
definitions are in model_assets.py): the blocking MAE bar, the sanity-set warning, and the refusals
(rating_predictions refuses a month that fails the bar; a month whose window holds a day with a failed
blocking reviews_fact check is not trained)."""

from dagster import AssetCheckResult, AssetCheckSeverity

from amzn_assets.wiring.check_records import describe_failed_days, failed_blocking_days

SANITY_MIN_SHARE = 0.8
MAE_BAR_BASELINES = ("majority", "tfidf_lr")  # the blocking bar (the lexicon baseline is reported beside them)


def model_beats_baselines(metrics: dict) -> bool:
    """The stored evaluation's model MAE is lower than every bar baseline's (per review)."""
    model = metrics["model"]["mae"]
    return all(model < metrics[b]["mae"] for b in MAE_BAR_BASELINES if b in metrics)


def mae_check_result(metrics: dict) -> AssetCheckResult:
    """passed when the model's MAE < every bar baseline's; a failure is an ERROR (the check is blocking)."""
    model = metrics["model"]["mae"]
    baselines = {b: metrics[b]["mae"] for b in MAE_BAR_BASELINES if b in metrics}
    passed = model_beats_baselines(metrics)
    best_name = min(baselines, key=baselines.get)
    compared = ", ".join(f"{b} {v:.3f}" for b, v in baselines.items())
    lexicon = f"; lexicon {metrics['lexicon']['mae']:.3f}, not part of the bar" if "lexicon" in metrics else ""
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"model MAE {model:.3f} {'<' if passed else '>='} the best baseline's ({best_name} {baselines[best_name]:.3f}; {compared}{lexicon})"
            + ("" if passed else ": the model does not beat every baseline on this month's test side; rating_predictions refuses it")
        ),
        metadata={"model_mae": round(model, 4), **{f"{b}_mae": round(v, 4) for b, v in baselines.items()},
                  "mae_margin": round(baselines[best_name] - model, 4)},
    )


def sanity_check_result(metrics: dict) -> AssetCheckResult:
    """passed when at least SANITY_MIN_SHARE of the sanity set is rated within one star (a WARN)."""
    sanity = metrics.get("sanity") or {}
    share = float(sanity.get("within_one_star_share", float("nan")))
    passed = share >= SANITY_MIN_SHARE
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"sanity set: {sanity.get('within_one_star')}/{sanity.get('items')} within one star "
            f"({'>=' if passed else '<'} {SANITY_MIN_SHARE:.0%}); clear complaints <= 2 stars "
            f"{sanity.get('complaints_at_most_2')}/{sanity.get('complaints')}, clear praise >= 4 {sanity.get('praise_at_least_4')}/{sanity.get('praise')}"
        ),
        metadata={"within_one_star_share": round(share, 4), "complaints_at_most_2": sanity.get("complaints_at_most_2"),
                  "praise_at_least_4": sanity.get("praise_at_least_4")},
    )


def refused_model(store, month: str) -> str | None:
    """Why rating_model `month` must not score reviews (its stored evaluation fails the blocking
    rating_model_beats_baselines_mae check), or None (passed, or no evaluation stored)."""
    from amzn_assets.ml.artifacts import METRICS_FILE, read_json

    if not store.exists("rating_model_evaluation", month):
        return None
    metrics = read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)
    if model_beats_baselines(metrics):
        return None
    return f"rating_model {month} is refused: {mae_check_result(metrics).description}"


def refusal_for_failed_checks(instance, month: str, days: list[str]) -> str | None:
    """Why a model month must not train (a blocking reviews_fact check's latest evaluation failed on
    a day of its window), or None."""
    failed = failed_blocking_days(instance, days)
    if not failed:
        return None
    return (
        f"month {month} is not trained: a blocking reviews_fact check failed on {len(failed)} days of its window "
        f"{days[0]}..{days[-1]}: {describe_failed_days(failed)}. Mend those days and materialize them again "
        "(their checks must pass) before training this month."
    )
