"""Rating model assets: monthly partitions trained on a trailing window of daily reviews_fact partitions.

    reviews_fact (daily) ──window──▶ rating_tokenizer ─▶ rating_model ─▶ rating_model_evaluation ◀─ check
          │                          (SentencePiece)     (TFRecords,      (model vs majority vs
          │                                               ALBERT-style)    TF-IDF + LR)
          └──────────── day ──────────▶ rating_predictions (daily; scored with a chosen rating_model month)

A model partition (a month, key YYYY-MM) reads the reviews of the TRAINING_WINDOW_MONTHS months
ending with it (AMZN_MODEL_WINDOW_MONTHS, default 12) through a TimeWindowPartitionMapping, and
splits them by time: the earlier reviews train, the later test_fraction test. The tokenizer is
trained on the training side only, the model records the split it used, and the evaluation scores
the model and both baselines on that split's test side.

Nothing here imports TensorFlow, SentencePiece or scikit-learn at module import: the asset bodies
import amzn_assets.ml (installed with the `ml` extra), so the code location loads without them.
amzn_assets/definitions.py adds ml_assets, ml_asset_checks, rating_model_job and
(through resources_for) ml_resources.
"""

# No `from __future__ import annotations`: Dagster reads the Config annotation of rating_predictions.
import datetime as dt
import os
import shutil
from typing import Optional

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    BackfillPolicy,
    AssetSelection,
    Config,
    ConfigurableResource,
    Failure,
    LastPartitionMapping,
    MetadataValue,
    MonthlyPartitionsDefinition,
    Output,
    TimeWindowPartitionMapping,
    asset,
    asset_check,
    define_asset_job,
)

from amzn_assets.assets.check_records import describe_failed_days, failed_blocking_days
from amzn_assets.assets.reporting import histogram_markdown
from amzn_assets.chunks import TableChunks
from amzn_assets.partitions import (
    FIRST_REVIEW_DAY,
    daily_partitions,
    single_run_backfill,
)
from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.artifacts import (
    ArtifactDir,
    PartitionedArtifactIOManager,
    artifact_io_manager,
    stage,
)

MODEL_IO_MANAGER = "model_io_manager"
MODEL_SETTINGS = "rating_model_settings"
ML_QUEUE_TAGS = {"dagster-celery/queue": "ml_queue"}  # the Celery executor routes these ops to ML workers
TRAINING_WINDOW_MONTHS = int(os.environ.get("AMZN_MODEL_WINDOW_MONTHS", "12"))

# One partition per calendar month (UTC), keys "YYYY-MM", from the first review month; end_offset=0:
# the latest partition is the last complete month, so a model never trains on a month still filling.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_REVIEW_DAY[:7], fmt="%Y-%m", end_offset=0)


def training_window(months: int = TRAINING_WINDOW_MONTHS) -> TimeWindowPartitionMapping:
    """Month M -> the daily partitions of months M-(months-1) .. M (days before 1996-05 do not exist)."""
    return TimeWindowPartitionMapping(start_offset=-(months - 1), end_offset=0, allow_nonexistent_upstream_partitions=True)


class RatingModelSettings(ConfigurableResource):
    """The model's hyper-parameters: a preset ("full" or "tiny", amzn_assets/ml/config.py) and any
    field of ModelConfig overridden (unset: the preset's value). Shared by the tokenizer, the model
    and the evaluation so they agree on the split."""

    preset: str = "full"
    vocab_size: Optional[int] = None
    max_len: Optional[int] = None
    use_summary: Optional[bool] = None
    embedding_size: Optional[int] = None
    hidden_size: Optional[int] = None
    num_layers: Optional[int] = None
    num_heads: Optional[int] = None
    intermediate_size: Optional[int] = None
    dropout: Optional[float] = None
    pooling: Optional[str] = None
    lexicon_features: Optional[bool] = None
    lexicon_scale: Optional[float] = None
    patience: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    learning_rate: Optional[float] = None
    validation_fraction: Optional[float] = None
    mae_loss_weight: Optional[float] = None
    class_weight_power: Optional[float] = None
    test_fraction: Optional[float] = None
    num_shards: Optional[int] = None
    keep_fraction: Optional[float] = None
    seed: Optional[int] = None

    def hyperparameters(self):
        from amzn_assets.ml.config import ModelConfig, preset

        names = [name for name in ModelConfig.__dataclass_fields__ if getattr(self, name, None) is not None]
        return preset(self.preset).replace(**{name: getattr(self, name) for name in names})


