"""Honest evaluation: the model and three baselines, scored on the same distinct-text test side.

The split (data.split_distinct): the window's distinct texts, cut by their first time; no test text
was seen in training. Every scorer is scored twice: per review (each test review, repeats of a
text across a product's variants counted) and per distinct text (each test text once).

Every scorer gives p(rating) per test review; from it
the predicted rating (the model's: its DecisionRule; a baseline's: its most likely rating) and
  MAE^M     macro-averaged MAE (Baccianella, Esuli and Sebastiani 2009; the official measure of
            SemEval-2016 Task 4, subtask C): per true rating present, the mean |predicted - rating| of its
            reviews, averaged over those ratings with equal weight. Always answering 5★ scores 2.0
            whatever the shares, so a skewed test side cannot be gamed (key mae_macro; the gate's measure),
  macro-F1  the F1 of the predicted rating, averaged over the five ratings with equal weight
            (a rating absent from both truth and prediction counts 0: the score stays comparable),
  recall    per rating, the share of its reviews predicted right (recall_by_rating; null when absent),
  confusion the 5 x 5 counts, rows the true rating, columns the predicted one,
  accuracy  the share of reviews whose predicted rating is the true one,
  MAE       plain MAE, mean |E[rating] - rating| with E[rating] = sum_k k * p(k) (a one-hot scorer
            predicts its class): reported, not gated (on a 5★-heavy side it rewards answering 5★).
Baselines, trained on the same training side:
  majority      always the most frequent training rating (with certainty),
  tfidf_lr      TF-IDF of word 1-2 grams + multinomial logistic regression (scikit-learn),
  lexicon       the VADER lexicon's neg/neu/pos/compound (lexicon.py) + logistic regression.
The sanity set (sanity.jsonl): short hand-written reviews with an obvious rating; the evaluation
reports how many the model rates within one star.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from amzn_assets.ml.data import RATINGS, Reviews
from amzn_assets.ml.predict import most_likely_and_expected

MODEL, MAJORITY, TFIDF, LEXICON = "model", "majority", "tfidf_lr", "lexicon"
SCORERS = (MODEL, MAJORITY, TFIDF, LEXICON)
BASELINES = (MAJORITY, TFIDF, LEXICON)
METRICS = ("mae_macro", "macro_f1", "mae", "accuracy")


def mae_macro_of_confusion(confusion) -> float:
    """MAE^M from a 5 x 5 confusion matrix (rows true, columns predicted): the mean over the true
    ratings present of their reviews' mean |predicted - true| (nan without any review)."""
    c = np.asarray(confusion, dtype=np.float64)
    support = c.sum(axis=1)
    present = support > 0
    if not present.any():
        return float("nan")
    distance = np.abs(np.arange(5)[:, None] - np.arange(5)[None, :])
    return float(((c * distance).sum(axis=1)[present] / support[present]).mean())


def rating_metrics(ratings: Sequence[int], probabilities: np.ndarray, decision_weights=None) -> dict:
    """mae_macro (MAE^M), macro_f1, mae, accuracy, mae_argmax, recall_by_rating, the confusion matrix and
    per-rating precision/recall/F1/support (the predicted rating: predict.most_likely_and_expected with
    the scorer's decision rule or weights)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(ratings, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("no test reviews to evaluate on")
    predicted, expected = most_likely_and_expected(p, decision_weights)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=list(RATINGS), zero_division=0
    )
    confusion = confusion_matrix(y, predicted, labels=list(RATINGS))
    return {
        "mae_macro": mae_macro_of_confusion(confusion),
        "mae_macro_expected": float(np.mean([np.mean(np.abs(expected[y == r] - r)) for r in RATINGS if np.any(y == r)])),
        "accuracy": float(np.mean(predicted == y)),
        "mae": float(np.mean(np.abs(expected - y))),
        "macro_f1": float(np.mean(f1)),
        "mae_argmax": float(np.mean(np.abs(predicted - y))),
        "reviews": len(y),
        "recall_by_rating": {str(r): (float(rc) if s else None) for r, rc, s in zip(RATINGS, recall, support)},
        "confusion": confusion.tolist(),
        "per_rating": {
            str(r): {"precision": float(pr), "recall": float(rc), "f1": float(f), "support": int(s)}
            for r, pr, rc, f, s in zip(RATINGS, precision, recall, f1, support)
        },
    }


def majority_probabilities(train_ratings: Sequence[int], n: int) -> np.ndarray:
    counts = np.bincount(np.asarray(train_ratings, dtype=np.int64), minlength=6)[1:]
    p = np.zeros((n, 5))
    p[:, int(np.argmax(counts))] = 1.0  # ties: the lower rating
    return p


def tfidf_probabilities(train: Reviews, test_texts: Sequence[str], seed: int = 42) -> np.ndarray:
    """TF-IDF (word 1-2 grams, sublinear tf) + logistic regression; classes absent from training get 0."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(train.ratings)
    if len(classes) == 1:
        return majority_probabilities(train.ratings, len(test_texts))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=50_000)
    try:
        x_train = vectorizer.fit_transform(train.texts)
    except ValueError:  # an empty vocabulary (no word seen twice): fall back to single words
        vectorizer = TfidfVectorizer(sublinear_tf=True)
        x_train = vectorizer.fit_transform(train.texts)
    classifier = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    classifier.fit(x_train, train.ratings)
    p = np.zeros((len(test_texts), 5))
    p[:, classifier.classes_ - 1] = classifier.predict_proba(vectorizer.transform(list(test_texts)))
    return p


