"""Benchmark: the rating model (full-size config) on the All Beauty excerpt, next to both baselines.

    .venv/bin/pip install -e '.[ml]'
    .venv/bin/python benchmarks/model_all_beauty.py                      # full config, both scenarios
    .venv/bin/python benchmarks/model_all_beauty.py --preset tiny --scenario month --seeds 1,2,3

The reviews are what reviews_fact holds after `amzn-assets import` (parsed, one row per
(asin, reviewer, time): the first copy wins), and every step is the code the assets run:
Tokenizer.train on the training side, train_rating_model (TFRecord shards, tf.data, Keras, the
cleanup rule), evaluate_all (model, majority class, TF-IDF + logistic regression on the test side).

Scenarios (time-ordered split: the earlier reviews train, the latest --test-fraction test):
  month   the rating_model partition 2018-05: the 12 months of reviews ending 2018-05-31, as the
          asset sees them (the latest month of the excerpt with a usable test side)
  whole   every review of the excerpt (2004-2018), split the same way
Prints one table per scenario and seed (model vs majority vs TF-IDF + LR: accuracy, MAE, macro-F1),
the confusion matrix, the class counts on each side and the seconds spent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.ml import evaluate
from amzn_assets.ml.config import preset
from amzn_assets.ml.data import Reviews, distinct_cutoff, split_distinct
from amzn_assets.sources.dumps import iter_review_dump
from amzn_assets.transforms.review_identity import distinct_reviews
from amzn_assets.transforms.reviews import reviews_fact

DEFAULT_DUMP = Path(__file__).resolve().parents[1] / "amzn_assets_tests" / "fixtures" / "All_Beauty_5.json.gz"
SCENARIOS = {"history": ("1990-01-01", "2018-05-31"), "month": ("2017-06-01", "2018-05-31"), "whole": (None, None)}


def fact_rows(dump: Path) -> pa.Table:
    landed = pa.concat_tables(r.table for r in iter_review_dump(dump, category="all_beauty", source=dump.name))
    return reviews_fact(distinct_reviews(landed))


def window(fact: pa.Table, first: str | None, last: str | None) -> pa.Table:
    if first is None:
        return fact
    day = fact["review_date"]
    keep = pc.and_(pc.greater_equal(day, pa.scalar(dt.date.fromisoformat(first))), pc.less_equal(day, pa.scalar(dt.date.fromisoformat(last))))
    return fact.filter(keep)


def run(fact: pa.Table, config) -> dict:
    from amzn_assets.ml.tokenizer import Tokenizer
    from amzn_assets.ml.train import train_rating_model

    reviews = Reviews.from_table(fact, config.use_summary)
    cutoff = distinct_cutoff(reviews, config.test_fraction)
    split = split_distinct(reviews, cutoff)
    train, test = split.train, split.test
    started = time.perf_counter()
    tokenizer = Tokenizer.train(train.texts, config.vocab_size, config.seed)
    tokenizer_s = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="amzn-bench-model-"))
    try:
        result = train_rating_model(train, tokenizer, config, work / "records")
        started = time.perf_counter()
        scores = evaluate.evaluate_split(result.model, tokenizer, config, split)
        sanity = evaluate.evaluate_sanity(result.model, tokenizer, config)
        evaluate_s = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "reviews": len(reviews),
        "distinct_texts": len(split.train) + len(split.test_distinct),
        "train_reviews": len(train),
        "test_reviews": len(test),
        "test_texts": len(split.test_distinct),
        "test_cutoff_utc": dt.datetime.fromtimestamp(cutoff, dt.UTC).date().isoformat(),
        "train_ratings": dict(sorted(Counter(train.ratings.tolist()).items())),
        "test_ratings": dict(sorted(Counter(test.ratings.tolist()).items())),
        "vocab_size": tokenizer.vocab_size,
        "parameters": result.parameters,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history["loss"]),
        "sanity": sanity,
        "tokenizer_seconds": round(tokenizer_s, 1),
        "train_seconds": round(result.seconds, 1),
        "evaluate_seconds": round(evaluate_s, 1),
        "scores": scores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP, help="a 2018 review dump (default: the All Beauty excerpt)")
    parser.add_argument("--preset", default="full", choices=["full", "tiny"])
    parser.add_argument("--scenario", default="all", choices=["all", *SCENARIOS])
    parser.add_argument("--seeds", default="42", help="comma-separated seeds (default 42, the config's)")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()

    fact = fact_rows(args.dump)
    print(f"{args.dump.name}: {fact.num_rows} reviews after landing (first copy of each review key)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    results = []
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        first, last = SCENARIOS[name]
        for seed in [int(s) for s in args.seeds.split(",")]:
            config = preset(args.preset).replace(seed=seed)
            out = run(window(fact, first, last), config)
            span = f"{first}..{last}" if first else "whole excerpt"
            print(f"\n### {name} ({span}), preset {args.preset}, seed {seed}")
            print(
                f"{out['reviews']} reviews, {out['distinct_texts']} distinct texts; train {out['train_reviews']} distinct texts "
                f"{out['train_ratings']}, test {out['test_reviews']} reviews / {out['test_texts']} texts (from {out['test_cutoff_utc']}) {out['test_ratings']}"
            )
            print(
                f"vocab {out['vocab_size']}, {out['parameters']:,} parameters, best epoch {out['best_epoch']} of {out['epochs_run']} run; "
                f"tokenizer {out['tokenizer_seconds']} s, training {out['train_seconds']} s, evaluation {out['evaluate_seconds']} s\n"
            )
            for side in ("per_review", "per_text"):
                print(f"{side}:\n" + evaluate.comparison_markdown(out["scores"][side]) + "\n")
            print("model confusion matrix (per text):\n" + evaluate.confusion_markdown(out["scores"]["per_text"]["model"]))
            sanity = out["sanity"]
            print(f"\nsanity set: {sanity['within_one_star']}/{sanity['items']} within one star, complaints <= 2: "
                  f"{sanity['complaints_at_most_2']}/{sanity['complaints']}, praise >= 4: {sanity['praise_at_least_4']}/{sanity['praise']}")
            results.append({"scenario": name, "preset": args.preset, "seed": seed, "config": config.to_dict(), **out})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
