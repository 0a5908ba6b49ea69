"""Honest evaluation: the model and two baselines, scored on the same time-ordered test side.

Every scorer gives p(rating) per test review; from it
  accuracy  the share of reviews whose most likely rating is the true one,
  MAE       mean |E[rating] - rating| with E[rating] = sum_k k * p(k)  (a one-hot scorer predicts its class),
  macro-F1  the F1 of the most likely rating, averaged over the five ratings with equal weight
            (a rating absent from both truth and prediction counts 0: the score stays comparable),
  confusion the 5 x 5 counts, rows the true rating, columns the most likely one.
Baselines, trained on the same training side:
  majority      always the most frequent training rating (with certainty),
  tfidf_logreg  TF-IDF of word 1-2 grams + multinomial logistic regression (scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from amzn_assets.ml.data import RATINGS, Reviews
from amzn_assets.ml.predict import most_likely_and_expected

MODEL, MAJORITY, TFIDF = "model", "majority", "tfidf_logreg"
SCORERS = (MODEL, MAJORITY, TFIDF)
METRICS = ("accuracy", "mae", "macro_f1")


def rating_metrics(ratings: Sequence[int], probabilities: np.ndarray) -> dict:
    """accuracy, mae, macro_f1, mae_argmax, confusion matrix and per-rating precision/recall/F1/support."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(ratings, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("no test reviews to evaluate on")
    predicted, expected = most_likely_and_expected(p)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=list(RATINGS), zero_division=0
    )
    return {
        "accuracy": float(np.mean(predicted == y)),
        "mae": float(np.mean(np.abs(expected - y))),
        "macro_f1": float(np.mean(f1)),
        "mae_argmax": float(np.mean(np.abs(predicted - y))),
        "reviews": len(y),
        "confusion": confusion_matrix(y, predicted, labels=list(RATINGS)).tolist(),
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


def baselines(train: Reviews, test: Reviews, seed: int = 42) -> dict[str, dict]:
    return {
        MAJORITY: rating_metrics(test.ratings, majority_probabilities(train.ratings, len(test))),
        TFIDF: rating_metrics(test.ratings, tfidf_probabilities(train, test.texts, seed)),
    }


def comparison_markdown(results: dict[str, dict]) -> str:
    """| scorer | accuracy | MAE | macro-F1 | for the scorers present."""
    lines = ["| scorer | accuracy | MAE | macro-F1 |", "|---|---:|---:|---:|"]
    names = {MODEL: "ALBERT-style model", MAJORITY: "majority class", TFIDF: "TF-IDF + logistic regression"}
    for scorer in [s for s in SCORERS if s in results] + [s for s in results if s not in SCORERS]:
        m = results[scorer]
        lines.append(f"| {names.get(scorer, scorer)} | {m['accuracy']:.3f} | {m['mae']:.3f} | {m['macro_f1']:.3f} |")
    return "\n".join(lines)


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
    """The model and both baselines on the test side: {"model": ..., "majority": ..., "tfidf_logreg": ...}."""
    from amzn_assets.ml.predict import predict_proba

    probabilities = predict_proba(model, tokenizer.encode(test.texts, config.max_len), config.max_len)
    return {MODEL: rating_metrics(test.ratings, probabilities)} | baselines(train, test, config.seed)


def headline(results: dict[str, dict]) -> dict[str, float]:
    """Flat {scorer_metric: value} for the three headline metrics, e.g. model_mae, tfidf_logreg_mae."""
    return {f"{scorer}_{metric}": round(results[scorer][metric], 4) for scorer in results for metric in METRICS}
