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


def test_mae_check_fails_unless_the_model_beats_both_baselines():
    from dagster import AssetCheckSeverity

    from amzn_assets.domains.rating_model import mae_check_result, sanity_check_result

    def metrics(model, tfidf, majority=1.2):
        return {"model": {"mae": model}, "tfidf_lr": {"mae": tfidf}, "majority": {"mae": majority}, "lexicon": {"mae": 0.1}}

    worse = mae_check_result(metrics(0.9, 0.8))
    assert worse.passed is False and worse.severity == AssetCheckSeverity.ERROR
    assert "does not beat" in worse.description
    assert mae_check_result(metrics(0.7, 0.8)).passed is True  # the lexicon baseline is reported, not a bar
    assert mae_check_result(metrics(0.8, 0.8)).passed is False  # a tie does not beat
    assert mae_check_result(metrics(0.7, 1.0, majority=0.69)).passed is False  # the majority class counts too
    assert sanity_check_result({"sanity": {"within_one_star_share": 0.79}}).passed is False
    assert sanity_check_result({"sanity": {"within_one_star_share": 0.8}}).severity == AssetCheckSeverity.WARN


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
    model = build_model(TINY, vocab_size=12, idf=idf, l2=1e-3)
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