def ml_resources(backend: str, data_dir: str, s3_prefix: str | None = None, *, preset: str | None = None) -> dict:
    """The resources the ML assets need, to merge into resources_for(...): the artifact IO manager
    (<data_dir>/models, or <s3_prefix>/models with the S3 backend) and the model settings
    (preset: argument, else AMZN_MODEL_PRESET, else "full")."""
    return {
        MODEL_IO_MANAGER: artifact_io_manager(backend, data_dir, s3_prefix),
        MODEL_SETTINGS: RatingModelSettings(preset=preset or os.environ.get("AMZN_MODEL_PRESET", "full")),
    }


def _utc(seconds: int | None) -> str | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def _window(context: AssetExecutionContext) -> dict:
    window = context.asset_partitions_time_window_for_input("reviews_fact")
    last_day = window.end - dt.timedelta(days=1)
    return {"window_start": window.start.date().isoformat(), "window_end": last_day.date().isoformat()}


def window_days(month: str, months: int = TRAINING_WINDOW_MONTHS) -> list[str]:
    """The reviews_fact days a model month reads (its training window)."""
    subset = monthly_partitions.subset_with_partition_keys([month])
    mapped = training_window(months).get_upstream_mapped_partitions_result_for_partitions(subset, monthly_partitions, daily_partitions)
    return list(mapped.partitions_subset.get_partition_keys())


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


def _reviews(reviews_fact: TableChunks, config):
    from amzn_assets.ml.data import Reviews

    return Reviews.from_tables(reviews_fact, config.use_summary)


COMMON = dict(
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.multi_run(1),  # one run per month: each trains its own model
    group_name="rating_model",
    io_manager_key=MODEL_IO_MANAGER,
    op_tags=ML_QUEUE_TAGS,
)


