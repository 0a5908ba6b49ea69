"""Ratings for review texts from a trained model folder (see artifacts.py for its layout)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amzn_assets.ml.data import RATINGS

_BATCH = 256


@dataclass(frozen=True)
class Prediction:
    rating: int  # the predicted rating, by the model's DecisionRule
    expected: float  # sum_k k * p(k)
    probabilities: tuple[float, ...]  # p(1★) .. p(5★)

    def as_line(self) -> str:
        bars = "  ".join(f"{r}★ {p:.2f}" for r, p in zip(RATINGS, self.probabilities))
        return f"{'★' * self.rating}{'☆' * (5 - self.rating)}  rating {self.rating}, expected {self.expected:.2f}  ({bars})"


def predict_proba(model, ids: Sequence[Sequence[int]], max_len: int, batch_size: int = _BATCH, lexicon=None) -> np.ndarray:
    """p(rating) [n, 5] for tokenized reviews; rows of similar length are batched together.

    lexicon: the reviews' lexicon features [n, 4], for a model with the lexicon input."""
    from amzn_assets.ml.records import pad

    out = np.zeros((len(ids), 5), dtype=np.float64)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        padded = pad([ids[i] for i in index], max_len)
        inputs = padded if lexicon is None else {"ids": padded, "lexicon": np.asarray(lexicon, np.float32)[index]}
        out[index] = np.asarray(model.predict_on_batch(inputs))
    return out


def texts_proba(model, tokenizer, config, texts: Sequence[str]) -> np.ndarray:
    """p(rating) [n, 5] for review texts (tokenized, and their lexicon features when the model reads them)."""
    if not len(texts):
        return np.zeros((0, 5))
    lexicon = None
    if config.lexicon_features:
        from amzn_assets.ml.lexicon import lexicon_features

        lexicon = lexicon_features(list(texts), sentences=config.lexicon_sentences)
    return predict_proba(model, tokenizer.encode(list(texts), config.max_len), config.max_len, lexicon=lexicon)


@dataclass(frozen=True)
class DecisionRule:
    """How a model's rating is decided from its served p(1★..5★) (model.decision_rule).

    weights: per rating, multiplied into p (renormalized) to undo the prior shift: the class-balanced p
    (None: p as served). cuts: four cut-points on the balanced p's cumulative c_k = p(rating <= k): the
    rating is 1 + #{k : c_k < cuts_k} (all 0.5: the median rating; tuned out of fold at training,
    train.fit_decision_cuts); None: the most likely rating of the balanced p."""

    weights: np.ndarray | None = None
    cuts: np.ndarray | None = None

    def balanced(self, probabilities: np.ndarray) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float64)
        if self.weights is None:
            return p
        q = p * np.asarray(self.weights, dtype=np.float64)
        return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-300)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        q = self.balanced(probabilities)
        if self.cuts is None:
            return q.argmax(axis=1) + 1
        return decide_by_cuts(q, self.cuts)


def decide_by_cuts(balanced: np.ndarray, cuts) -> np.ndarray:
    """1 + #{k : p(rating <= k) < cuts_k} per row of p(1★..5★) (k = 1..4)."""
    below = np.cumsum(np.asarray(balanced, dtype=np.float64), axis=1)[:, :4]
    return 1 + (below < np.asarray(cuts, dtype=np.float64)[None, :]).sum(axis=1)


def most_likely_and_expected(probabilities: np.ndarray, decision=None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of p(1★..5★): the predicted rating (int) and the expected rating sum_k k * p(k).

    decision: a DecisionRule (model.decision_rule), or per-rating weights (the argmax of p * weights,
    model.decision_weights), or None (the most likely rating)."""
    p = np.asarray(probabilities, dtype=np.float64)
    rule = decision if isinstance(decision, DecisionRule) else DecisionRule(decision)
    return rule.decide(p), p @ np.arange(1, 6, dtype=np.float64)


def to_predictions(probabilities: np.ndarray, decision=None) -> list[Prediction]:
    most_likely, expected = most_likely_and_expected(probabilities, decision)
    return [
        Prediction(int(r), float(e), tuple(round(float(x), 6) for x in p))
        for p, r, e in zip(probabilities, most_likely, expected)
    ]


class RatingPredictor:
    """A model folder loaded once; predict() many times."""

    def __init__(self, model, tokenizer, config, info: dict | None = None):
        from amzn_assets.ml.model import decision_rule

        self.model, self.tokenizer, self.config, self.info = model, tokenizer, config, info or {}
        self.decision = decision_rule(model)
        self.decision_weights = self.decision.weights

    @classmethod
    def load(cls, folder: str | Path) -> RatingPredictor:
        from amzn_assets.ml.artifacts import load_model_folder

        saved = load_model_folder(folder)
        return cls(saved.model, saved.tokenizer, saved.config, saved.info)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return texts_proba(self.model, self.tokenizer, self.config, texts)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return to_predictions(self.predict_proba(texts), self.decision)

    def ratings(self, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted ratings, expected ratings) of this model's p(rating) rows."""
        return most_likely_and_expected(probabilities, self.decision)
