"""The rating model's Dagster wiring (the model itself is plain Python in amzn_assets/ml).

    reviews_fact (daily) ──window──▶ rating_tokenizer ─▶ rating_model ─▶ rating_model_evaluation ◀─ checks
          │                          (SentencePiece)     (TFRecords,      (model vs majority, TF-IDF + LR,
          │                                               Keras)           VADER + LR; sanity set)
          └──────────── day ──────────▶ rating_predictions (daily; scored with a chosen rating_model month)

    partitions.py     monthly partitions, the training window (default: all history up to the month)
    resources.py      RatingModelSettings, the artifact IO manager (ml_resources)
    model_assets.py   the three monthly assets and their two checks (build_ml_assets)
    checks.py         the checks' decisions and the refusals, as plain functions of metrics.json
    predictions.py    rating_predictions
    jobs.py           the code location's instances and rating_model_job
    sensor.py         rating_model_sensor: trains a month once its reviews are complete

Nothing here imports TensorFlow, SentencePiece or scikit-learn at module import: the code location
loads without the `ml` extra. amzn_assets/definitions.py loads every module here (the assets,
checks, job and sensor) and, through resources_from, ml_resources.
"""

from amzn_assets.domains.rating_model.checks import (
    SANITY_MIN_SHARE,
    beats_baselines_check_result,
    model_beats_baselines,
    refusal_for_failed_checks,
    refused_model,
    sanity_check_result,
)
from amzn_assets.domains.rating_model.jobs import (
    ml_asset_checks,
    ml_assets,
    rating_model,
    rating_model_beats_baselines,
    rating_model_evaluation,
    rating_model_job,
    rating_model_sanity,
    rating_tokenizer,
)
from amzn_assets.domains.rating_model.model_assets import build_ml_assets
from amzn_assets.domains.rating_model.partitions import TRAINING_WINDOW_MONTHS, monthly_partitions, training_window, window_days
from amzn_assets.domains.rating_model.predictions import PredictionConfig, predictions_schema, rating_predictions
from amzn_assets.domains.rating_model.resources import MODEL_IO_MANAGER, MODEL_SETTINGS, RatingModelSettings, ml_resources

__all__ = [
    "MODEL_IO_MANAGER",
    "MODEL_SETTINGS",
    "SANITY_MIN_SHARE",
    "TRAINING_WINDOW_MONTHS",
    "PredictionConfig",
    "RatingModelSettings",
    "build_ml_assets",
    "beats_baselines_check_result",
    "ml_asset_checks",
    "ml_assets",
    "ml_resources",
    "model_beats_baselines",
    "monthly_partitions",
    "predictions_schema",
    "rating_model",
    "rating_model_beats_baselines",
    "rating_model_evaluation",
    "rating_model_job",
    "rating_model_sanity",
    "rating_predictions",
    "rating_tokenizer",
    "refusal_for_failed_checks",
    "refused_model",
    "sanity_check_result",
    "training_window",
    "window_days",
]
