"""The code location's model assets, checks and rating_model_job (the window from the settings)."""

from dagster import AssetSelection, define_asset_job

from amzn_assets.domains.rating_model.model_assets import build_ml_assets
from amzn_assets.domains.rating_model.predictions import rating_predictions

MONTHLY_MODEL_ASSETS, ml_asset_checks = build_ml_assets()  # (tokenizer, model, evaluation), their checks
rating_tokenizer, rating_model, rating_model_evaluation = MONTHLY_MODEL_ASSETS
rating_model_beats_baselines, rating_model_sanity = ml_asset_checks
ml_assets = [*MONTHLY_MODEL_ASSETS, rating_predictions]

# One month's tokenizer, model, evaluation and checks, on the default executor: what
# rating_model_sensor launches (ml_monthly_celery_job is the same selection on Celery).
rating_model_job = define_asset_job(
    "rating_model_job",
    selection=AssetSelection.assets(*MONTHLY_MODEL_ASSETS),
    description="Trains and evaluates one month's rating model (tokenizer, model, evaluation, checks).",
)
