"""TFRecord shards of tokenized reviews: one tf.train.Example per review with
ids (int64 list, unpadded), rating (1..5) and time (epoch seconds), read back with tf.data.

Examples are dealt to the shards round-robin in time order, so every shard is an even sample of
the window; the cleanup rule (prune) keeps the first ceil(keep_fraction * shards) of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from amzn_assets.ml.lexicon import SIZE as LEXICON_SIZE
from amzn_assets.ml.tokenizer import PAD_ID

SUFFIX = ".tfrecord"


def shard_name(prefix: str, index: int, count: int) -> str:
    return f"{prefix}-{index:05d}-of-{count:05d}{SUFFIX}"


def write_shards(
    folder: str | Path,
    ids: Sequence[Sequence[int]],
    ratings: Sequence[int],
    times: Sequence[int] | None = None,
    *,
    lexicon=None,
    num_shards: int = 10,
    prefix: str = "train",
) -> list[Path]:
    """Write the examples to min(num_shards, len(ids)) shards (at least one); return their paths.

    lexicon: optional [n, LEXICON_SIZE] floats (the VADER features of each review, lexicon.py)."""
    import tensorflow as tf

    if len(ids) != len(ratings) or (times is not None and len(times) != len(ids)):
        raise ValueError("ids, ratings and times must have the same length")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, min(num_shards, len(ids)))
    paths = [folder / shard_name(prefix, i, count) for i in range(count)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    try:
        for i, (tokens, rating) in enumerate(zip(ids, ratings)):
            feature = {
                "ids": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(t) for t in tokens])),
                "rating": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(rating)])),
                "time": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(times[i]) if times is not None else 0])),
            }
            if lexicon is not None:
                feature["lexicon"] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(x) for x in lexicon[i]]))
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writers[i % count].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    return paths


def _parse(serialized, lexicon_size: int = LEXICON_SIZE):
    import tensorflow as tf

    parsed = tf.io.parse_single_example(
        serialized,
        {
            "ids": tf.io.VarLenFeature(tf.int64),
            "rating": tf.io.FixedLenFeature([], tf.int64),
            "time": tf.io.FixedLenFeature([], tf.int64, default_value=0),
            "lexicon": tf.io.FixedLenFeature([lexicon_size], tf.float32, default_value=[0.0] * lexicon_size),
        },
    )
    return tf.sparse.to_dense(parsed["ids"]), parsed["rating"], parsed["time"], parsed["lexicon"]


def examples(paths: Sequence[str | Path], lexicon_size: int = LEXICON_SIZE):
    """tf.data.Dataset of (ids, rating, time, lexicon) in shard order (an example's shards interleave by time)."""
    import tensorflow as tf

    parse = lambda serialized: _parse(serialized, lexicon_size)  # noqa: E731
    return tf.data.TFRecordDataset([str(p) for p in paths]).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def read_examples(paths: Sequence[str | Path]) -> list[tuple[list[int], int, int]]:
    """Every example as Python values: [(ids, rating, time), ...] (shard by shard)."""
    return [(ids.numpy().tolist(), int(r), int(t)) for ids, r, t, _ in examples(paths)]


def length_buckets(max_len: int) -> list[int]:
    """Padded lengths of the batches: 16, 32, 64, ... below max_len, then max_len."""
    return [b for b in (16, 32, 64, 128, 256, 512, 1024) if b < max_len] + [max_len]


def batches(
    paths: Sequence[str | Path],
    *,
    max_len: int,
    batch_size: int,
    keep=None,
    shuffle_seed: int | None = None,
    lexicon: bool = False,
    lexicon_size: int = LEXICON_SIZE,
):
    """Training batches: (ids, class index = rating - 1), ids truncated to max_len.

    Reviews are grouped by length and a batch is padded (with PAD_ID) to its bucket's length
    (length_buckets), not to max_len: most reviews are short, and this cuts training time ~3x.
    keep: an optional predicate on the time (a tf scalar) choosing the examples, e.g. the
    validation side. shuffle_seed: reshuffle every epoch, reproducibly. lexicon: the inputs are
    {"ids": ids, "lexicon": the review's lexicon_size lexicon features} (a model with the lexicon input).
    """
    import tensorflow as tf

    data = examples(paths, lexicon_size)
    if keep is not None:
        data = data.filter(lambda ids, rating, time, lex: keep(time))
    if lexicon:
        data = data.map(lambda ids, rating, time, lex: ({"ids": ids[:max_len], "lexicon": lex}, rating - 1)).cache()
        length = lambda inputs, label: tf.shape(inputs["ids"])[0]  # noqa: E731
        shapes = ({"ids": [None], "lexicon": [lexicon_size]}, [])
        values = ({"ids": tf.constant(PAD_ID, tf.int64), "lexicon": tf.constant(0.0, tf.float32)}, tf.constant(0, tf.int64))
    else:
        data = data.map(lambda ids, rating, time, lex: (ids[:max_len], rating - 1)).cache()
        length = lambda ids, label: tf.shape(ids)[0]  # noqa: E731
        shapes = ([None], [])
        values = (tf.constant(PAD_ID, tf.int64), tf.constant(0, tf.int64))
    if shuffle_seed is not None:
        data = data.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    buckets = length_buckets(max_len)
    return data.bucket_by_sequence_length(
        element_length_func=length,
        bucket_boundaries=[b + 1 for b in buckets],
        bucket_batch_sizes=[batch_size] * (len(buckets) + 1),
        padded_shapes=shapes,
        padding_values=values,
        pad_to_bucket_boundary=True,
    ).prefetch(tf.data.AUTOTUNE)


def pad(ids: Sequence[Sequence[int]], max_len: int):
    """A [len(ids), L] int32 array, PAD_ID-padded, L the smallest bucket length holding the longest row."""
    import numpy as np

    longest = max((min(len(r), max_len) for r in ids), default=1)
    width = next(b for b in length_buckets(max_len) if b >= longest)
    out = np.full((len(ids), width), PAD_ID, dtype=np.int32)
    for i, row in enumerate(ids):
        row = row[:max_len]
        out[i, : len(row)] = row
    return out


def kept_shard_count(shards: int, keep_fraction: float) -> int:
    """ceil(keep_fraction * shards), within [0, shards] (0.1 of 10 shards keeps 1; of 1 shard, 1)."""
    if keep_fraction <= 0:
        return 0
    return min(shards, math.ceil(round(keep_fraction * shards, 9)))


@dataclass(frozen=True)
class Pruned:
    kept: list[Path]
    removed: list[Path]

    @property
    def kept_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.kept)


def prune(paths: Sequence[str | Path], keep_fraction: float) -> Pruned:
    """The cleanup rule: delete the shards after training except the first ceil(keep_fraction * n)."""
    ordered = sorted(Path(p) for p in paths)
    count = kept_shard_count(len(ordered), keep_fraction)
    kept, removed = ordered[:count], ordered[count:]
    for path in removed:
        path.unlink(missing_ok=True)
    return Pruned(kept, removed)
