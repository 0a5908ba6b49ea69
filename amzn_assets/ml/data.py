"""Reviews as the model sees them, and the time-ordered split.

The split is by time, never at random: the model is trained on the earlier reviews of a window and
tested on the later ones, as it will be used (a model trained today scores tomorrow's reviews).
Reviews sharing a timestamp stay on one side of the cut.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RATINGS = (1, 2, 3, 4, 5)


def review_texts(table: pa.Table, use_summary: bool = False) -> list[str]:
    """The text the model reads for each reviews_fact row: the review, after "<summary>. " if asked."""
    body = pc.fill_null(table["review_text"], "").to_pylist()
    if not use_summary:
        return body
    summary = pc.fill_null(table["summary"], "").to_pylist()
    return [f"{s}. {t}" if s else t for s, t in zip(summary, body)]


@dataclass(frozen=True)
class Reviews:
    """Reviews in time order (ties by text, rating): texts, ratings (1..5), review times (epoch seconds)."""

    texts: list[str]
    ratings: np.ndarray  # int64
    times: np.ndarray  # int64, non-decreasing

    def __len__(self) -> int:
        return len(self.texts)

    @staticmethod
    def from_table(table: pa.Table, use_summary: bool = False) -> Reviews:
        """From reviews_fact rows (review_text, summary, rating, review_time)."""
        return Reviews.from_tables([table], use_summary)

    @staticmethod
    def from_tables(tables: Iterable[pa.Table], use_summary: bool = False) -> Reviews:
        texts: list[str] = []
        ratings: list[np.ndarray] = []
        times: list[np.ndarray] = []
        for table in tables:
            if table.num_rows == 0:
                continue
            texts.extend(review_texts(table, use_summary))
            ratings.append(table["rating"].to_numpy(zero_copy_only=False).astype(np.int64))
            times.append(pc.cast(table["review_time"], pa.int64()).to_numpy(zero_copy_only=False))
        if not texts:
            return Reviews([], np.zeros(0, np.int64), np.zeros(0, np.int64))
        r, t = np.concatenate(ratings), np.concatenate(times)
        # Time order; equal times by text and rating, so the same reviews give the same order (and the
        # same shards and training) however they were stored or chunked.
        order = sorted(range(len(texts)), key=lambda i: (t[i], texts[i], r[i]))
        return Reviews([texts[i] for i in order], r[order], t[order])

    def select(self, mask: np.ndarray) -> Reviews:
        index = np.flatnonzero(mask)
        return Reviews([self.texts[i] for i in index], self.ratings[index], self.times[index])

    def before(self, cutoff: int) -> Reviews:
        return self.select(self.times < cutoff)

    def from_time(self, cutoff: int) -> Reviews:
        return self.select(self.times >= cutoff)


def time_cutoff(times: np.ndarray, test_fraction: float) -> int:
    """The first review time of the test side: about test_fraction of the reviews are at or after it.

    Raises ValueError when the reviews cannot be split (fewer than two distinct times).
    """
    ordered = np.sort(np.asarray(times, dtype=np.int64))
    if len(ordered) < 2 or ordered[0] == ordered[-1]:
        raise ValueError(f"cannot split {len(ordered)} reviews by time: they need at least two distinct review times")
    cut = ordered[min(len(ordered) - 1, max(1, math.floor(len(ordered) * (1.0 - test_fraction))))]
    if cut == ordered[0]:  # ties at the start: the first later time
        cut = ordered[ordered > ordered[0]][0]
    return int(cut)


def distinct_texts(reviews: Reviews) -> Reviews:
    """One review per distinct text, at its first time, with its most frequent rating (ties: the lower).

    5-core data repeats one review across a product's variants (same text, other style): a model
    trained on the repeats memorizes them, and a repeat on the test side scores a text it has seen.
    """
    first: dict[str, int] = {}
    counts: dict[str, np.ndarray] = {}
    for i, text in enumerate(reviews.texts):  # time order: the first index is the first time
        if text not in first:
            first[text] = i
            counts[text] = np.zeros(6, np.int64)
        counts[text][reviews.ratings[i]] += 1
    order = sorted(first.values())
    texts = [reviews.texts[i] for i in order]
    ratings = np.array([int(np.argmax(counts[t])) for t in texts], dtype=np.int64)
    return Reviews(texts, ratings, reviews.times[order] if order else np.zeros(0, np.int64))


@dataclass(frozen=True)
class Split:
    """The distinct-text, time-ordered split of a window.

    The distinct texts (distinct_texts) are cut by their first time: the earlier train, the later
    test. test: every review whose text is a test text (per-review metrics, repeats counted);
    test_distinct: each test text once (per-distinct-text metrics). No test text is a training text.
    """

    train: Reviews
    test: Reviews
    test_distinct: Reviews
    cutoff: int


def distinct_cutoff(reviews: Reviews, test_fraction: float) -> int:
    """The test cutoff over the distinct texts' first times (ValueError when they cannot be split)."""
    return time_cutoff(distinct_texts(reviews).times, test_fraction)


def split_distinct(reviews: Reviews, cutoff: int) -> Split:
    distinct = distinct_texts(reviews)
    train = distinct.before(cutoff)
    seen = set(train.texts)
    test = reviews.select(np.array([t not in seen for t in reviews.texts], dtype=bool))
    return Split(train=train, test=test, test_distinct=distinct.from_time(cutoff), cutoff=cutoff)
