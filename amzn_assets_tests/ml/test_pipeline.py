"""The model assets end to end on the real All Beauty excerpt, with the tiny config: a month's
tokenizer, model and evaluation (with its check), predictions, the cleanup rule, `amzn-assets predict`.

One module-scoped run: import the excerpt, materialize the review assets for the 12 months ending
2018-05, then the three model assets for 2018-05 with the default, growing window (every day up to
2018-05-31: the days never materialized read as no reviews, so the model sees those 12 months).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from amzn_assets_tests.needs import require_module

require_module("tensorflow")
require_module("sentencepiece")
require_module("sklearn")

import numpy as np
import pyarrow.parquet as pq
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    define_asset_job,
    build_sensor_context,
    materialize,
)

from amzn_assets.domains.rating_model import ml_resources, model_sensors, monthly_partitions
from amzn_assets_tests.deployment import ENV_SETTINGS, all_assets, ml_asset_checks, ml_assets, resources_for
from amzn_assets.landing.bulk import import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.ml import artifacts
from amzn_assets.data_dirs import DataDirs
from amzn_assets.backends.local.query import run_query

FIXTURES = Path(__file__).parents[1] / "fixtures"
MONTH = "2018-05"
MODEL_ASSETS = ["rating_tokenizer", "rating_model", "rating_model_evaluation"]
EVERYTHING = [*all_assets, *ml_assets, *ml_asset_checks]


WAREHOUSE_DAYS = ("2017-06-01", "2018-05-31")  # the reviews_fact days the fixture materializes


@dataclass
class Trained:
    dirs: DataDirs
    instance: DagsterInstance
    resources: dict
    check_evaluations: list

    @property
    def models(self) -> Path:
        return self.dirs.root / "models"

    def folder(self, asset: str, partition: str = MONTH) -> Path:
        return self.models / asset / partition

    def metadata(self, asset: str) -> dict:
        event = self.instance.get_latest_materialization_event(AssetKey(asset)).asset_materialization
        return {k: v.value for k, v in event.metadata.items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    dirs = DataDirs(tmp_path_factory.mktemp("ml-pipeline") / "data")
    import_dump(Lander(dirs), FIXTURES / "All_Beauty_5.json.gz", category="all_beauty")
    resources = resources_for("local", str(dirs.root)) | ml_resources("local", str(dirs.root), preset="tiny")
    assert ENV_SETTINGS.model_window_months == 0  # the default: the growing window
    window = {"dagster/asset_partition_range_start": WAREHOUSE_DAYS[0], "dagster/asset_partition_range_end": WAREHOUSE_DAYS[1]}
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, resources=resources, instance=instance, selection="*reviews_fact", tags=window).success
        # The blocking check fails the run when the tiny model does not beat both baselines: the
        # three assets are materialized either way (the check runs after the evaluation).
        result = materialize(EVERYTHING, resources=resources, instance=instance, selection=MODEL_ASSETS, partition_key=MONTH,
                             raise_on_error=False)
        assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == set(MODEL_ASSETS)
        yield Trained(dirs, instance, resources, result.get_asset_check_evaluations())


def test_tokenizer_is_trained_on_the_earlier_reviews_of_the_window(trained):
    tokenizer, info = artifacts.load_tokenizer_folder(trained.folder("rating_tokenizer"))
    assert info["window_start"] == "1996-05-01" and info["window_end"] == "2018-05-31"  # all history up to the month
    window = run_query(
        trained.dirs.warehouse,
        f"SELECT count(*) FROM reviews_fact WHERE review_date BETWEEN '{info['window_start']}' AND '2018-05-31'",
    ).rows[0][0]
    assert info["reviews"] == window > 500
    # distinct texts only (5-core repeats a review across variants); the test side (about 20%) is never seen
    assert 0.2 * window < info["train_texts"] < 0.9 * window
    assert tokenizer.vocab_size == trained.metadata("rating_tokenizer")["vocab_size"] <= 1000  # a soft limit on few texts
    text = "This shampoo smells great and my hair is soft."
    assert tokenizer.decode(tokenizer.encode([text])[0]) == tokenizer.normalize(text)


def test_model_folder_and_the_cleanup_rule(trained):
    folder = trained.folder("rating_model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.keras", "records", "tokenizer.model", "training.json"]
    training = json.loads((folder / "training.json").read_text())
    # 10 shards written, ceil(0.1 * 10) = 1 kept after training, the other 9 removed.
    assert [p.name for p in artifacts.kept_records(folder)] == ["train-00000-of-00010.tfrecord"]
    assert training["shards_written"] == 10 and training["shards_removed"] == 9
    meta = trained.metadata("rating_model")
    assert meta["tfrecord_shards_written"] == 10 and meta["tfrecord_shards_kept"] == 1
    assert meta["training_reviews"] + meta["validation_reviews"] == training["examples"]
    from amzn_assets.ml.records import read_examples

    kept = read_examples(artifacts.kept_records(folder))
    assert abs(len(kept) - training["examples"] / 10) <= 1
    assert all(time < training["test_cutoff"] for _, _, time in kept)  # no test review was ever written
    assert all(1 <= rating <= 5 for _, rating, _ in kept)


def test_evaluation_scores_every_scorer_per_review_per_text_and_the_sanity_set(trained):
    metrics = json.loads((trained.folder("rating_model_evaluation") / "metrics.json").read_text())
    model, majority, tfidf = metrics["model"], metrics["majority"], metrics["tfidf_lr"]
    assert model["reviews"] == majority["reviews"] == tfidf["reviews"] == metrics["lexicon"]["reviews"] == metrics["split"]["test_reviews"]
    assert {s: m["reviews"] for s, m in metrics["per_text"].items()} == {s: metrics["split"]["test_texts"] for s in ("model", "majority", "tfidf_lr", "lexicon")}
    assert metrics["split"]["test_texts"] <= metrics["split"]["test_reviews"]
    sanity = metrics["sanity"]
    assert sanity["items"] == len(sanity["predictions"]) >= 25 and 0 <= sanity["within_one_star"] <= sanity["items"]
    assert sum(map(sum, model["confusion"])) == model["reviews"]
    assert set(model) >= {"mae_macro", "macro_f1", "recall_by_rating", "accuracy", "mae", "confusion", "per_rating"}
    meta = trained.metadata("rating_model_evaluation")
    assert meta["model_mae"] == round(model["mae"], 4) and meta["majority_mae"] == round(majority["mae"], 4)
    assert meta["model_mae_macro"] == round(model["mae_macro"], 4) and meta["lexicon_macro_f1"] == round(metrics["lexicon"]["macro_f1"], 4)
    assert meta["majority_mae_macro"] == 2.0  # always the 5★ majority: MAE^M 2 on any test side holding all five ratings
    assert meta["model_recall_by_rating"] == model["recall_by_rating"]
    assert "| TF-IDF + logistic regression |" in meta["comparison"]
    assert "| true \\ predicted |" in meta["confusion_matrix"] and "| ★ |" in meta["per_rating"]


BASELINES = ("majority", "tfidf_lr", "lexicon")


def test_asset_checks_fail_unless_the_model_beats_every_baseline(trained):
    checks = {e.check_name: e for e in trained.check_evaluations}
    evaluation = checks["rating_model_beats_baselines"]
    metrics_path = trained.folder("rating_model_evaluation") / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    assert evaluation.partition == MONTH and evaluation.severity == AssetCheckSeverity.ERROR
    model = metrics["model"]
    assert evaluation.passed == (model["mae_macro"] < min(metrics[b]["mae_macro"] for b in BASELINES)
                                 and model["macro_f1"] > max(metrics[b]["macro_f1"] for b in BASELINES))
    assert evaluation.metadata["model_mae"].value == round(model["mae"], 4)  # plain MAE: reported beside them
    # The tiny bag model on the growing window up to 2018-05 (docs/model.md: "history")
    assert evaluation.passed, evaluation.description
    sanity = checks["rating_model_sanity"]
    assert sanity.severity == AssetCheckSeverity.WARN and sanity.passed == (metrics["sanity"]["within_one_star_share"] >= 0.8)

    original = metrics_path.read_text()
    try:  # a model worse than a baseline: the checks alone, on the stored evaluation
        metrics["model"]["mae_macro"] = min(metrics[b]["mae_macro"] for b in BASELINES) + 0.25
        metrics_path.write_text(json.dumps(metrics))
        check_job = define_asset_job(
            "check_only", selection=AssetSelection.checks(*ml_asset_checks), partitions_def=monthly_partitions
        )
        defs = Definitions(
            assets=[*all_assets, *ml_assets], asset_checks=ml_asset_checks, jobs=[check_job], resources=trained.resources
        )
        job = defs.resolve_job_def("check_only")
        result = job.execute_in_process(instance=trained.instance, tags={"dagster/partition": MONTH}, raise_on_error=False)
        worse = {e.check_name: e for e in result.get_asset_check_evaluations()}["rating_model_beats_baselines"]
        assert worse.passed is False and worse.severity == AssetCheckSeverity.ERROR
        assert worse.metadata["mae_macro_margin"].value == pytest.approx(-0.25, abs=1e-3)
        # ... and rating_predictions refuses that month's model
        refused = materialize(EVERYTHING, resources=trained.resources, instance=trained.instance, selection=["rating_predictions"],
                              partition_key="2018-05-01", raise_on_error=False)
        assert not refused.success
    finally:
        metrics_path.write_text(original)


@pytest.fixture
def passing_evaluation(trained):
    """The stored evaluation made to pass the blocking check (whatever the tiny model scored)."""
    metrics_path = trained.folder("rating_model_evaluation") / "metrics.json"
    original = metrics_path.read_text()
    metrics = json.loads(original)
    metrics["model"]["mae_macro"] = min(metrics[b]["mae_macro"] for b in BASELINES) - 0.01
    metrics["model"]["macro_f1"] = max(metrics[b]["macro_f1"] for b in BASELINES) + 0.01
    metrics_path.write_text(json.dumps(metrics))
    yield
    metrics_path.write_text(original)


def test_rating_predictions_score_every_review_of_a_range(trained, passing_evaluation):
    tags = {"dagster/asset_partition_range_start": "2018-05-01", "dagster/asset_partition_range_end": "2018-05-31"}
    result = materialize(EVERYTHING, resources=trained.resources, instance=trained.instance, selection=["rating_predictions"], tags=tags)
    assert result.success
    fact = dict(
        run_query(trained.dirs.warehouse, "SELECT review_date, count(*) FROM reviews_fact WHERE review_date >= '2018-05-01' GROUP BY 1").rows
    )
    day = dt.date(2018, 5, 1)
    while day <= dt.date(2018, 5, 31):
        table = pq.read_table(trained.folder("rating_predictions", day.isoformat()) / "predictions.parquet")
        assert table.num_rows == fact.get(day, 0), day
        day += dt.timedelta(days=1)
    busiest = max(fact, key=fact.get).isoformat()
    rows = pq.read_table(trained.folder("rating_predictions", busiest) / "predictions.parquet").to_pylist()
    reviews = run_query(trained.dirs.warehouse, f"SELECT review_id FROM reviews_fact WHERE review_date = '{busiest}'").rows
    assert sorted(r["review_id"] for r in rows) == sorted(r for (r,) in reviews)  # each review scored once
    from amzn_assets.ml.predict import RatingPredictor

    predictor = RatingPredictor.load(trained.folder("rating_model"))
    weights = predictor.decision_weights
    assert weights is not None and len(weights) == 5  # the rating is decided under class-balanced costs
    assert predictor.decision.cuts is not None and len(predictor.decision.cuts) == 4  # on the cumulative balanced p
    for row in rows:
        probabilities = [row[f"p_{k}"] for k in range(1, 6)]
        assert row["model_partition"] == MONTH and sum(probabilities) == pytest.approx(1.0, abs=1e-4)
        balanced = np.array(probabilities) * weights
        below = np.cumsum(balanced / balanced.sum())[:4]
        assert row["predicted_rating"] == 1 + int(np.sum(below < predictor.decision.cuts))
        assert row["expected_rating"] == pytest.approx(sum(k * p for k, p in zip(range(1, 6), probabilities)), abs=1e-3)
    meta = trained.metadata("rating_predictions")
    assert meta["rows"] == sum(fact.values()) and meta["model_partition"] == MONTH

    chosen = materialize(
        EVERYTHING, resources=trained.resources, instance=trained.instance, selection=["rating_predictions"],
        partition_key=busiest, run_config={"ops": {"rating_predictions": {"config": {"model_partition": MONTH}}}},
    )
    assert chosen.success
    again = pq.read_table(trained.folder("rating_predictions", busiest) / "predictions.parquet").to_pylist()
    assert [r["expected_rating"] for r in again] == pytest.approx([r["expected_rating"] for r in rows], abs=1e-5)

    missing = materialize(
        EVERYTHING, resources=trained.resources, instance=trained.instance, selection=["rating_predictions"],
        partition_key=busiest, run_config={"ops": {"rating_predictions": {"config": {"model_partition": "2011-01"}}}},
        raise_on_error=False,
    )
    assert not missing.success


def test_cli_predict(trained, capsys):
    from amzn_assets.cli import main

    texts = ["Arrived broken and leaking, smells awful. Returning it.", "Love it! My skin has never felt this soft."]
    assert main(["--data-dir", str(trained.dirs.root), "predict", "--model", MONTH, "--json", *texts]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == texts and {line["model"] for line in lines} == {MONTH}
    for line in lines:
        assert 1 <= line["rating"] <= 5 and sum(line["probabilities"]) == pytest.approx(1.0, abs=1e-4)

    assert main(["--data-dir", str(trained.dirs.root), "predict", "great"]) == 0  # the latest stored month
    out = capsys.readouterr().out
    assert f"[model {MONTH}]" in out and "expected" in out

    assert main(["--data-dir", str(trained.dirs.root), "predict", "--model", "2011-01", "great"]) == 1
    assert "no rating_model 2011-01" in capsys.readouterr().err

    # As a user runs it: a rating on stdout, and no TensorFlow chatter on stderr.
    cli = Path(sys.executable).with_name("amzn-assets")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # what the CLI sets itself
    done = subprocess.run([str(cli), "--data-dir", str(trained.dirs.root), "predict", "--json", "great"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["rating"] in range(1, 6)
    assert "oneDNN" not in done.stderr and "absl" not in done.stderr, done.stderr


def test_cli_evaluation_prints_the_stored_comparison(trained, capsys):
    from amzn_assets.cli import main

    metrics = json.loads((trained.folder("rating_model_evaluation") / "metrics.json").read_text())
    assert main(["--data-dir", str(trained.dirs.root), "evaluation", "--model", MONTH]) == 0
    out = capsys.readouterr().out
    assert f"rating model {MONTH}: window" in out and "| true \\ predicted |" in out
    for scorer, label in (("majority", "majority class"), ("model", "rating model")):
        m = metrics[scorer]
        assert f"| {label} | {m['mae_macro']:.3f} | {m['macro_f1']:.3f} | {m['mae']:.3f} | {m['accuracy']:.3f} |" in out
    assert "blocking check rating_model_beats_baselines: " in out
    assert "per distinct text:" in out and "sanity set:" in out
    assert main(["--data-dir", str(trained.dirs.root), "evaluation", "--model", MONTH, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"]["mae"] == metrics["model"]["mae"]
    assert set(summary["baselines"]) == {"majority", "tfidf_lr", "lexicon"}
    assert summary["model"]["mae_macro"] == metrics["model"]["mae_macro"]
    assert summary["baselines"]["majority"]["confusion"] == metrics["majority"]["confusion"]
    for scores in [summary["model"], *summary["baselines"].values(), summary["per_text"]["model"]]:
        assert {"mae_macro", "macro_f1", "mae", "accuracy", "recall_by_rating", "confusion"} <= set(scores)
        assert set(scores["recall_by_rating"]) == {"1", "2", "3", "4", "5"} and len(scores["confusion"]) == 5
    assert main(["--data-dir", str(trained.dirs.root), "evaluation", "--model", "2011-01"]) == 1
    assert "no rating_model_evaluation 2011-01" in capsys.readouterr().err



def test_rating_model_sensor_trains_the_month_the_reviews_moved_past(trained):
    """rating_model_sensor on the instance's real reviews_fact events (kept last: it materializes June
    days): the window up to 2018-05-31 closes 2018-04; June days close 2018-05; a repeated tick asks
    nothing; a late May day retrains 2018-05; a re-materialized March day retrains nothing."""
    rating_model_sensor = model_sensors(ENV_SETTINGS)[0]

    def tick(cursor):
        with build_sensor_context(instance=trained.instance, cursor=cursor) as context:
            result = rating_model_sensor(context)
            requests = [r.partition_key for r in (getattr(result, "run_requests", None) or [])]
            return requests, getattr(result, "cursor", None) or cursor  # a SkipReason keeps the cursor

    def reviews(**kwargs):
        assert materialize(all_assets, resources=trained.resources, instance=trained.instance,
                           selection="*reviews_fact", **kwargs).success

    requested, cursor = tick(None)
    assert requested == ["2018-04"] and json.loads(cursor)["frontier"] == "2018-05-31"
    reviews(tags={"dagster/asset_partition_range_start": "2018-06-01", "dagster/asset_partition_range_end": "2018-06-10"})
    requested, cursor = tick(cursor)
    assert requested == [MONTH] and json.loads(cursor)["frontier"] == "2018-06-10"
    assert tick(cursor)[0] == []
    reviews(partition_key="2018-05-12")
    requested, cursor = tick(cursor)
    assert requested == [MONTH]
    reviews(partition_key="2018-03-02")
    requested, cursor = tick(cursor)
    assert requested == [] and json.loads(cursor)["frontier"] == "2018-06-10"