def lexicon_probabilities(train: Reviews, test_texts: Sequence[str], seed: int = 42) -> np.ndarray:
    """The VADER features (lexicon.py) + logistic regression fitted on the training side."""
    from sklearn.linear_model import LogisticRegression

    from amzn_assets.ml.lexicon import lexicon_features

    if len(np.unique(train.ratings)) == 1:
        return majority_probabilities(train.ratings, len(test_texts))
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    classifier.fit(lexicon_features(train.texts), train.ratings)
    p = np.zeros((len(test_texts), 5))
    p[:, classifier.classes_ - 1] = classifier.predict_proba(lexicon_features(list(test_texts)))
    return p


def baseline_probabilities(train: Reviews, test_texts: Sequence[str], seed: int = 42) -> dict[str, np.ndarray]:
    return {
        MAJORITY: majority_probabilities(train.ratings, len(test_texts)),
        TFIDF: tfidf_probabilities(train, test_texts, seed),
        LEXICON: lexicon_probabilities(train, test_texts, seed),
    }


def baselines(train: Reviews, test: Reviews, seed: int = 42) -> dict[str, dict]:
    return {name: rating_metrics(test.ratings, p) for name, p in baseline_probabilities(train, test.texts, seed).items()}


def comparison_markdown(results: dict[str, dict]) -> str:
    """| scorer | MAE^M | macro-F1 | MAE | accuracy | recall 1★ .. 5★ | for the scorers present (MAE^M of
    an evaluation stored before it was recorded: from its confusion matrix)."""
    lines = ["| scorer | MAE^M | macro-F1 | MAE | accuracy | recall 1★ / 2★ / 3★ / 4★ / 5★ |", "|---|---:|---:|---:|---:|---|"]
    names = {MODEL: "rating model", MAJORITY: "majority class", TFIDF: "TF-IDF + logistic regression",
             LEXICON: "VADER lexicon + logistic regression"}
    for scorer in [s for s in SCORERS if s in results] + [s for s in results if s not in SCORERS]:
        m = results[scorer]
        lines.append(f"| {names.get(scorer, scorer)} | {mae_macro(m):.3f} | {m['macro_f1']:.3f} | {m['mae']:.3f} | {m['accuracy']:.3f} | "
                     f"{recall_text(m)} |")
    return "\n".join(lines)


def mae_macro(metrics: dict) -> float:
    """A scorer's stored MAE^M (mae_macro), or, for an evaluation stored before it, from its confusion matrix."""
    value = metrics.get("mae_macro")
    return float(value) if value is not None else mae_macro_of_confusion(metrics["confusion"])


def recall_by_rating(metrics: dict) -> dict[str, float | None]:
    """A scorer's recall per rating (None for a rating without test reviews), stored or from per_rating."""
    if "recall_by_rating" in metrics:
        return metrics["recall_by_rating"]
    per = metrics.get("per_rating", {})
    return {str(r): (per[str(r)]["recall"] if per.get(str(r), {}).get("support") else None) for r in RATINGS}


def recall_text(metrics: dict) -> str:
    return " / ".join("–" if v is None else f"{v:.2f}" for v in recall_by_rating(metrics).values())


def confusion_markdown(metrics: dict) -> str:
    """Rows: true rating; columns: predicted (most likely) rating."""
    lines = ["| true \\ predicted | " + " | ".join(f"{r}★" for r in RATINGS) + " | reviews |", "|---" + "|---:" * 6 + "|"]
    for rating, row in zip(RATINGS, metrics["confusion"]):
        lines.append(f"| {rating}★ | " + " | ".join(str(n) for n in row) + f" | {sum(row)} |")
    return "\n".join(lines)


def per_rating_markdown(metrics: dict, width: int = 20) -> str:
    """One bar per rating: recall (the share of that rating's reviews predicted right), with F1 and support."""
    lines = ["| rating | reviews | recall | F1 |", "|---|---:|---|---:|"]
    for rating in reversed(RATINGS):
        m = metrics["per_rating"][str(rating)]
        bar = "█" * round(m["recall"] * width)
        lines.append(f"| {'★' * rating} | {m['support']} | {bar} {m['recall']:.0%} | {m['f1']:.2f} |")
    return "\n".join(lines)


