"""The model's assets and checks under the settings (its training window and freshness), and its
jobs: rating_model_job (the default executor, what rating_model_sensor launches), and the same
selections on Celery workers (queue ``ml_queue``): ml_monthly_celery_job, ml_daily_celery_job."""

from dagster import AssetSelection, AssetsDefinition, AssetChecksDefinition, define_asset_job

from amzn_assets.domains.rating_model.model_assets import build_ml_assets
from amzn_assets.domains.rating_model.predictions import rating_predictions_asset
from amzn_assets.settings import Settings
from amzn_assets.wiring.celery import ML_QUEUE, celery_asset_job

MONTHLY_MODEL_ASSETS = ("rating_tokenizer", "rating_model", "rating_model_evaluation")

# One month's tokenizer, model, evaluation and checks, on the default executor: what
# rating_model_sensor launches (ml_monthly_celery_job is the same selection on Celery).
rating_model_job = define_asset_job(
    "rating_model_job",
    selection=AssetSelection.assets(*MONTHLY_MODEL_ASSETS),
    description="Trains and evaluates one month's rating model (tokenizer, model, evaluation, checks).",
)


def model_assets(settings: Settings) -> tuple[list[AssetsDefinition], list[AssetChecksDefinition]]:
    """(the monthly tokenizer, model and evaluation and the daily rating_predictions; the model's checks)."""
    monthly, checks = build_ml_assets(settings)
    return [*monthly, rating_predictions_asset(settings)], checks


ml_monthly_celery_job = celery_asset_job(
    "ml_monthly_celery_job",
    AssetSelection.assets(*MONTHLY_MODEL_ASSETS),
    description=f"A month's tokenizer, model and evaluation (and checks) on the Celery workers (model steps on '{ML_QUEUE}').",
)

ml_daily_celery_job = celery_asset_job(
    "ml_daily_celery_job",
    AssetSelection.assets("rating_predictions"),
    description=f"A day's rating_predictions on the Celery workers (queue '{ML_QUEUE}').",
)
