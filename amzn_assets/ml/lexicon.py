"""Prior knowledge that ships with a package: the VADER sentiment lexicon (vaderSentiment, ~7,500
hand-rated words and emoticons, with rules for negation, intensifiers and "but").

lexicon_features(texts) -> [n, 4] float32: VADER's neg, neu, pos and compound scores of each text.
They are an extra input of the model (model.py) and, through a logistic regression fitted on the
training side, the lexicon baseline of the evaluation (evaluate.py). vaderSentiment is imported
here, lazily, never at module import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURES = ("neg", "neu", "pos", "compound")
SIZE = len(FEATURES)
_ANALYZER: list = []


def _analyzer():
    if not _ANALYZER:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER.append(SentimentIntensityAnalyzer())
    return _ANALYZER[0]


def lexicon_features(texts: Sequence[str]) -> np.ndarray:
    analyzer = _analyzer()
    out = np.zeros((len(texts), SIZE), dtype=np.float32)
    for i, text in enumerate(texts):
        scores = analyzer.polarity_scores(text or "")
        out[i] = [scores[name] for name in FEATURES]
    return out
