"""The vectorized review validator of bulk dumps: pyarrow's parse of review lines -> the
PARSED_REVIEW_SCHEMA columns, and which rows are trusted: exactly those the orjson path of
sources/reviews.py would accept with exactly these values. Untrusted rows hold placeholders; the
caller has the orjson path parse them.

The fields it knows, their columns and which are copied through come from the table in
sources/review_fields.py, shared with reviews.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.sources.nul import nul_rows
from amzn_assets.sources.review_fields import (
    COPIED_FIELDS,
    INT16_MAX,
    INT32_MAX,
    KNOWN_FIELDS,
    NUL_CHECKED_JSON_NAMES,
)
from amzn_assets.sources.reviews import style_text
from amzn_assets.tables import PARSED_REVIEW_SCHEMA, UTC_SECONDS


class ReviewValidator:
    def __init__(self, category: str | None, end_ts: int, style_cache: dict[Any, str | None]) -> None:
        self.category = category
        self.end_ts = end_ts  # first second after `today`: a later review is refused
        self.style_cache = style_cache

    def validate(self, t: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """PARSED_REVIEW_SCHEMA columns from pyarrow's parse, and which rows are trusted: those the
        orjson path would accept with exactly these values. Other rows hold placeholders."""
        n = t.num_rows
        clean = _key_ok(t["asin"]) & _key_ok(t["reviewerID"])

        overall = pc.fill_null(t["overall"], 0.0).to_numpy()
        clean &= (overall >= 1) & (overall <= 5) & (overall == np.floor(overall))
        rating = np.where(clean, overall, 0).astype(np.int8)

        ts = pc.fill_null(t["unixReviewTime"], -1).to_numpy()
        clean &= (ts >= 0) & (ts < self.end_ts)
        times = pa.array(np.where(clean, ts, 0), pa.int64()).cast(UTC_SECONDS)

        vote, total_votes, vote_clean = _votes(t["vote"], t["helpful"], n)
        clean &= vote_clean

        images = pc.fill_null(pc.list_value_length(t["image"]), 0).to_numpy()
        image_count = np.minimum(images, INT16_MAX).astype(np.int16)

        style, style_clean = self._styles(t["style"] if "style" in t.column_names else None, n)
        clean &= style_clean
        for _, rows in nul_rows(t, NUL_CHECKED_JSON_NAMES):
            clean &= ~rows  # the orjson path refuses them
        for name in t.column_names:  # a field the parsers do not read: could hold a NaN literal
            if name not in KNOWN_FIELDS and t[name].null_count < n:
                clean &= ~t[name].is_valid().to_numpy(zero_copy_only=False)

        if self.category is None:
            category = pa.nulls(n, pa.string())
        else:
            category = pa.repeat(pa.scalar(self.category, pa.string()), n)
        columns = {
            "review_date": times.cast(pa.date32()),
            "review_time": times,
            "asin": t["asin"],
            "reviewer_id": t["reviewerID"],
            "category": category,
            "rating": pa.array(rating, pa.int8()),
            "vote": vote,
            "total_votes": total_votes,
            "style": style,
            "image_count": pa.array(image_count, pa.int16()),
        } | {f.columns[0]: t[f.json_name] for f in COPIED_FIELDS}
        arrays = [columns[name] for name in PARSED_REVIEW_SCHEMA.names]
        arrays = [c if isinstance(c, pa.ChunkedArray) else pa.chunked_array([c]) for c in arrays]
        return pa.Table.from_arrays(arrays, schema=PARSED_REVIEW_SCHEMA), clean

    def _styles(self, column: pa.ChunkedArray | None, n: int) -> tuple[pa.Array, np.ndarray]:
        """The style text of every row (as reviews.style_text gives it) and which rows are trusted."""
        clean = np.ones(n, bool)
        if column is None or column.null_count == n:
            return pa.nulls(n, pa.string()), clean
        st = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if not pa.types.is_struct(st.type):  # cannot happen with a valid parse: trust nothing
            return pa.nulls(n, pa.string()), np.zeros(n, bool)
        present = st.is_valid().to_numpy(zero_copy_only=False)
        key = np.where(present, 0, -1).astype(np.int64)
        fields: list[tuple[str, np.ndarray, list[str]]] = []  # (raw key, codes, distinct values)
        by_clean_name: dict[str, list[np.ndarray]] = {}
        for i, key_field in enumerate(st.type):
            child = st.field(i)
            if pa.types.is_null(key_field.type):
                continue
            valid = present & child.is_valid().to_numpy(zero_copy_only=False)
            if not valid.any():
                continue
            by_clean_name.setdefault(key_field.name.strip().rstrip(":").rstrip(), []).append(valid)
            if not pa.types.is_string(key_field.type):  # a number, list or object value: orjson decides
                clean &= ~valid
                continue
            encoded = child.dictionary_encode()
            codes = np.where(valid, pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False) + 1, 0)
            fields.append((key_field.name, codes, encoded.dictionary.to_pylist()))
            # combine the codes into one key per distinct style, re-encoded so it stays small
            key = np.where(present, key * (len(encoded.dictionary) + 1) + codes, -1)
            key = pc.dictionary_encode(pa.array(key)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
            key = np.where(present, key, -1)
        for valids in by_clean_name.values():  # keys such as "Size:" and "Size" in one object
            if len(valids) > 1:
                clean &= np.sum(valids, axis=0) <= 1
        encoded = pc.dictionary_encode(pa.array(key))
        index = encoded.indices.to_numpy(zero_copy_only=False)
        # dictionary_encode numbers the distinct keys in order of first appearance
        seen = np.maximum.accumulate(index)
        first_rows = np.flatnonzero(np.concatenate([[True], index[1:] > seen[:-1]]))
        assert len(first_rows) == len(encoded.dictionary)
        texts: list[str | None] = []
        for row in first_rows.tolist():
            if not present[row]:
                texts.append(None)
                continue
            style = {name: values[codes[row] - 1] for name, codes, values in fields if codes[row]}
            texts.append(style_text(style, self.style_cache))
        return pa.array(texts, pa.string()).take(encoded.indices), clean


def _votes(vote: pa.ChunkedArray, helpful: pa.ChunkedArray, n: int) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """reviews._votes, vectorized for the plain cases: (vote, total_votes, trusted). "vote" as
    digits with optional thousands commas ("1,341") and no total; else 2014 "helpful": [vote, total].
    Rows with anything else are not trusted."""
    values = np.zeros(n, np.int64)
    totals = np.zeros(n, np.int64)
    has = np.zeros(n, bool)
    has_total = np.zeros(n, bool)
    clean = np.ones(n, bool)
    if vote.null_count < n:
        vote = vote.combine_chunks()
        has = vote.is_valid().to_numpy(zero_copy_only=False)
        digits = pc.replace_substring(vote, ",", "")
        length = pc.fill_null(pc.utf8_length(digits), 0).to_numpy(zero_copy_only=False)
        ok = pc.fill_null(pc.match_substring_regex(vote, "^[0-9,]+$"), False).to_numpy(zero_copy_only=False)
        ok &= (length >= 1) & (length <= 10)
        parsed = pc.cast(pc.if_else(pa.array(ok), digits, "0"), pa.int64()).to_numpy(zero_copy_only=False)
        ok &= parsed <= INT32_MAX
        clean &= ~has | ok
        values = np.where(ok, parsed, 0)
    if helpful.null_count < n:
        given = helpful.is_valid().to_numpy(zero_copy_only=False) & ~has  # "vote" wins over "helpful"
        if given.any():
            first, second, pair = _pairs(helpful)
            ok = pair & (first >= 0) & (first <= INT32_MAX) & (second >= 0) & (second <= INT32_MAX)
            clean &= ~given | ok
            values = np.where(given & ok, first, values)
            totals = np.where(given & ok, second, 0)
            has = has | given
            has_total = given
    return pa.array(values, pa.int32(), mask=~has), pa.array(totals, pa.int32(), mask=~has_total), clean


def _pairs(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a list<int64> column: elements 0 and 1 of each list, and whether the list has exactly
    2 elements, neither null."""
    firsts, seconds, pairs = [], [], []
    for chunk in column.chunks:
        lengths = pc.fill_null(pc.list_value_length(chunk), 0).to_numpy(zero_copy_only=False)
        pair = chunk.is_valid().to_numpy(zero_copy_only=False) & (lengths == 2)
        offsets = chunk.offsets.to_numpy(zero_copy_only=False)[:-1]  # into chunk.values, all of it
        first = np.zeros(len(chunk), np.int64)
        second = np.zeros(len(chunk), np.int64)
        if pair.any():
            values = chunk.values
            at = offsets[pair]
            if values.null_count:
                valid = values.is_valid().to_numpy(zero_copy_only=False)
                pair[pair] = valid[at] & valid[at + 1]
                at = offsets[pair]
            numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
            first[pair] = numbers[at]
            second[pair] = numbers[at + 1]
        firsts.append(first)
        seconds.append(second)
        pairs.append(pair)
    if not firsts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(pairs)


def _key_ok(column: pa.ChunkedArray) -> np.ndarray:
    """asin/reviewerID values that the orjson path keeps unchanged: non-empty strings whose first
    and last characters are printable ASCII other than a space (so str.strip() is a no-op)."""
    parts = []
    for chunk in column.chunks:
        n = len(chunk)
        _, offsets_buffer, data_buffer = chunk.buffers()
        if n == 0:
            continue
        offsets = np.frombuffer(offsets_buffer, np.int32, count=n + 1, offset=chunk.offset * 4)
        offsets = offsets.astype(np.int64)
        ok = offsets[1:] > offsets[:-1]
        if chunk.null_count:
            ok &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if ok.any():
            data = np.frombuffer(data_buffer, np.uint8)
            first = data[np.where(ok, offsets[:-1], 0)]
            last = data[np.where(ok, offsets[1:] - 1, 0)]
            ok &= (first > 32) & (first < 127) & (last > 32) & (last < 127)
        parts.append(ok)
    return np.concatenate(parts) if parts else np.zeros(0, bool)
