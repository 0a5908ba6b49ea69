"""rating_predictions: each review of a day scored by a stored rating_model month (daily partitions)."""

# No `from __future__ import annotations`: Dagster reads the Config annotation of rating_predictions.
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetDep, AssetExecutionContext, AssetsDefinition, Config, Failure, LastPartitionMapping, Output, asset

from amzn_assets.chunks import TableChunks
from amzn_assets.domains.rating_model.automation import predictions_condition
from amzn_assets.domains.rating_model.checks import model_beats_baselines, refused_model
from amzn_assets.domains.rating_model.resources import MODEL_IO_MANAGER
from amzn_assets.ml.artifacts import PREDICTIONS_FILE
from amzn_assets.ml.data import review_texts
from amzn_assets.ml.predict import RatingPredictor
from amzn_assets.ml.serving import serving_month_in_store
from amzn_assets.settings import Settings
from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.artifacts import ArtifactDir, PartitionedArtifactIOManager, stage
from amzn_assets.storage.metadata import histogram_markdown
from amzn_assets.tables import REVIEWS_FACT_SCHEMA
from amzn_assets.wiring import groups
from amzn_assets.wiring.celery import ML_QUEUE_TAGS
from amzn_assets.wiring.partitions import daily_backfill_policy, daily_partitions
from amzn_assets.wiring.policies import TRANSIENT_RETRY


class PredictionConfig(Config):
    model_partition: str = ""  # a rating_model month (YYYY-MM); empty: the serving month (the latest whose evaluation passes)


def rating_predictions(context: AssetExecutionContext, config: PredictionConfig, reviews_fact: TableChunks):
    io_manager: PartitionedArtifactIOManager = getattr(context.resources, MODEL_IO_MANAGER)
    store = io_manager.store
    # Default: the serving month, the latest stored month whose evaluation passes the blocking check
    # (the month the automation condition waits for: automation.py).
    month = config.model_partition or serving_month_in_store(store, store.partitions("rating_model"), model_beats_baselines)
    if not month:
        raise Failure(
            f"no rating_model month in {store.base} has an evaluation that passes rating_model_beats_baselines: "
            "materialize (and evaluate) one first",
            allow_retries=False,
        )
    refusal = refused_model(store, month)
    if refusal:
        raise Failure(refusal, allow_retries=False)  # deliberate: never retried (wiring/policies.py)
    predictor = RatingPredictor.load(store.get("rating_model", month))
    context.log.info(f"scoring with rating_model {month} from {store.location('rating_model', month)}")
    schema = predictions_schema()
    per_day: dict[str, list[pa.Table]] = {}
    predicted_counts = np.zeros(6, dtype=np.int64)  # index = rating (0 unused)
    rows = hits = 0
    absolute_error = 0.0
    for chunk in reviews_fact:
        if chunk.num_rows == 0:
            continue
        p = predictor.predict_proba(review_texts(chunk, predictor.config.use_summary))
        predicted, expected = predictor.ratings(p)
        truth = chunk["rating"].to_numpy(zero_copy_only=False).astype(np.int64)
        rows += chunk.num_rows
        absolute_error += float(np.abs(expected - truth).sum())
        hits += int(np.sum(predicted == truth))
        predicted_counts += np.bincount(predicted, minlength=6)
        columns = {name: chunk[name] for name in PREDICTED_REVIEW_COLUMNS}
        columns |= {"predicted_rating": predicted, "expected_rating": expected}
        columns |= {f"p_{k + 1}": p[:, k] for k in range(5)}
        columns["model_partition"] = [month] * chunk.num_rows
        scored = pa.table({f.name: pa.array(columns[f.name], f.type) if not isinstance(columns[f.name], pa.ChunkedArray)
                           else columns[f.name].cast(f.type) for f in schema}, schema=schema)
        for day, rows_of_day in slices_by_value(scored, "review_date"):
            per_day.setdefault(day.isoformat(), []).append(rows_of_day)
    out: dict[str, ArtifactDir] = {}
    for key in context.partition_keys:
        folder = stage("rating_predictions")
        tables = per_day.get(key)
        pq.write_table(pa.concat_tables(tables) if tables else schema.empty_table(), folder / PREDICTIONS_FILE, compression="zstd")
        out[key] = ArtifactDir(folder, staged=True)
    return Output(
        out,
        metadata={
            "rows": rows,
            "model_partition": month,
            "accuracy": round(hits / rows, 4) if rows else float("nan"),
            "mae": round(absolute_error / rows, 4) if rows else float("nan"),
            "predicted_rating_histogram": histogram_markdown({r: int(predicted_counts[r]) for r in range(1, 6)}),
        },
    )


# The review (its key, review_date and review_id, and what it is about) and its true rating.
PREDICTED_REVIEW_COLUMNS = ("review_date", "review_id", "review_time", "asin", "reviewer_id", "rating")


def predictions_schema():
    """predictions.parquet: the review and its true rating, then the model's view of it."""
    fields = [REVIEWS_FACT_SCHEMA.field(c) for c in PREDICTED_REVIEW_COLUMNS]
    fields += [pa.field("predicted_rating", pa.int8()), pa.field("expected_rating", pa.float32())]
    fields += [pa.field(f"p_{k}", pa.float32()) for k in range(1, 6)] + [pa.field("model_partition", pa.string())]
    return pa.schema(fields)


def rating_predictions_asset(settings: Settings) -> AssetsDefinition:
    return asset(
        partitions_def=daily_partitions,
        backfill_policy=daily_backfill_policy(settings),  # a range is one run: the model loads once
        group_name=groups.RATING_MODEL,
        owners=groups.OWNERS,
        io_manager_key=MODEL_IO_MANAGER,
        op_tags=ML_QUEUE_TAGS,
        deps=[AssetDep("rating_model", partition_mapping=LastPartitionMapping())],
        required_resource_keys={MODEL_IO_MANAGER},
        kinds={"tensorflow", "parquet"},
        retry_policy=TRANSIENT_RETRY,  # reads reviews_fact (database) and writes artifacts (S3); refusals are not retried
        automation_condition=predictions_condition(),  # made and re-made by rating_predictions_automation (sensor.py)
        description=(
            "Each review of the day scored by a rating_model month (config model_partition; default the serving month: the "
            "latest whose evaluation passes the blocking check); made automatically once the day and a serving month exist: "
            "predicted rating, expected rating and p(1★..5★), next to the true rating."
        ),
    )(rating_predictions)