def build_ml_assets(window_months: int = TRAINING_WINDOW_MONTHS) -> tuple[list, list]:
    """(assets, asset checks) with a training window of `window_months` months."""
    window = training_window(window_months)
    # A day of the window never materialized reads as no reviews: the stream materializes only days
    # that received some (the parquet IO manager logs how many were missing).
    window_in = {"partition_mapping": window, "metadata": {"allow_missing_partitions": True}}

    @asset(
        **COMMON,
        ins={"reviews_fact": AssetIn(**window_in)},
        kinds={"sentencepiece"},
        description=f"SentencePiece tokenizer trained on the training side of the month's {window_months}-month review window.",
    )
    def rating_tokenizer(context: AssetExecutionContext, reviews_fact: TableChunks, rating_model_settings: RatingModelSettings):
        # The first step of a month's training: a day whose blocking check failed stops it here.
        refusal = refusal_for_failed_checks(context.instance, context.partition_key, context.asset_partition_keys_for_input("reviews_fact"))
        if refusal:
            raise Failure(refusal)
        from amzn_assets.ml.artifacts import save_tokenizer_folder
        from amzn_assets.ml.data import distinct_cutoff, split_distinct
        from amzn_assets.ml.tokenizer import Tokenizer

        config = rating_model_settings.hyperparameters()
        reviews = _reviews(reviews_fact, config)
        try:
            cutoff = distinct_cutoff(reviews, config.test_fraction)
        except ValueError as exc:
            raise ValueError(f"month {context.partition_key}, window {_window(context)}: {exc}") from None
        train = split_distinct(reviews, cutoff).train  # distinct texts: a text repeated across variants counts once
        tokenizer = Tokenizer.train(train.texts, config.vocab_size, config.seed)
        info = {
            "partition": context.partition_key,
            **_window(context),
            "reviews": len(reviews),
            "train_texts": len(train),
            "test_cutoff": cutoff,
            "test_cutoff_utc": _utc(cutoff),
            "test_fraction": config.test_fraction,
        }
        folder = stage("rating_tokenizer")
        save_tokenizer_folder(folder, tokenizer, info)
        sample = next((t for t in train.texts if 20 <= len(t) <= 200), train.texts[0] if train.texts else "")
        return Output(
            ArtifactDir(folder, staged=True),
            metadata={
                "vocab_size": tokenizer.vocab_size,
                "training_reviews": len(train),
                "window_reviews": len(reviews),
                "window_start": info["window_start"],
                "window_end": info["window_end"],
                "test_cutoff": info["test_cutoff_utc"],
                "example_pieces": MetadataValue.text(" ".join(tokenizer.pieces(sample))[:500]),
            },
        )

    @asset(
        **COMMON,
        ins={"reviews_fact": AssetIn(**window_in), "rating_tokenizer": AssetIn()},
        kinds={"tensorflow"},
        description=(
            "ALBERT-style Keras model (factorized embeddings, one shared transformer block) predicting the rating, "
            "trained on the window's earlier reviews via TFRecord shards (a fraction kept, the rest removed)."
        ),
    )
    def rating_model(
        context: AssetExecutionContext,
        reviews_fact: TableChunks,
        rating_tokenizer: ArtifactDir,
        rating_model_settings: RatingModelSettings,
    ):
        from amzn_assets.ml.artifacts import (
            RECORDS_DIR,
            load_tokenizer_folder,
            save_model_folder,
        )
        from amzn_assets.ml.train import train_rating_model

        config = rating_model_settings.hyperparameters()
        tokenizer, tokenizer_info = load_tokenizer_folder(rating_tokenizer.path)
        from amzn_assets.ml.data import split_distinct

        cutoff = int(tokenizer_info["test_cutoff"])  # the tokenizer's split: the test side stays unseen
        reviews = _reviews(reviews_fact, config)
        train = split_distinct(reviews, cutoff).train
        folder = stage("rating_model")
        try:
            result = train_rating_model(train, tokenizer, config, folder / RECORDS_DIR, log=context.log.info)
            info = result.summary() | {
                "partition": context.partition_key,
                **_window(context),
                "test_cutoff": cutoff,
                "test_cutoff_utc": _utc(cutoff),
                "validation_cutoff_utc": _utc(result.validation_cutoff),
                "window_reviews": len(reviews),
                "train_texts": len(train),
            }
            save_model_folder(folder, result.model, tokenizer, config, info)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves no shards behind
            raise
        best = info["best_epoch_metrics"]
        return Output(
            ArtifactDir(folder, staged=True),
            metadata={
                "parameters": result.parameters,
                "training_reviews": result.fit_examples,
                "validation_reviews": result.validation_examples,
                "epochs_run": info["epochs_run"],
                "best_epoch": result.best_epoch,
                "best_epoch_val_rating_mae": best.get("val_rating_mae", float("nan")),
                "best_epoch_val_accuracy": best.get("val_accuracy", float("nan")),
                "train_seconds": round(result.seconds, 1),
                "tfrecord_shards_written": result.shards_written,
                "tfrecord_shards_kept": len(result.pruned.kept),
                "tfrecord_kept_bytes": result.pruned.kept_bytes,
                "test_cutoff": info["test_cutoff_utc"],
                "config": MetadataValue.json(config.to_dict()),
            },
        )

    @asset(
        **COMMON,
        ins={"reviews_fact": AssetIn(**window_in), "rating_model": AssetIn()},
        kinds={"tensorflow", "scikitlearn"},
        description=(
            "The model scored on the later reviews of its window (time-ordered split) next to two baselines on the "
            "same split: the majority class and TF-IDF + logistic regression. Accuracy, MAE, macro-F1, confusion matrix."
        ),
    )
    def rating_model_evaluation(context: AssetExecutionContext, reviews_fact: TableChunks, rating_model: ArtifactDir):
        from amzn_assets.ml import evaluate
        from amzn_assets.ml.artifacts import METRICS_FILE, load_model_folder, write_json

        from amzn_assets.ml.data import split_distinct

        saved = load_model_folder(rating_model.path)
        cutoff = int(saved.info["test_cutoff"])
        reviews = _reviews(reviews_fact, saved.config)
        split = split_distinct(reviews, cutoff)
        if not len(split.test):
            raise ValueError(f"month {context.partition_key}: no unseen texts at or after the test cutoff {_utc(cutoff)}")
        scored = evaluate.evaluate_split(saved.model, saved.tokenizer, saved.config, split)
        results, per_text = scored["per_review"], scored["per_text"]
        sanity = evaluate.evaluate_sanity(saved.model, saved.tokenizer, saved.config)
        metrics = {
            "partition": context.partition_key,
            **_window(context),
            "split": {
                "test_cutoff_utc": _utc(cutoff),
                "window_reviews": len(reviews),
                "train_texts": len(split.train),
                "test_reviews": len(split.test),
                "test_texts": len(split.test_distinct),
            },
            **results,  # per review (the headline): model, majority, tfidf_lr, lexicon
            "per_text": per_text,
            "sanity": sanity,
        }
        folder = stage("rating_model_evaluation")
        write_json(folder / METRICS_FILE, metrics)
        model = results[evaluate.MODEL]
        return Output(
            ArtifactDir(folder, staged=True),
            metadata={
                **evaluate.headline(results),
                **{f"per_text_{k}": v for k, v in evaluate.headline(per_text).items()},
                "window_reviews": len(reviews),
                "train_texts": len(split.train),
                "test_reviews": len(split.test),
                "test_texts": len(split.test_distinct),
                "test_cutoff": _utc(cutoff),
                "sanity_within_one_star": f"{sanity['within_one_star']}/{sanity['items']}",
                "comparison": MetadataValue.md(evaluate.comparison_markdown(results)),
                "comparison_per_text": MetadataValue.md(evaluate.comparison_markdown(per_text)),
                "confusion_matrix": MetadataValue.md(evaluate.confusion_markdown(model)),
                "per_rating": MetadataValue.md(evaluate.per_rating_markdown(model)),
            },
        )

    @asset_check(
        asset=rating_model_evaluation,
        partitions_def=monthly_partitions,
        blocking=True,
        description=(
            "Fails (ERROR, blocking) unless the model's per-review MAE on the distinct-text test side is lower than "
            "both baselines' (majority, TF-IDF + LR); rating_predictions refuses a month that fails it."
        ),
    )
    def rating_model_beats_baselines_mae(rating_model_evaluation: ArtifactDir) -> AssetCheckResult:
        from amzn_assets.ml.artifacts import METRICS_FILE, read_json

        return mae_check_result(read_json(rating_model_evaluation.path / METRICS_FILE))

    @asset_check(
        asset=rating_model_evaluation,
        partitions_def=monthly_partitions,
        description=f"Warns when the model rates under {SANITY_MIN_SHARE:.0%} of the sanity set (amzn_assets/ml/sanity.jsonl) within one star.",
    )
    def rating_model_sanity(rating_model_evaluation: ArtifactDir) -> AssetCheckResult:
        from amzn_assets.ml.artifacts import METRICS_FILE, read_json

        return sanity_check_result(read_json(rating_model_evaluation.path / METRICS_FILE))

    return [rating_tokenizer, rating_model, rating_model_evaluation], [rating_model_beats_baselines_mae, rating_model_sanity]


