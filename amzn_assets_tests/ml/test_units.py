"""The rating model's parts, one at a time: config, split, tokenizer, TFRecords, cleanup rule, model
save/load, artifact storage (local and S3), the asset check's rule, and the import boundary."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from amzn_assets.ml.config import ALBERT, FULL, TINY, TINY_ALBERT, ModelConfig, preset
from amzn_assets.ml.data import Reviews, time_cutoff
from amzn_assets_tests.needs import require_module

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def beauty() -> Reviews:
    from amzn_assets.sources.dumps import iter_review_dump

    tables = [r.table for r in iter_review_dump(FIXTURES / "All_Beauty_5.json.gz", category="all_beauty", source="All_Beauty_5.json.gz")]
    return Reviews.from_table(pa.concat_tables(tables))


def test_the_code_location_imports_without_tensorflow_sentencepiece_or_sklearn():
    code = (
        "import sys; import amzn_assets.definitions, amzn_assets.domains.rating_model, amzn_assets.ml.config, amzn_assets.ml.data, "
        "amzn_assets.storage.artifacts, amzn_assets.cli; "
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'sentencepiece', 'sklearn') if m in sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, timeout=120)


def test_config_presets_and_validation():
    assert preset("full") == FULL and preset("tiny") == TINY and preset("tiny_albert") == TINY_ALBERT
    assert FULL.architecture == TINY.architecture == "bag" and ALBERT.architecture == TINY_ALBERT.architecture == "albert"
    assert TINY_ALBERT.embedding_size < TINY_ALBERT.hidden_size and ALBERT.embedding_size < ALBERT.hidden_size  # factorized
    assert FULL.keep_fraction == 0.1
    assert FULL.output == TINY.output == "ordinal" and FULL.decision_cuts == TINY.decision_cuts == (0.25, 0.25, 0.3, 0.45)
    assert ModelConfig.from_dict({"decision_cuts": [0.5, 0.5, 0.5, 0.5]}).decision_cuts == (0.5,) * 4  # as read from config.json
    with pytest.raises(ValueError, match="decision_cuts"):
        ModelConfig(decision_cuts=(0.5, 0.5))
    with pytest.raises(ValueError, match="unknown output"):
        ModelConfig(output="poisson")
    assert ModelConfig.from_dict(TINY.to_dict() | {"from_a_newer_version": 1}) == TINY
    with pytest.raises(ValueError, match="multiple of num_heads"):
        ModelConfig(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="keep_fraction"):
        ModelConfig(keep_fraction=1.5)
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("huge")
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelConfig(architecture="lstm")


def test_settings_resource_overrides_a_preset():
    from amzn_assets.domains.rating_model import RatingModelSettings

    config = RatingModelSettings(preset="tiny", epochs=3, keep_fraction=0.0).hyperparameters()
    assert config == TINY.replace(epochs=3, keep_fraction=0.0)


def test_time_split_is_ordered_and_keeps_ties_together(beauty):
    assert np.all(np.diff(beauty.times) >= 0)
    cutoff = time_cutoff(beauty.times, 0.2)
    train, test = beauty.before(cutoff), beauty.from_time(cutoff)
    assert len(train) + len(test) == len(beauty)
    assert train.times.max() < cutoff <= test.times.min()  # every training review is older than every test review
    assert 0.15 < len(test) / len(beauty) < 0.25
    ties = time_cutoff(np.array([5, 5, 5, 9]), 0.9)  # the cut never splits equal times
    assert ties == 9
    with pytest.raises(ValueError, match="distinct review times"):
        time_cutoff(np.array([7, 7, 7]), 0.2)


def test_review_texts_from_a_fact_table():
    table = pa.table(
        {
            "review_text": ["fine", None, "awful"],
            "summary": ["Five Stars", "ok", None],
            "rating": pa.array([5, 3, 1], pa.int8()),
            "review_time": pa.array([dt.datetime(2018, 1, d, tzinfo=dt.UTC) for d in (3, 1, 2)], pa.timestamp("s", tz="UTC")),
        }
    )
    reviews = Reviews.from_table(table)
    assert reviews.texts == ["", "awful", "fine"] and reviews.ratings.tolist() == [3, 1, 5]
    assert Reviews.from_table(table, use_summary=True).texts == ["ok. ", "awful", "Five Stars. fine"]
    tied = pa.table({"review_text": ["b", "a", "c", "a"], "summary": [None] * 4, "rating": pa.array([1, 5, 3, 2], pa.int8()),
                     "review_time": pa.array([dt.datetime(2018, 1, 1, tzinfo=dt.UTC)] * 4, pa.timestamp("s", tz="UTC"))})
    first = Reviews.from_table(tied)
    assert first.texts == ["a", "a", "b", "c"] and first.ratings.tolist() == [2, 5, 1, 3]
    assert Reviews.from_tables([tied.slice(2), tied.slice(0, 2)]).texts == first.texts  # any storage order, same order


@pytest.mark.parametrize(
    ("shards", "fraction", "kept"),
    [(10, 0.1, 1), (10, 0.0, 0), (10, 1.0, 10), (10, 0.25, 3), (10, 0.3, 3), (1, 0.1, 1), (3, 0.5, 2), (20, 0.1, 2)],
)
def test_cleanup_rule_keeps_ceil_fraction_of_the_shards(shards, fraction, kept):
    from amzn_assets.ml.records import kept_shard_count

    assert kept_shard_count(shards, fraction) == kept


def test_prune_removes_all_but_the_kept_shards(tmp_path):
    from amzn_assets.ml.records import prune, shard_name

    paths = [tmp_path / shard_name("train", i, 10) for i in range(10)]
    for p in paths:
        p.write_bytes(b"x" * 10)
    result = prune(paths, 0.1)
    assert [p.name for p in result.kept] == ["train-00000-of-00010.tfrecord"] and len(result.removed) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-00000-of-00010.tfrecord"]
    assert prune(result.kept, 0.0).kept == [] and not any(tmp_path.iterdir())


def test_the_gate_needs_the_model_to_beat_every_baseline_on_mae_macro_and_macro_f1():
    from dagster import AssetCheckSeverity

    from amzn_assets.domains.rating_model import beats_baselines_check_result, refused_model, sanity_check_result

    def scores(mae_macro, f1, mae=0.9):
        return {"mae_macro": mae_macro, "macro_f1": f1, "mae": mae}

    def metrics(model, tfidf=(2.0, 0.15), lexicon=(1.6, 0.23), majority=(2.0, 0.15), model_mae=1.1):
        return {"model": scores(*model, mae=model_mae), "tfidf_lr": scores(*tfidf), "lexicon": scores(*lexicon),
                "majority": scores(*majority, mae=0.8)}

    passing = beats_baselines_check_result(metrics((0.9, 0.30)))
    # plain MAE worse than majority's (1.1 > 0.8): reported, not gated
    assert passing.passed is True and passing.severity == AssetCheckSeverity.ERROR
    assert passing.metadata["plain_mae_beats_baselines"].value is False and "MAE (reported, not gated)" in passing.description
    assert passing.metadata["mae_macro_margin"].value == pytest.approx(0.7) and passing.metadata["macro_f1_margin"].value == pytest.approx(0.07)
    lexicon_f1 = beats_baselines_check_result(metrics((0.9, 0.22)))  # the lexicon baseline counts
    assert lexicon_f1.passed is False and "macro-F1 (best baseline lexicon)" in lexicon_f1.description
    assert "does not beat every baseline" in lexicon_f1.description
    assert beats_baselines_check_result(metrics((1.6, 0.30))).passed is False  # a tie on MAE^M does not beat
    assert beats_baselines_check_result(metrics((0.9, 0.30), majority=(0.8, 0.1))).passed is False
    # an evaluation stored before MAE^M was recorded: it comes from the confusion matrix (always 5★: 2.0)
    old = metrics((None, 0.30))
    old["model"]["confusion"] = [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 5]]
    assert beats_baselines_check_result(old).metadata["model_mae_macro"].value == pytest.approx(0.2)
    assert sanity_check_result({"sanity": {"within_one_star_share": 0.79}}).passed is False
    assert sanity_check_result({"sanity": {"within_one_star_share": 0.8}}).severity == AssetCheckSeverity.WARN
    assert refused_model(type("Store", (), {"exists": lambda self, *a: False})(), "2018-05") is None


def test_mae_macro_recall_and_confusion_of_a_skewed_test_side():
    from amzn_assets.ml.evaluate import mae_macro_of_confusion, passes_gate, rating_metrics

    ratings = [1] * 4 + [3] * 2 + [5] * 14
    always_5 = np.zeros((20, 5))
    always_5[:, 4] = 1.0
    m = rating_metrics(ratings, always_5)
    # MAE^M: the mean over the true ratings present (1, 3, 5) of their mean error (4, 2, 0); plain MAE 1.0
    assert m["mae_macro"] == pytest.approx(2.0) and m["mae"] == pytest.approx(1.0)
    assert m["recall_by_rating"] == {"1": 0.0, "2": None, "3": 0.0, "4": None, "5": 1.0}
    assert m["confusion"][0] == [0, 0, 0, 0, 4] and sum(map(sum, m["confusion"])) == 20
    right = np.eye(5)[np.asarray(ratings) - 1]
    right[0] = [0, 1, 0, 0, 0]  # one 1★ read as 2★
    good = rating_metrics(ratings, right)
    assert good["mae_macro"] == pytest.approx((1 / 4) / 3) and good["recall_by_rating"]["1"] == 0.75
    assert mae_macro_of_confusion(good["confusion"]) == pytest.approx(good["mae_macro"])
    assert passes_gate({"model": good, "majority": m}) and not passes_gate({"model": m, "majority": good})


def test_decision_rule_median_and_tuned_cuts():
    from amzn_assets.ml.predict import DecisionRule, decide_by_cuts, most_likely_and_expected
    from amzn_assets.ml.train import decision_objective, fit_decision_cuts

    p = np.array([[0.3, 0.25, 0.05, 0.1, 0.3], [0.05, 0.1, 0.2, 0.3, 0.35]])
    assert decide_by_cuts(p, [0.5] * 4).tolist() == [2, 4]  # the median rating
    assert DecisionRule().decide(p).tolist() == [1, 5]  # no cuts: the most likely rating (ties: the lower)
    weights = np.array([1.0, 1.0, 1.0, 1.0, 0.1])
    assert DecisionRule(weights).decide(p).tolist() == [1, 4]  # the balanced p's argmax
    assert most_likely_and_expected(p, weights)[0].tolist() == [1, 4]  # plain weights still work
    # tuned cuts: on scores that put the truth just past the median, fit_decision_cuts finds cuts that read it
    rng = np.random.RandomState(0)
    y = rng.randint(1, 6, 300)
    centered = np.clip(y + rng.normal(0, 0.3, 300) - 0.4, 1, 5)
    balanced = np.exp(-((np.arange(1, 6)[None, :] - centered[:, None]) ** 2))
    balanced /= balanced.sum(axis=1, keepdims=True)
    cuts = fit_decision_cuts(balanced, y)
    assert decision_objective(y, decide_by_cuts(balanced, cuts)) >= decision_objective(y, decide_by_cuts(balanced, [0.5] * 4))
    assert decision_objective(y, y) == pytest.approx(1.0)


def test_distinct_text_split_never_scores_a_training_text():
    import numpy as np

    from amzn_assets.ml.data import Reviews, distinct_cutoff, distinct_texts, split_distinct

    texts = ["a", "a", "b", "c", "c", "c", "d", "a", "e"]
    reviews = Reviews(texts, np.array([5, 5, 1, 4, 4, 3, 2, 5, 5]), np.arange(len(texts), dtype=np.int64))
    distinct = distinct_texts(reviews)
    assert distinct.texts == ["a", "b", "c", "d", "e"] and distinct.ratings.tolist() == [5, 1, 4, 2, 5]
    split = split_distinct(reviews, distinct_cutoff(reviews, 0.4))
    assert split.train.texts == ["a", "b", "c"] and split.test_distinct.texts == ["d", "e"]
    assert split.test.texts == ["d", "e"]  # the late repeat of "a" is a training text: never scored


def test_lexicon_features_and_the_sanity_report():
    import numpy as np

    from amzn_assets.ml.evaluate import sanity_report, sanity_set
    from amzn_assets.ml.lexicon import lexicon_features

    features = lexicon_features(["Terrible quality, it broke.", "I love it, wonderful!"])
    assert features.shape == (2, 4) and features[0, 3] < 0 < features[1, 3]
    mixed = lexicon_features(["Lovely scent, great price. But it dried my hair badly, terrible.", "I love it, wonderful!"], sentences=True)
    assert mixed.shape == (2, 7) and mixed[0, 4] < 0 < mixed[0, 5]  # the sentences' lowest and highest compound score
    assert mixed[1, 4] == mixed[1, 5] == mixed[1, 3]  # one sentence: the text's own score
    items = sanity_set()
    assert len(items) >= 25 and {i["kind"] for i in items} == {"complaint", "praise", "lukewarm"}
    p = np.zeros((len(items), 5))
    p[np.arange(len(items)), [i["rating"] - 1 for i in items]] = 1.0
    report = sanity_report(p, items)
    assert report["within_one_star"] == report["items"] and report["complaints_at_most_2"] == report["complaints"]


def test_training_window_maps_a_month_to_its_trailing_days():
    from amzn_assets.domains.rating_model import monthly_partitions, training_window
    from amzn_assets.wiring.partitions import daily_partitions

    def days(month, months):
        result = training_window(months).get_upstream_mapped_partitions_result_for_partitions(
            monthly_partitions.subset_with_partition_keys([month]), monthly_partitions, daily_partitions
        )
        keys = sorted(result.partitions_subset.get_partition_keys())
        return keys[0], keys[-1], len(keys)

    assert days("2018-05", 12) == ("2017-06-01", "2018-05-31", 365)
    assert days("2018-05", 1) == ("2018-05-01", "2018-05-31", 31)
    assert days("1996-06", 12) == ("1996-05-01", "1996-06-30", 61)  # before the first review day: nothing required
    # 0, the default: the growing window, every day from the first review day to the month's end
    assert days("2018-05", 0) == ("1996-05-01", "2018-05-31", 8066)
    assert days("1996-05", 0) == ("1996-05-01", "1996-05-31", 31)
    with pytest.raises(ValueError, match="all history"):
        training_window(-1)


# --- artifact storage -----------------------------------------------------------------------------


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _roundtrip(store, tmp_path):
    from amzn_assets.storage.artifacts import stage

    assert store.partitions("rating_model") == [] and store.latest("rating_model") is None
    first = _folder(stage("test"), {"model.keras": b"one", "records/a.tfrecord": b"aa", "old.json": b"{}"})
    store.put("rating_model", "2018-04", first, move=True)
    assert not first.exists()  # a staged folder is consumed
    second = _folder(tmp_path / "second", {"model.keras": b"two", "records/b.tfrecord": b"bb"})
    store.put("rating_model", "2018-05", second)
    assert second.exists()
    store.put("rating_model", "2018-04", _folder(tmp_path / "again", {"model.keras": b"three"}))  # replaced whole
    assert store.partitions("rating_model") == ["2018-04", "2018-05"] and store.latest("rating_model") == "2018-05"
    got = store.get("rating_model", "2018-04")
    assert sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file()) == ["model.keras"]
    assert (got / "model.keras").read_bytes() == b"three"
    got = store.get("rating_model", "2018-05")
    assert (got / "records" / "b.tfrecord").read_bytes() == b"bb"
    assert store.exists("rating_model", "2018-05") and not store.exists("rating_model", "2018-06")
    with pytest.raises(FileNotFoundError, match="no rating_model artifacts for partition 2018-06"):
        store.get("rating_model", "2018-06")


def test_artifact_store_on_local_disk(tmp_path):
    from amzn_assets.domains.rating_model import MODEL_IO_MANAGER, ml_resources

    base = ml_resources("local", str(tmp_path / "data"))[MODEL_IO_MANAGER].base_path
    assert base == str(tmp_path / "data" / "models")
    from amzn_assets.storage.artifacts import ArtifactStore

    store = ArtifactStore(base)
    _roundtrip(store, tmp_path)
    assert (tmp_path / "data" / "models" / "rating_model" / "2018-04" / "model.keras").exists()
    assert not [p for p in (tmp_path / "data" / "models" / "rating_model").iterdir() if p.name.startswith(".")]


def test_artifact_store_on_s3(s3_server, monkeypatch, tmp_path):
    import boto3

    from amzn_assets.domains.rating_model import MODEL_IO_MANAGER, ml_resources

    for name, value in {
        "AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    if "amzn-models" not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket="amzn-models")
    io_manager = ml_resources("s3", str(tmp_path / "data"), "s3://amzn-models/lake/")[MODEL_IO_MANAGER]
    assert io_manager.base_path == "s3://amzn-models/lake/models"
    _roundtrip(io_manager.store(), tmp_path)
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="amzn-models", Prefix="lake/models/").get("Contents", []))
    assert keys == [
        "lake/models/rating_model/2018-04/model.keras",
        "lake/models/rating_model/2018-05/model.keras",
        "lake/models/rating_model/2018-05/records/b.tfrecord",
    ]
    assert not (tmp_path / "data" / "models").exists()


# --- tokenizer, TFRecords, model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(beauty):
    require_module("sentencepiece")
    from amzn_assets.ml.tokenizer import Tokenizer

    return Tokenizer.train(beauty.texts[:2000], vocab_size=500, seed=7)


def test_tokenizer_trains_deterministically_and_round_trips(beauty, tokenizer, tmp_path):
    from amzn_assets.ml.tokenizer import CLS_ID, PAD_ID, Tokenizer

    assert tokenizer.vocab_size == 500
    assert Tokenizer.train(beauty.texts[:2000], vocab_size=500, seed=7).model_proto == tokenizer.model_proto
    texts = [t for t in beauty.texts[:2000] if t.isascii() and t.strip()][:300]
    for text, ids in zip(texts, tokenizer.encode(texts)):
        assert ids[0] == CLS_ID and PAD_ID not in ids
        assert tokenizer.decode(ids) == tokenizer.normalize(text)  # lossless up to NFKC + case folding
    assert tokenizer.normalize("Smells  GREAT!") == "smells great!"
    assert all(len(ids) <= 16 for ids in tokenizer.encode(texts, max_len=16))
    loaded = Tokenizer.load(tokenizer.save(tmp_path).parent)
    assert loaded.encode(texts[:20]) == tokenizer.encode(texts[:20])
    with pytest.raises(ValueError, match="no text"):
        Tokenizer.train(["", "  "], vocab_size=100)


def test_tfrecords_read_back_equal_to_what_was_written(beauty, tokenizer, tmp_path):
    require_module("tensorflow")
    from amzn_assets.ml import records

    reviews = beauty.select(np.arange(len(beauty)) < 257)
    ids = tokenizer.encode(reviews.texts, max_len=64)
    paths = records.write_shards(tmp_path, ids, reviews.ratings, reviews.times, num_shards=4)
    assert [p.name for p in paths] == [records.shard_name("train", i, 4) for i in range(4)]
    back = records.read_examples(paths)
    written = [(list(i), int(r), int(t)) for i, r, t in zip(ids, reviews.ratings, reviews.times)]
    assert sorted(back) == sorted(written) and len(back) == 257
    assert records.read_examples(paths[:1]) == written[0::4]  # round-robin: each shard an even sample
    assert records.write_shards(tmp_path / "one", [[2, 5]], [4], None, num_shards=10)[0].name == "train-00000-of-00001.tfrecord"

    shapes, labels = set(), []
    for x, y in records.batches(paths, max_len=64, batch_size=32):
        shapes.add(int(x.shape[1]))
        labels.extend(y.numpy().tolist())
        assert x.shape[0] <= 32
    assert shapes <= set(records.length_buckets(64)) and sorted(labels) == sorted((reviews.ratings - 1).tolist())
    assert records.pad([[2, 7, 8], [2]], 64).tolist() == [[2, 7, 8] + [0] * 13, [2] + [0] * 15]


def test_albert_model_shares_its_layers_and_saves_and_loads(tmp_path):
    require_module("tensorflow")
    from amzn_assets.ml.model import build_model, load_model

    config = TINY_ALBERT.replace(dropout=0.0)
    model = build_model(config, vocab_size=500)
    deeper = build_model(config.replace(num_layers=6), vocab_size=500)
    assert deeper.count_params() == model.count_params()  # L layers, one set of weights
    embedding = model.get_layer("embedding")
    assert embedding.tokens.embeddings.shape == (500, config.embedding_size)  # V x E, then E -> H
    assert embedding.project.kernel.shape == (config.embedding_size, config.hidden_size)
    x = np.random.RandomState(0).randint(4, 500, size=(8, 16)).astype("int32")
    x[:, 10:] = 0
    lexicon = np.random.RandomState(1).uniform(-1, 1, size=(8, 4)).astype("float32")
    p = np.asarray(model.predict_on_batch({"ids": x, "lexicon": lexicon}))
    assert p.shape == (8, 5) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    model.save(str(tmp_path / "model.keras"))
    assert np.allclose(np.asarray(load_model(tmp_path / "model.keras").predict_on_batch({"ids": x, "lexicon": lexicon})), p, atol=1e-6)
    # Padding does not change a review's prediction.
    assert np.allclose(np.asarray(model.predict_on_batch({"ids": x[:, :10], "lexicon": lexicon})), p, atol=1e-5)
    # Without the lexicon input (lexicon_features=False): ids alone.
    plain = build_model(config.replace(lexicon_features=False), vocab_size=500)
    assert np.asarray(plain.predict_on_batch(x)).shape == (8, 5)


def test_bag_model_is_tfidf_of_the_pieces_and_saves_and_loads(tmp_path):
    require_module("tensorflow")
    from amzn_assets.ml.model import build_model, load_model, piece_idf

    ids = [[2, 5, 5, 7], [2, 7, 9], [2, 9]]
    idf = piece_idf(ids, 12)
    # scikit-learn's smooth idf over the three texts; pad, [CLS] and EOS weigh nothing
    assert np.allclose(idf[[5, 7, 9, 11]], [np.log(4 / 2) + 1, np.log(4 / 3) + 1, np.log(4 / 3) + 1, np.log(4 / 1) + 1])
    assert idf[0] == idf[2] == idf[3] == 0.0
    model = build_model(TINY.replace(output="softmax"), vocab_size=12, idf=idf, l2=1e-3)
    tfidf = model.get_layer("piece_tfidf")
    x = np.array([[2, 5, 5, 7, 0, 0], [2, 9, 0, 0, 0, 0]], dtype="int32")
    features = np.asarray(tfidf(x))
    expected = np.zeros(12)
    expected[5], expected[7] = (1 + np.log(2)) * idf[5], idf[7]
    assert np.allclose(features[0], expected / np.linalg.norm(expected), atol=1e-6)  # (1 + log count) * idf, L2-normalized
    assert np.allclose(features[1, 9], 1.0)
    lexicon = np.array([[0.0, 0.5, 0.5, 0.8], [0.7, 0.3, 0.0, -0.9]], dtype="float32")
    p = np.asarray(model.predict_on_batch({"ids": x, "lexicon": lexicon}))
    assert p.shape == (2, 5) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.asarray(model.predict_on_batch({"ids": x[:, :4], "lexicon": lexicon})), p, atol=1e-6)  # padding is ignored
    model.save(str(tmp_path / "model.keras"))
    loaded = load_model(tmp_path / "model.keras")
    assert np.allclose(np.asarray(loaded.get_layer("piece_tfidf").idf), idf)  # the idf travels with the model
    assert np.allclose(np.asarray(loaded.predict_on_batch({"ids": x, "lexicon": lexicon})), p, atol=1e-6)
    assert model.count_params() == 12 + (12 + 4) * 5 + 5  # idf (not trained) + one softmax layer


def test_ordinal_output_is_a_cumulative_link_and_saves_and_loads(tmp_path):
    require_module("tensorflow")
    from amzn_assets.ml.model import build_model, decision_rule, load_model, with_decision_cuts, with_prior_shift

    config = TINY.replace(output="ordinal")
    model = build_model(config, vocab_size=12, idf=np.ones(12, np.float32), l2=1e-3)
    assert model.count_params() == 12 + (12 + 4) + 4  # idf, one score weight per feature, four cut-points
    link = model.get_layer("rating")
    cuts = np.asarray(link.cut_points())
    assert np.allclose(cuts, [-1.5, -0.5, 0.5, 1.5], atol=1e-3) and np.all(np.diff(cuts) > 0)  # ordered
    x = {"ids": np.array([[2, 5, 7], [2, 9, 0]], dtype="int32"), "lexicon": np.array([[0, 1, 0, 0], [0.5, 0, 0.5, -0.2]], "float32")}
    p = np.asarray(model.predict_on_batch(x))
    score = np.asarray(keras_score(model, x))
    below = 1 / (1 + np.exp(-(cuts[None, :] - score)))  # p(rating <= k) = sigmoid(cut_k - s)
    assert np.allclose(np.cumsum(p, axis=1)[:, :4], below, atol=1e-5) and np.allclose(p.sum(axis=1), 1.0, atol=1e-6)
    served = with_decision_cuts(with_prior_shift(model, np.log(np.array([0.1, 0.1, 0.1, 0.2, 0.5], np.float32))), [0.5, 0.4, 0.6, 0.5])
    served.save(str(tmp_path / "model.keras"))
    loaded = load_model(tmp_path / "model.keras")
    assert np.allclose(np.asarray(loaded.predict_on_batch(x)), np.asarray(served.predict_on_batch(x)), atol=1e-6)
    rule = decision_rule(loaded)
    assert np.allclose(rule.cuts, [0.5, 0.4, 0.6, 0.5]) and rule.weights is not None
    assert decision_rule(model).cuts is None and decision_rule(model).weights is None


def keras_score(model, x):
    import keras

    return keras.Model(model.inputs, model.get_layer("rating_score").output).predict_on_batch(x)


def test_prior_shift_serves_calibrated_p_and_decides_on_the_balanced_one(tmp_path):
    require_module("tensorflow")
    from amzn_assets.ml.model import build_model, decision_weights, load_model, with_prior_shift
    from amzn_assets.ml.predict import most_likely_and_expected
    from amzn_assets.ml.train import prior_log_shift

    ratings = np.array([5] * 80 + [4] * 10 + [1] * 10)
    shift = prior_log_shift(ratings, 0.5)
    assert np.allclose(shift, 0.5 * np.log(np.array([10, 1, 1, 10, 80]) / 102))  # an unseen rating counts once
    assert prior_log_shift(ratings, 0.0) is None
    balanced = build_model(TINY, vocab_size=12, idf=np.ones(12, np.float32))
    assert decision_weights(balanced) is None
    served = with_prior_shift(balanced, shift)
    x = {"ids": np.array([[2, 5, 7], [2, 9, 0]], dtype="int32"), "lexicon": np.array([[0, 1, 0, 0], [0.5, 0, 0.5, -0.2]], "float32")}
    p_balanced, p = np.asarray(balanced.predict_on_batch(x)), np.asarray(served.predict_on_batch(x))
    expected_p = p_balanced * np.exp(shift)
    assert np.allclose(p, expected_p / expected_p.sum(axis=1, keepdims=True), atol=1e-6)
    weights = decision_weights(served)
    decided, expected = most_likely_and_expected(p, weights)
    assert decided.tolist() == (p_balanced.argmax(axis=1) + 1).tolist()  # the rating: balanced costs
    assert np.allclose(expected, p @ np.arange(1, 6))  # the expected rating: the served p
    served.save(str(tmp_path / "model.keras"))
    assert np.allclose(decision_weights(load_model(tmp_path / "model.keras")), weights)


@pytest.mark.parametrize(
    ("frontier", "days", "month", "new_frontier"),
    [
        (None, ["2018-05-02", "2018-05-03"], "2018-04", "2018-05-03"),  # first data: the month before closes
        ("2018-05-03", ["2018-05-04"], None, "2018-05-04"),  # same month: nothing closes
        ("2018-05-31", ["2018-06-01"], "2018-05", "2018-06-01"),  # the data moved past May
        ("2018-06-01", ["2018-05-20"], "2018-05", "2018-06-01"),  # a late May day: May again
        ("2018-06-01", ["2018-03-20"], None, "2018-06-01"),  # an old month: backfill, not this rule
        ("2018-01-05", ["2017-12-31"], "2017-12", "2018-01-05"),  # across a year
        ("2018-01-05", [], None, "2018-01-05"),
    ],
)
def test_model_month_to_train(frontier, days, month, new_frontier):
    from amzn_assets.ml.planning import model_month_to_train

    assert model_month_to_train(frontier, days) == (month, new_frontier)
