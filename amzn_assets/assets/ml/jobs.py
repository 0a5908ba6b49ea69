"""The code location's model assets, checks and rating_model_job (the window from the settings)."""

from dagster import AssetSelection, define_asset_job

from amzn_assets.assets.ml.model_assets import build_ml_assets
from amzn_assets.assets.ml.predictions import rating_predictions

_model_assets, ml_asset_checks = build_ml_assets()
rating_tokenizer, rating_model, rating_model_evaluation = _model_assets
rating_model_beats_baselines_mae, rating_model_sanity = ml_asset_checks
ml_assets = [*_model_assets, rating_predictions]

# One month's tokenizer, model, evaluation and checks, on the default executor: what
# rating_model_sensor launches (ml_monthly_celery_job is the same selection on Celery).
rating_model_job = define_asset_job(
    "rating_model_job",
    selection=AssetSelection.assets(*_model_assets),
    description="Trains and evaluates one month's rating model (tokenizer, model, evaluation, checks).",
)