def evaluate_all(model, tokenizer, config, train: Reviews, test: Reviews) -> dict[str, dict]:
    """The model and the baselines on one test side: {"model": ..., "majority": ..., "tfidf_lr": ..., "lexicon": ...}."""
    from amzn_assets.ml.model import decision_rule
    from amzn_assets.ml.predict import texts_proba

    model_p = texts_proba(model, tokenizer, config, test.texts)
    return {MODEL: rating_metrics(test.ratings, model_p, decision_rule(model))} | baselines(train, test, config.seed)


def evaluate_split(model, tokenizer, config, split) -> dict:
    """Every scorer on a data.Split, scored per review and per distinct text:
    {"per_review": {scorer: metrics}, "per_text": {scorer: metrics}} (each test text is scored once)."""
    from amzn_assets.ml.model import decision_rule
    from amzn_assets.ml.predict import texts_proba

    texts = split.test_distinct.texts
    probabilities = {MODEL: texts_proba(model, tokenizer, config, texts)} | baseline_probabilities(split.train, texts, config.seed)
    weights = {MODEL: decision_rule(model)}
    row = {text: i for i, text in enumerate(texts)}
    review_rows = np.array([row[t] for t in split.test.texts], dtype=np.int64)
    return {
        "per_review": {k: rating_metrics(split.test.ratings, p[review_rows], weights.get(k)) for k, p in probabilities.items()},
        "per_text": {k: rating_metrics(split.test_distinct.ratings, p, weights.get(k)) for k, p in probabilities.items()},
    }


GATE_METRICS = ("mae_macro", "macro_f1")  # the blocking check's: the model must beat every baseline on both


def metric_value(metrics: dict, metric: str) -> float:
    return mae_macro(metrics) if metric == "mae_macro" else float(metrics[metric])


def beats_baselines(results: dict[str, dict], metric: str = "mae_macro") -> bool:
    """The model is better than every baseline present on `metric` (lower MAE^M / MAE, higher accuracy / F1)."""
    model = metric_value(results[MODEL], metric)
    others = [metric_value(results[b], metric) for b in BASELINES if b in results]
    return all(model < o for o in others) if metric.startswith("mae") else all(model > o for o in others)


def passes_gate(results: dict[str, dict]) -> bool:
    """The blocking check's rule: the model beats every baseline present on MAE^M and on macro-F1."""
    return all(beats_baselines(results, metric) for metric in GATE_METRICS)


# The sanity set: short hand-written reviews with an obvious rating (complaint, praise, lukewarm).
SANITY_FILE = Path(__file__).with_name("sanity.jsonl")


def sanity_set() -> list[dict]:
    """[{"text", "rating", "kind"}] from sanity.jsonl (kind: complaint, praise or lukewarm)."""
    return [json.loads(line) for line in SANITY_FILE.read_text().splitlines() if line.strip()]


def sanity_report(probabilities: np.ndarray, items: Sequence[dict] | None = None, decision_weights=None) -> dict:
    """How the model rates the sanity set: within one star, complaints <= 2, praise >= 4, each prediction."""
    items = sanity_set() if items is None else list(items)
    predicted, expected = most_likely_and_expected(probabilities, decision_weights)
    truth = np.array([it["rating"] for it in items], dtype=np.int64)
    kinds = [it.get("kind", "") for it in items]
    complaints = [i for i, k in enumerate(kinds) if k == "complaint"]
    praise = [i for i, k in enumerate(kinds) if k == "praise"]
    within = np.abs(predicted - truth) <= 1
    return {
        "items": len(items),
        "within_one_star": int(within.sum()),
        "within_one_star_share": float(within.mean()) if len(items) else float("nan"),
        "complaints": len(complaints),
        "complaints_at_most_2": int(sum(predicted[i] <= 2 for i in complaints)),
        "praise": len(praise),
        "praise_at_least_4": int(sum(predicted[i] >= 4 for i in praise)),
        "predictions": [
            {"text": it["text"], "kind": k, "rating": int(t), "predicted": int(p), "expected": round(float(e), 3)}
            for it, k, t, p, e in zip(items, kinds, truth, predicted, expected)
        ],
    }


def evaluate_sanity(model, tokenizer, config) -> dict:
    from amzn_assets.ml.model import decision_rule
    from amzn_assets.ml.predict import texts_proba

    items = sanity_set()
    return sanity_report(texts_proba(model, tokenizer, config, [it["text"] for it in items]), items, decision_rule(model))


def headline(results: dict[str, dict]) -> dict[str, float]:
    """Flat {scorer_metric: value} for the headline metrics, e.g. model_mae_macro, tfidf_lr_macro_f1, model_mae."""
    return {f"{scorer}_{metric}": round(metric_value(results[scorer], metric), 4) for scorer in results for metric in METRICS}
