"""The rating model's checks: rating_model_beats_baselines and rating_model_sanity on
rating_model_evaluation, and what they decide from a stored metrics.json: the blocking bar (the
model beats every baseline on MAE^M and macro-F1, docs/model.md: why), the sanity-set warning, and
the refusals (rating_predictions refuses a month that fails the bar; a month whose window holds a
day with a failed blocking reviews_fact check is not trained)."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from amzn_assets.domains.rating_model.partitions import monthly_partitions
from amzn_assets.domains.reviews.checks import describe_failed_days, failed_blocking_days
from amzn_assets.ml.artifacts import METRICS_FILE, read_json
from amzn_assets.storage.artifacts import ArtifactDir

SANITY_MIN_SHARE = 0.8
# The blocking check's bar: the model must beat each of these on MAE^M and on macro-F1 (per review).
GATE_BASELINES = ("majority", "tfidf_lr", "lexicon")
GATE_METRICS = ("mae_macro", "macro_f1")  # lower MAE^M, higher macro-F1 (plain MAE: reported, not gated)
_LOWER_IS_BETTER = {"mae_macro": True, "macro_f1": False, "mae": True}
_LABEL = {"mae_macro": "MAE^M", "macro_f1": "macro-F1", "mae": "MAE"}


def _value(scores: dict, metric: str) -> float:
    """A stored scorer's metric; MAE^M of an evaluation stored before it was recorded: from its confusion matrix."""
    if metric == "mae_macro" and scores.get("mae_macro") is None:
        from amzn_assets.ml.evaluate import mae_macro_of_confusion  # numpy only

        return mae_macro_of_confusion(scores["confusion"])
    return float(scores[metric])


def _beats(model: float, baseline: float, metric: str) -> bool:
    return model < baseline if _LOWER_IS_BETTER[metric] else model > baseline


def model_beats_baselines(metrics: dict) -> bool:
    """The stored evaluation's model beats every gate baseline present on MAE^M and on macro-F1 (per review)."""
    return all(
        _beats(_value(metrics["model"], m), _value(metrics[b], m), m) for b in GATE_BASELINES if b in metrics for m in GATE_METRICS
    )


def beats_baselines_check_result(metrics: dict) -> AssetCheckResult:
    """passed when the model beats every baseline (majority, TF-IDF + LR, lexicon) on MAE^M and on
    macro-F1; a failure is an ERROR (the check is blocking). Plain MAE is reported beside them."""
    baselines = [b for b in GATE_BASELINES if b in metrics]
    passed = model_beats_baselines(metrics)
    parts, metadata, losses = [], {}, []
    for metric in (*GATE_METRICS, "mae"):
        model = _value(metrics["model"], metric)
        values = {b: _value(metrics[b], metric) for b in baselines}
        pick = min if _LOWER_IS_BETTER[metric] else max
        best = pick(values, key=values.get)
        margin = (values[best] - model) if _LOWER_IS_BETTER[metric] else (model - values[best])
        metadata[f"model_{metric}"] = round(model, 4)
        metadata.update({f"{b}_{metric}": round(v, 4) for b, v in values.items()})
        metadata[f"{metric}_margin"] = round(margin, 4)
        wins = margin > 0
        gated = metric in GATE_METRICS
        if gated and not wins:
            losses.append(f"{_LABEL[metric]} (best baseline {best})")
        parts.append(
            f"{_LABEL[metric]}{'' if gated else ' (reported, not gated)'} model {model:.3f} "
            f"{'beats' if wins else 'does not beat'} {best} {values[best]:.3f}"
        )
    metadata["plain_mae_beats_baselines"] = metadata["mae_margin"] > 0
    description = "; ".join(parts)
    if not passed:
        description += f": the model does not beat every baseline on {', '.join(losses)} on this month's test side; rating_predictions refuses it"
    return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.ERROR, description=description, metadata=metadata)


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
    rating_model_beats_baselines check), or None (passed, or no evaluation stored)."""
    if not store.exists("rating_model_evaluation", month):
        return None
    metrics = read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)
    if model_beats_baselines(metrics):
        return None
    return f"rating_model {month} is refused: {beats_baselines_check_result(metrics).description}"


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


@asset_check(
    asset="rating_model_evaluation",
    partitions_def=monthly_partitions,
    blocking=True,
    description=(
        "Fails (ERROR, blocking) unless the model beats every baseline (majority, TF-IDF + LR, VADER lexicon + LR) "
        "on the distinct-text test side, per review, on MAE^M (macro-averaged MAE, lower) and on macro-F1 (higher); "
        "plain MAE is reported, not gated. rating_predictions refuses a month that fails it."
    ),
)
def rating_model_beats_baselines(rating_model_evaluation: ArtifactDir) -> AssetCheckResult:
    return beats_baselines_check_result(read_json(rating_model_evaluation.path / METRICS_FILE))


@asset_check(
    asset="rating_model_evaluation",
    partitions_def=monthly_partitions,
    description=f"Warns when the model rates under {SANITY_MIN_SHARE:.0%} of the sanity set (amzn_assets/ml/sanity.jsonl) within one star.",
)
def rating_model_sanity(rating_model_evaluation: ArtifactDir) -> AssetCheckResult:
    return sanity_check_result(read_json(rating_model_evaluation.path / METRICS_FILE))


MODEL_CHECKS = [rating_model_beats_baselines, rating_model_sanity]
