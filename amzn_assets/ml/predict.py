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
    rating: int  # the predicted rating: the most likely one, under the model's decision weights
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

        lexicon = lexicon_features(list(texts))
    return predict_proba(model, tokenizer.encode(list(texts), config.max_len), config.max_len, lexicon=lexicon)


def most_likely_and_expected(probabilities: np.ndarray, decision_weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of p(1★..5★): the predicted rating (int; argmax of p * decision_weights, model.decision_weights:
    None = the most likely rating) and the expected rating sum_k k * p(k)."""
    p = np.asarray(probabilities, dtype=np.float64)
    decided = p if decision_weights is None else p * np.asarray(decision_weights, dtype=np.float64)
    return decided.argmax(axis=1) + 1, p @ np.arange(1, 6, dtype=np.float64)


def to_predictions(probabilities: np.ndarray, decision_weights=None) -> list[Prediction]:
    most_likely, expected = most_likely_and_expected(probabilities, decision_weights)
    return [
        Prediction(int(r), float(e), tuple(round(float(x), 6) for x in p))
        for p, r, e in zip(probabilities, most_likely, expected)
    ]


class RatingPredictor:
    """A model folder loaded once; predict() many times."""

    def __init__(self, model, tokenizer, config, info: dict | None = None):
        from amzn_assets.ml.model import decision_weights

        self.model, self.tokenizer, self.config, self.info = model, tokenizer, config, info or {}
        self.decision_weights = decision_weights(model)

    @classmethod
    def load(cls, folder: str | Path) -> RatingPredictor:
        from amzn_assets.ml.artifacts import load_model_folder

        saved = load_model_folder(folder)
        return cls(saved.model, saved.tokenizer, saved.config, saved.info)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return texts_proba(self.model, self.tokenizer, self.config, texts)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return to_predictions(self.predict_proba(texts), self.decision_weights)

    def ratings(self, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted ratings, expected ratings) of this model's p(rating) rows."""
        return most_likely_and_expected(probabilities, self.decision_weights)
