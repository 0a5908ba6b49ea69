"""The monthly model assets: rating_tokenizer -> rating_model -> rating_model_evaluation, and its checks.

A model partition (a month, key YYYY-MM) reads its training window of daily reviews_fact partitions
(partitions.py: by default every day up to the month's end) and splits the window's distinct texts by
time: the earlier train, the later test_fraction test. The tokenizer is trained on the training side
only, the model records the split it used, and the evaluation scores the model and the baselines on
that split's test side. Nothing here imports TensorFlow, SentencePiece or scikit-learn at module
import (the asset bodies do).
"""

import datetime as dt
import shutil

from dagster import (
    AssetExecutionContext,
    AssetIn,
    BackfillPolicy,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from amzn_assets.domains.rating_model.checks import MODEL_CHECKS, refusal_for_failed_checks
from amzn_assets.domains.rating_model.partitions import describe_window, monthly_partitions, training_window
from amzn_assets.domains.rating_model.resources import MODEL_IO_MANAGER, RatingModelSettings
from amzn_assets.wiring import groups
from amzn_assets.wiring.celery import ML_QUEUE_TAGS
from amzn_assets.wiring.policies import TRANSIENT_RETRY, model_freshness
from amzn_assets.chunks import TableChunks
from amzn_assets.ml import evaluate
from amzn_assets.ml.artifacts import METRICS_FILE, RECORDS_DIR, load_model_folder, load_tokenizer_folder, save_model_folder, save_tokenizer_folder, write_json
from amzn_assets.ml.data import Reviews, distinct_cutoff, split_distinct
from amzn_assets.ml.tokenizer import Tokenizer
from amzn_assets.settings import Settings
from amzn_assets.storage.artifacts import ArtifactDir, stage


def _utc(seconds: int | None) -> str | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def _window(context: AssetExecutionContext) -> dict:
    window = context.asset_partitions_time_window_for_input("reviews_fact")
    last_day = window.end - dt.timedelta(days=1)
    return {"window_start": window.start.date().isoformat(), "window_end": last_day.date().isoformat()}


def _reviews(reviews_fact: TableChunks, config):
    return Reviews.from_tables(reviews_fact, config.use_summary)


COMMON = dict(
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.multi_run(1),  # one run per month: each trains its own model
    group_name=groups.RATING_MODEL,
    owners=groups.OWNERS,
    io_manager_key=MODEL_IO_MANAGER,
    op_tags=ML_QUEUE_TAGS,
    # Reading reviews_fact from the database and writing artifacts (S3) meet transient faults: retried
    # with backoff; the refusals and a window too small to split raise Failure(allow_retries=False).
    retry_policy=TRANSIENT_RETRY,
)


def build_ml_assets(settings: Settings) -> tuple[list, list]:
    """(assets, asset checks) with the settings' training window (0 months: all history) and freshness."""
    window_months = settings.model_window_months
    window = training_window(window_months)
    # A day of the window never materialized reads as no reviews: the stream materializes only days
    # that received some (the parquet IO manager logs how many were missing).
    window_in = {"partition_mapping": window, "metadata": {"allow_missing_partitions": True}}

    @asset(
        **COMMON,
        ins={"reviews_fact": AssetIn(**window_in)},
        kinds={"sentencepiece"},
        description=f"SentencePiece tokenizer trained on the training side of the month's window ({describe_window(window_months)}).",
    )
    def rating_tokenizer(context: AssetExecutionContext, reviews_fact: TableChunks, rating_model_settings: RatingModelSettings):
        # The first step of a month's training: a day whose blocking check failed stops it here.
        refusal = refusal_for_failed_checks(context.instance, context.partition_key, context.asset_partition_keys_for_input("reviews_fact"))
        if refusal:
            raise Failure(refusal, allow_retries=False)  # deliberate: never retried (wiring/policies.py)
        config = rating_model_settings.hyperparameters()
        reviews = _reviews(reviews_fact, config)
        try:
            cutoff = distinct_cutoff(reviews, config.test_fraction)
        except ValueError as exc:
            # Too few reviews in the window: deterministic, a retry would fail the same way.
            raise Failure(f"month {context.partition_key}, window {_window(context)}: {exc}", allow_retries=False) from None
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
            "Keras model predicting the rating from the SentencePiece pieces and the VADER lexicon scores (default: "
            "TF-IDF of the pieces + lexicon -> softmax; preset albert: an ALBERT-style encoder), trained on the window's "
            "earlier distinct texts via TFRecord shards (a fraction kept, the rest removed)."
        ),
    )
    def rating_model(
        context: AssetExecutionContext,
        reviews_fact: TableChunks,
        rating_tokenizer: ArtifactDir,
        rating_model_settings: RatingModelSettings,
    ):
        from amzn_assets.ml.train import train_rating_model

        config = rating_model_settings.hyperparameters()
        tokenizer, tokenizer_info = load_tokenizer_folder(rating_tokenizer.path)
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
        freshness_policy=model_freshness(settings),  # a month's evaluation is expected every month (AMZN_MODEL_FRESHNESS_DAYS)
        description=(
            "The model scored on the later, unseen texts of its window (distinct-text time split), per review and per "
            "text, next to three baselines on the same split: majority class, TF-IDF + LR, VADER lexicon + LR. "
            "MAE^M (macro-averaged MAE), macro-F1, recall per rating, confusion matrix, plain MAE, accuracy, the sanity set."
        ),
    )
    def rating_model_evaluation(context: AssetExecutionContext, reviews_fact: TableChunks, rating_model: ArtifactDir):
        saved = load_model_folder(rating_model.path)
        cutoff = int(saved.info["test_cutoff"])
        reviews = _reviews(reviews_fact, saved.config)
        split = split_distinct(reviews, cutoff)
        if not len(split.test):
            raise Failure(f"month {context.partition_key}: no unseen texts at or after the test cutoff {_utc(cutoff)}", allow_retries=False)
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
                "model_recall_by_rating": MetadataValue.json(model["recall_by_rating"]),
                "confusion_matrix": MetadataValue.md(evaluate.confusion_markdown(model)),
                "per_rating": MetadataValue.md(evaluate.per_rating_markdown(model)),
            },
        )

    return [rating_tokenizer, rating_model, rating_model_evaluation], MODEL_CHECKS
