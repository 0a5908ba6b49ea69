"""Prior knowledge that ships with a package: the VADER sentiment lexicon (vaderSentiment, ~7,500
hand-rated words and emoticons, with rules for negation, intensifiers and "but").

lexicon_features(texts) -> [n, 4] float32: VADER's neg, neu, pos and compound scores of each text.
They are an extra input of the model (model.py) and, through a logistic regression fitted on the
training side, the lexicon baseline of the evaluation (evaluate.py). lexicon_features(texts,
sentences=True) -> [n, 7]: also the lowest, highest and mean compound score of the text's sentences
(config.lexicon_sentences): a mixed review ("nice scent, but it dries my hair. Returned it.") has
one sentence of each sign, which the whole text's score averages away. vaderSentiment is imported
here, lazily, never at module import.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

FEATURES = ("neg", "neu", "pos", "compound")
SENTENCE_FEATURES = ("sentence_min", "sentence_max", "sentence_mean")  # of the sentences' compound scores
SIZE = len(FEATURES)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def size(sentences: bool = False) -> int:
    """The number of lexicon features (4, or 7 with the sentence scores)."""
    return SIZE + (len(SENTENCE_FEATURES) if sentences else 0)
_ANALYZER: list = []


def _analyzer():
    if not _ANALYZER:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER.append(SentimentIntensityAnalyzer())
    return _ANALYZER[0]


def lexicon_features(texts: Sequence[str], sentences: bool = False) -> np.ndarray:
    analyzer = _analyzer()
    out = np.zeros((len(texts), size(sentences)), dtype=np.float32)
    for i, text in enumerate(texts):
        scores = analyzer.polarity_scores(text or "")
        out[i, :SIZE] = [scores[name] for name in FEATURES]
        if sentences:
            parts = [part for part in _SENTENCE_END.split(text or "") if part.strip()]
            compound = [analyzer.polarity_scores(part)["compound"] for part in parts] if len(parts) > 1 else [scores["compound"]]
            out[i, SIZE:] = [min(compound), max(compound), float(np.mean(compound))]
    return out
