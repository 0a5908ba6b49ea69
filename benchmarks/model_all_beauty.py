"""Benchmark: the rating model on the All Beauty excerpt, three seeds, next to the three baselines.

    .venv/bin/pip install -e '.[ml]'
    .venv/bin/python benchmarks/model_all_beauty.py --seeds 42,1,2 --json /tmp/model.json   # every scenario (~5 min)
    .venv/bin/python benchmarks/model_all_beauty.py --scenario history --preset tiny

The reviews are what reviews_fact holds after `amzn-assets import` (one row per distinct review),
and every step is the code the assets run: the distinct-text time split (data.split_distinct),
Tokenizer.train on the training side, train_rating_model, evaluate_split (per review and per
distinct text: model, majority class, TF-IDF + LR, VADER lexicon + LR) and the sanity set.

Scenarios (a window of reviews; its distinct texts cut by first time, the latest --test-fraction test):
  history        the rating_model partition 2018-05 with the default, growing window (every review up to 2018-05-31)
  month          the same month with AMZN_MODEL_WINDOW_MONTHS=12 (2017-06-01 .. 2018-05-31)
  history_2018_02, history_2017_12   earlier months with the growing window (other time splits)
  whole          every review of the excerpt (to 2018-09)
Prints, per scenario, one table (per seed: the model; the baselines once: they do not depend on the
seed) of MAE^M, macro-F1, plain MAE, accuracy and recall per rating, per review and per distinct text;
the verdict (the blocking check's rule: the model beats every baseline, majority, TF-IDF + LR and
lexicon, on MAE^M and macro-F1, per review), the lowest recall over the ratings with >= 5 test reviews,
the sanity set and the timings.
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
SCENARIOS = {
    "history": ("1990-01-01", "2018-05-31"),
    "month": ("2017-06-01", "2018-05-31"),
    "history_2018_02": ("1990-01-01", "2018-02-28"),
    "history_2017_12": ("1990-01-01", "2017-12-31"),
    "whole": (None, None),
}


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


MIN_RECALL_SUPPORT = 5  # the done-criterion: every rating with at least this many test reviews has recall >= 0.2


def beats_bar(scores: dict) -> bool:
    """The blocking check's rule: the model beats every baseline on MAE^M and macro-F1 (per review)."""
    return evaluate.passes_gate(scores["per_review"])


def lowest_recall(metrics: dict) -> tuple[float, str]:
    """The lowest recall over the ratings with >= MIN_RECALL_SUPPORT test reviews, and that rating."""
    per = metrics["per_rating"]
    rated = [(per[str(r)]["recall"], f"{r}★") for r in range(1, 6) if per[str(r)]["support"] >= MIN_RECALL_SUPPORT]
    return min(rated)


def table(runs: list[dict]) -> str:
    lines = [
        "| scorer | MAE^M | macro-F1 | MAE | accuracy | recall 1★ / 2★ / 3★ / 4★ / 5★ | per text MAE^M | macro-F1 | MAE |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]

    def row(label: str, scorer: str, scores: dict) -> str:
        r, t = scores["per_review"][scorer], scores["per_text"][scorer]
        return (f"| {label} | {r['mae_macro']:.3f} | {r['macro_f1']:.3f} | {r['mae']:.3f} | {r['accuracy']:.3f} | "
                f"{evaluate.recall_text(r)} | {t['mae_macro']:.3f} | {t['macro_f1']:.3f} | {t['mae']:.3f} |")

    lines += [row(f"model, seed {run['seed']}", "model", run["scores"]) for run in runs]
    names = {"majority": "majority", "tfidf_lr": "TF-IDF + LR", "lexicon": "VADER lexicon + LR"}
    lines += [row(label, scorer, runs[0]["scores"]) for scorer, label in names.items()]
    return "\n".join(lines)


def okay(sanity: dict) -> str:
    (item,) = [p for p in sanity["predictions"] if p["text"] == "It's okay. Nothing special."]
    return f"{item['predicted']}★"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP, help="a 2018 review dump (default: the All Beauty excerpt)")
    parser.add_argument("--preset", default="full", choices=["full", "tiny", "albert", "tiny_albert"])
    parser.add_argument("--scenario", default="all", choices=["all", *SCENARIOS])
    parser.add_argument("--seeds", default="42,1,2", help="comma-separated seeds (default 42,1,2)")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()

    fact = fact_rows(args.dump)
    print(f"{args.dump.name}: {fact.num_rows} reviews after landing (one row per distinct review)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    results = []
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        first, last = SCENARIOS[name]
        runs = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            config = preset(args.preset).replace(seed=seed)
            runs.append({"scenario": name, "preset": args.preset, "seed": seed, "config": config.to_dict(), **run(window(fact, first, last), config)})
        out = runs[0]
        print(f"\n### {name} ({f'{first}..{last}' if first else 'whole excerpt'}), preset {args.preset}")
        print(
            f"{out['reviews']} reviews, {out['distinct_texts']} distinct texts; train {out['train_reviews']} texts "
            f"{out['train_ratings']}; test {out['test_reviews']} reviews / {out['test_texts']} texts from {out['test_cutoff_utc']} {out['test_ratings']}"
        )
        print(table(runs))
        verdicts = [beats_bar(r["scores"]) for r in runs]
        print(f"model beats every baseline (majority, TF-IDF + LR, lexicon) on MAE^M and macro-F1 (per review): "
              f"{sum(verdicts)}/{len(runs)} seeds")
        plain = [evaluate.beats_baselines(r["scores"]["per_review"], "mae") for r in runs]
        print(f"... and on plain MAE (reported, not gated): {sum(plain)}/{len(runs)} seeds")
        for r in runs:
            recall, rating = lowest_recall(r["scores"]["per_review"]["model"])
            r["lowest_recall"] = {"rating": rating, "recall": recall}
        print("lowest recall over the ratings with >= 5 test reviews (per review): "
              + ", ".join(f"seed {r['seed']} {r['lowest_recall']['recall']:.2f} ({r['lowest_recall']['rating']})" for r in runs))
        for r in runs:
            sanity = r["sanity"]
            print(f"seed {r['seed']}: sanity {sanity['within_one_star']}/{sanity['items']} within one star, complaints <= 2 "
                  f"{sanity['complaints_at_most_2']}/{sanity['complaints']}, praise >= 4 {sanity['praise_at_least_4']}/{sanity['praise']}; "
                  f"lukewarm 'It's okay. Nothing special.' -> {okay(sanity)}; "
                  f"tokenizer {r['tokenizer_seconds']} s, training {r['train_seconds']} s ({r['epochs_run']} epochs, best {r['best_epoch']}), "
                  f"evaluation {r['evaluate_seconds']} s")
        results += runs
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
