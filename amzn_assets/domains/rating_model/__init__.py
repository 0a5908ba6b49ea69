"""The rating model's Dagster wiring (the model itself is plain Python in amzn_assets/ml).

    reviews_fact (daily) ──window──▶ rating_tokenizer ─▶ rating_model ─▶ rating_model_evaluation ◀─ checks
          │                          (SentencePiece)     (TFRecords,      (model vs majority, TF-IDF + LR,
          │                                               Keras)           VADER + LR; sanity set)
          └──────────── day ──────────▶ rating_predictions (daily; scored with a chosen rating_model month)

    partitions.py     monthly partitions, the training window (default: all history up to the month)
    resources.py      RatingModelSettings, the artifact IO manager (ml_resources)
    model_assets.py   the three monthly assets (build_ml_assets(settings))
    checks.py         the model's two checks, their decisions and the refusals
    predictions.py    rating_predictions
    jobs.py           model_assets(settings): every model asset and check; rating_model_job and its Celery twins
    sensor.py         model_sensors(settings): rating_model_sensor (trains a month once its reviews are
                      complete) and rating_predictions_automation

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
from amzn_assets.domains.rating_model.jobs import MONTHLY_MODEL_ASSETS, model_assets, rating_model_job
from amzn_assets.domains.rating_model.model_assets import build_ml_assets
from amzn_assets.domains.rating_model.partitions import GROWING_WINDOW, monthly_partitions, training_window, window_days
from amzn_assets.domains.rating_model.predictions import PredictionConfig, predictions_schema, rating_predictions_asset
from amzn_assets.domains.rating_model.resources import MODEL_IO_MANAGER, MODEL_SETTINGS, RatingModelSettings, ml_resources
from amzn_assets.domains.rating_model.sensor import model_sensors

__all__ = [
    "GROWING_WINDOW",
    "MODEL_IO_MANAGER",
    "MODEL_SETTINGS",
    "MONTHLY_MODEL_ASSETS",
    "SANITY_MIN_SHARE",
    "PredictionConfig",
    "RatingModelSettings",
    "build_ml_assets",
    "beats_baselines_check_result",
    "ml_resources",
    "model_assets",
    "model_beats_baselines",
    "model_sensors",
    "monthly_partitions",
    "predictions_schema",
    "rating_model_job",
    "rating_predictions_asset",
    "refusal_for_failed_checks",
    "refused_model",
    "sanity_check_result",
    "training_window",
    "window_days",
]