SANITY_MIN_SHARE = 0.8
_BASELINES = ("majority", "tfidf_lr")  # the check's bar (the lexicon baseline is reported beside them)


def model_beats_baselines(metrics: dict) -> bool:
    """The stored evaluation's model MAE is lower than every baseline's (per review)."""
    model = metrics["model"]["mae"]
    return all(model < metrics[b]["mae"] for b in _BASELINES if b in metrics)


def mae_check_result(metrics: dict) -> AssetCheckResult:
    """passed when the model's MAE < every baseline's; a failure is an ERROR (the check is blocking)."""
    model = metrics["model"]["mae"]
    baselines = {b: metrics[b]["mae"] for b in _BASELINES if b in metrics}
    passed = model_beats_baselines(metrics)
    best_name = min(baselines, key=baselines.get)
    compared = ", ".join(f"{b} {v:.3f}" for b, v in baselines.items())
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"model MAE {model:.3f} {'<' if passed else '>='} the best baseline's ({best_name} {baselines[best_name]:.3f}; {compared})"
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


class PredictionConfig(Config):
    model_partition: str = ""  # a rating_model month (YYYY-MM); empty: the latest month stored


@asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,  # a range is one run: the model loads once
    group_name="rating_model",
    io_manager_key=MODEL_IO_MANAGER,
    op_tags=ML_QUEUE_TAGS,
    deps=[AssetDep("rating_model", partition_mapping=LastPartitionMapping())],
    required_resource_keys={MODEL_IO_MANAGER},
    kinds={"tensorflow", "parquet"},
    description=(
        "Each review of the day scored by a rating_model month (config model_partition; default the latest stored): "
        "predicted rating, expected rating and p(1★..5★), next to the true rating."
    ),
)
def rating_predictions(context: AssetExecutionContext, config: PredictionConfig, reviews_fact: TableChunks):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from amzn_assets.ml.artifacts import PREDICTIONS_FILE
    from amzn_assets.ml.data import review_texts
    from amzn_assets.ml.predict import RatingPredictor, most_likely_and_expected

    io_manager: PartitionedArtifactIOManager = getattr(context.resources, MODEL_IO_MANAGER)
    store = io_manager.store
    month = config.model_partition or store.latest("rating_model")
    if not month:
        raise FileNotFoundError(f"no rating_model partition is stored in {store.base}: materialize one first")
    refusal = refused_model(store, month)
    if refusal:
        raise Failure(refusal)
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
        predicted, expected = most_likely_and_expected(p)
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


