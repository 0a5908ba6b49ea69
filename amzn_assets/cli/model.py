"""predict and evaluation: thin wrappers over amzn_assets.ml for a stored rating model."""

from __future__ import annotations

import os
import sys

import click

from amzn_assets.cli.common import pass_settings
from amzn_assets.settings import Settings


def stored_month(settings: Settings, asset: str, command: str, wanted: str | None):
    """(artifact store, the month of `asset` asked for by --model or else the latest stored); the
    month is None, with the reason on stderr, when it is not stored."""
    from amzn_assets.backends import artifact_store

    store = artifact_store(settings)
    month = wanted or store.latest(asset)
    if month and store.exists(asset, month):
        return store, month
    print(f"amzn-assets {command}: no {asset} {month or 'partition'} in {store.base}; stored: "
          f"{', '.join(store.partitions(asset)) or 'none'} (materialize one with dagster)", file=sys.stderr)
    return store, None


@click.command(help="print a stored rating_model_evaluation: model vs baselines")
@click.option("--model", "wanted", metavar="PARTITION", help="month, e.g. 2018-05 (default: the latest stored)")
@click.option("--json", "as_json", is_flag=True, help="the stored evaluation as one JSON object")
@pass_settings
def evaluation(settings: Settings, wanted: str | None, as_json: bool) -> int:
    """A stored rating_model_evaluation: the split, the model against both baselines, the confusion matrix."""
    from amzn_assets.ml import evaluate
    from amzn_assets.ml.artifacts import METRICS_FILE, read_json

    store, month = stored_month(settings, "rating_model_evaluation", "evaluation", wanted)
    if month is None:
        return 1
    metrics = read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)
    split = metrics["split"]
    if as_json:
        import json

        print(json.dumps(evaluation_summary(month, metrics), sort_keys=True))
        return 0
    print(f"rating model {month}: window {metrics['window_start']}..{metrics['window_end']}, "
          f"{split.get('train_texts', split.get('train_reviews'))} distinct training texts before {split['test_cutoff_utc']}, "
          f"{split['test_reviews']} test reviews ({split.get('test_texts', '?')} distinct texts, none seen in training) after\n")
    print("per review:\n" + evaluate.comparison_markdown({k: v for k, v in metrics.items() if k in evaluate.SCORERS}))
    if "per_text" in metrics:
        print("\nper distinct text:\n" + evaluate.comparison_markdown(metrics["per_text"]))
    print("\nmodel, confusion matrix (rows: true rating):\n" + evaluate.confusion_markdown(metrics[evaluate.MODEL]))
    # the check's rule (checks.py) on the stored metrics, without importing the Dagster definitions
    scored = {k: v for k, v in metrics.items() if k in evaluate.SCORERS}
    wins = {m: evaluate.beats_baselines(scored, m) for m in (*evaluate.GATE_METRICS, "mae")}
    print(f"\nblocking check rating_model_beats_baselines: {'passed' if evaluate.passes_gate(scored) else 'FAILED'} "
          f"(the model beats every baseline on MAE^M: {'yes' if wins['mae_macro'] else 'no'}, on macro-F1: "
          f"{'yes' if wins['macro_f1'] else 'no'}; on plain MAE, not gated: {'yes' if wins['mae'] else 'no'})")
    sanity = metrics.get("sanity")
    if sanity:
        print(f"\nsanity set: {sanity['within_one_star']}/{sanity['items']} within one star; clear complaints <= 2 stars "
              f"{sanity['complaints_at_most_2']}/{sanity['complaints']}, clear praise >= 4 {sanity['praise_at_least_4']}/{sanity['praise']}")
    return 0


def evaluation_summary(month: str, metrics: dict) -> dict:
    """The stored evaluation, machine-readable: {"model": {mae_macro, macro_f1, mae, accuracy, recall_by_rating,
    confusion, ...}, "baselines":
    {name: {the same keys}}, "per_text": {the same layout}, "split", "sanity"}."""
    from amzn_assets.ml import evaluate

    def scores(results: dict) -> dict:
        keep = ("mae", "accuracy", "macro_f1", "mae_argmax", "reviews", "confusion")
        flat = {
            k: {m: v[m] for m in keep if m in v} | {"mae_macro": evaluate.mae_macro(v), "recall_by_rating": evaluate.recall_by_rating(v)}
            for k, v in results.items() if k in evaluate.SCORERS
        }
        return {"model": flat.get(evaluate.MODEL, {}), "baselines": {k: v for k, v in flat.items() if k != evaluate.MODEL}}

    sanity = {k: v for k, v in (metrics.get("sanity") or {}).items() if k != "predictions"}
    return {"partition": month, "split": metrics.get("split", {}), **scores(metrics),
            "per_text": scores(metrics.get("per_text", {})), "sanity": sanity}


@click.command(help="rate review texts with a trained rating_model (needs the ml extra); TEXT: review text(s), one rating each")
@click.argument("text", nargs=-1, required=True)
@click.option("--model", "wanted", metavar="PARTITION", help="rating_model month, e.g. 2018-05 (default: the latest stored)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per text")
@pass_settings
def predict(settings: Settings, text: tuple[str, ...], wanted: str | None, as_json: bool) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiets TensorFlow's C++ info lines (read by TensorFlow)
    # TensorFlow 2.21 announces its oneDNN kernels through absl on every import, whatever the level
    # above; a few texts gain nothing from those kernels (results may differ in the last bits).
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    store, month = stored_month(settings, "rating_model", "predict", wanted)
    if month is None:
        return 1
    try:
        from amzn_assets.ml.predict import RatingPredictor
    except ImportError as exc:
        print(f"amzn-assets predict: {exc}; install the ml extra: pip install '.[ml]'", file=sys.stderr)
        return 2
    predictor = RatingPredictor.load(store.get("rating_model", month))
    for one, prediction in zip(text, predictor.predict(list(text))):
        if as_json:
            import json

            print(json.dumps({"model": month, "text": one} | prediction.__dict__))
        else:
            print(f"{prediction.as_line()}  [model {month}]  {one[:60]}")
    return 0


COMMANDS = (predict, evaluation)