def refused_model(store, month: str) -> str | None:
    """Why rating_model `month` must not score reviews (its stored evaluation fails the blocking
    rating_model_beats_baselines_mae check), or None (passed, or no evaluation stored: logged by the caller)."""
    from amzn_assets.ml.artifacts import METRICS_FILE, read_json

    if not store.exists("rating_model_evaluation", month):
        return None
    metrics = read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)
    if model_beats_baselines(metrics):
        return None
    return f"rating_model {month} is refused: {mae_check_result(metrics).description}"


# The review (its key, review_date and review_id, and what it is about) and its true rating.
PREDICTED_REVIEW_COLUMNS = ("review_date", "review_id", "review_time", "asin", "reviewer_id", "rating")


def predictions_schema():
    """predictions.parquet: the review and its true rating, then the model's view of it."""
    import pyarrow as pa

    from amzn_assets.tables import REVIEWS_FACT_SCHEMA

    fields = [REVIEWS_FACT_SCHEMA.field(c) for c in PREDICTED_REVIEW_COLUMNS]
    fields += [pa.field("predicted_rating", pa.int8()), pa.field("expected_rating", pa.float32())]
    fields += [pa.field(f"p_{k}", pa.float32()) for k in range(1, 6)] + [pa.field("model_partition", pa.string())]
    return pa.schema(fields)


_model_assets, ml_asset_checks = build_ml_assets()
rating_tokenizer, rating_model, rating_model_evaluation = _model_assets
rating_model_beats_baselines_mae, rating_model_sanity = ml_asset_checks
ml_assets = [*_model_assets, rating_predictions]

# One month's tokenizer, model, evaluation and check, on the default executor: what
# rating_model_sensor launches (ml_monthly_celery_job is the same selection on Celery).
rating_model_job = define_asset_job(
    "rating_model_job",
    selection=AssetSelection.assets(*_model_assets),
    description="Trains and evaluates one month's rating model (tokenizer, model, evaluation, check).",
)
