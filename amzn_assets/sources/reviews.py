"""Parse Amazon review JSON lines (2018 and 2014 formats) into PARSED_REVIEW_SCHEMA.

2018: {"overall": 5.0, "verified": true, "reviewTime": "09 1, 2016", "reviewerID": ..., "asin": ...,
"style": {"Size:": " 7.0 oz"}, "reviewerName": ..., "reviewText": ..., "summary": ...,
"unixReviewTime": 1472688000, "vote": "1,341", "image": [...]}.
2014: the same without verified/style/vote/image, with "helpful": [helpful_votes, total_votes]:
`vote` (the 2018 field's meaning) and `total_votes` (docs/data-model.md).

The fields, their columns and which are copied through are sources/review_fields.py's table, which
the vectorized parser of whole dumps (sources/review_arrow.py) reads too; this module is the ground
truth it must agree with.

A record longer than MAX_REVIEW_BYTES is refused unread: the longest real review line is a few KB,
and a 50 MB one (a decompression bomb fits in 150 KB of gzip) would cost some ten times its size
in memory through parsing, review identity and the segment write. A NUL character in a text field
is refused too (sources/nul.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from amzn_assets.sources.common import ParseResult, RawLine, Rejected
from amzn_assets.sources.nul import nul_rows
from amzn_assets.sources.review_fields import (
    COPIED_FIELDS,
    DAY_SECONDS,
    INT16_MAX,
    INT32_MAX,
    MAX_REVIEW_BYTES,
    NUL_CHECKED_COLUMNS,
)
from amzn_assets.tables import PARSED_REVIEW_SCHEMA

_BOM = b"\xef\xbb\xbf"
_BATCH = 1024
_RATINGS = {1.0: 1, 2.0: 2, 3.0: 3, 4.0: 4, 5.0: 5}
_COPIED = tuple(f.json_name for f in COPIED_FIELDS)
_DERIVED_COLUMNS = ("review_time", "asin", "reviewer_id", "category", "rating", "vote", "total_votes", "style", "image_count")


class _Reject(Exception):
    """A record is refused; the message is the reason."""


def parse_reviews(lines: Sequence[RawLine], today: dt.date | None = None) -> ParseResult:
    """Parse review lines; a record dated after `today` (default: today's UTC date) is refused."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    end_ts = ((today - dt.date(1970, 1, 1)).days + 1) * DAY_SECONDS  # first second after `today`
    style_cache: dict[Any, str | None] = {}
    rejected: list[Rejected] = []
    # Batches keep the Python objects of only ~1000 records alive at a time: much faster
    # than building whole-file lists (memory stays in cache), and memory use stays low.
    batches = [
        parse_review_batch(lines[i : i + _BATCH], end_ts, style_cache, rejected)
        for i in range(0, len(lines), _BATCH)
    ] or [parse_review_batch([], end_ts, style_cache, rejected)]
    return ParseResult(pa.Table.from_batches(batches, PARSED_REVIEW_SCHEMA), rejected)


def parse_review_batch(
    lines: Sequence[RawLine], end_ts: int, style_cache: dict[Any, str | None], rejected: list[Rejected]
) -> pa.RecordBatch:
    """Parse one batch of lines (a record dated at or after end_ts is refused); refused records are
    appended to `rejected`."""
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    rows: list[tuple] = []  # one tuple per review, transposed into columns at the end
    refused_before = len(rejected)

    # The fast path covers well-formed 2018 records inline; anything unusual goes to a helper.
    for raw in lines:
        try:
            data = raw.data
            if len(data) > MAX_REVIEW_BYTES:
                raise _Reject(f"record too large: {len(data):,} bytes (the limit is 1 MiB)")
            try:
                rec = loads(data)
            except JSONDecodeError as exc:
                rec = _load_slow(data, exc)
            if type(rec) is not dict:
                raise _Reject("not a JSON object")
            asin, reviewer = rec.get("asin"), rec.get("reviewerID")
            asin = asin.strip() if type(asin) is str and asin else _key(asin, "asin")
            reviewer = (
                reviewer.strip() if type(reviewer) is str and reviewer else _key(reviewer, "reviewerID")
            )
            if not asin or not reviewer:  # only blanks
                raise _Reject("missing asin" if not asin else "missing reviewerID")
            overall = rec.get("overall")
            rating = _RATINGS.get(overall) if type(overall) is float else None
            if rating is None:
                rating = _rating(overall)
            ts = rec.get("unixReviewTime")
            if type(ts) is not int or ts < 0:
                ts = _review_time(rec)
            if ts >= end_ts:
                raise _Reject(f"review date in the future: {_utc_date(ts)}")
            vote = rec.get("vote")
            total_votes = None
            if vote is not None or "helpful" in rec:
                vote, total_votes = _votes(rec)
            style = rec.get("style")
            if style is not None:
                try:
                    style = style_cache[tuple(style.items())]
                except (KeyError, TypeError, AttributeError):
                    style = style_text(style, style_cache)
        except _Reject as exc:
            rejected.append(Rejected.of(raw, str(exc)))
            continue
        image = rec.get("image")
        rows.append((
            ts,
            asin,
            reviewer,
            raw.category,
            rating,
            vote,
            total_votes,
            style,
            min(len(image), INT16_MAX) if type(image) is list else (1 if image else 0),
            *[rec.get(name) for name in _COPIED],
        ))

    width = len(_DERIVED_COLUMNS) + len(_COPIED)
    cols = list(zip(*rows)) if rows else [[] for _ in range(width)]
    times = pa.array(cols[0], pa.timestamp("s", tz="UTC"))
    columns = {"review_date": times.cast(pa.date32()), "review_time": times}
    for name, values in zip(_DERIVED_COLUMNS[1:], cols[1 : len(_DERIVED_COLUMNS)]):
        columns[name] = _strings(values) if name == "category" else pa.array(values, PARSED_REVIEW_SCHEMA.field(name).type)
    for field, values in zip(COPIED_FIELDS, cols[len(_DERIVED_COLUMNS) :]):
        columns[field.columns[0]] = _copied(values, field.json_type)
    batch = pa.RecordBatch.from_arrays([columns[n] for n in PARSED_REVIEW_SCHEMA.names], schema=PARSED_REVIEW_SCHEMA)
    with_nul = nul_rows(batch, NUL_CHECKED_COLUMNS)
    return _refuse_nul(batch, with_nul, lines, rejected, refused_before) if with_nul else batch


def _refuse_nul(
    batch: pa.RecordBatch,
    with_nul: list[tuple[str, np.ndarray]],
    lines: Sequence[RawLine],
    rejected: list[Rejected],
    refused_before: int,
) -> pa.RecordBatch:
    """Refuse the rows holding a NUL character; this batch's refusals stay in line order."""
    refused = {(r.source, r.line) for r in rejected[refused_before:]}
    kept = [raw for raw in lines if (raw.source, raw.line) not in refused]
    reasons: dict[int, str] = {}
    for name, rows in with_nul:
        for row in np.flatnonzero(rows).tolist():
            reasons.setdefault(row, f"NUL character in {name}")
    rejected.extend(Rejected.of(kept[row], reason) for row, reason in reasons.items())
    position = {(raw.source, raw.line): i for i, raw in enumerate(lines)}
    rejected[refused_before:] = sorted(rejected[refused_before:], key=lambda r: position[(r.source, r.line)])
    keep = np.ones(batch.num_rows, bool)
    keep[list(reasons)] = False
    return batch.filter(pa.array(keep))


def _copied(values: Sequence[Any], json_type: pa.DataType) -> pa.Array:
    """A copied field's column: text as text (a rare number kept as its text); a bool only when
    the value is a JSON boolean, else null."""
    if pa.types.is_boolean(json_type):
        return pa.array([v if type(v) is bool else None for v in values], pa.bool_())
    return _strings(values)


def _strings(values: Sequence[Any]) -> pa.Array:
    """Text column; a rare non-string JSON value (a number...) is kept as its text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if v is None or type(v) is str else str(v) for v in values], pa.string())


def _load_slow(data: bytes, exc: Exception) -> Any:
    """Explain why orjson refused a line (or load it after dropping a UTF-8 byte order mark)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject("not valid UTF-8") from None
    if data.startswith(_BOM):
        try:
            return orjson.loads(data[len(_BOM):])
        except orjson.JSONDecodeError as exc2:
            exc = exc2
    raise _Reject(f"invalid JSON: {exc}")


def _key(value: Any, field: str) -> str:
    """Called when asin/reviewerID is not a non-empty string: always refuses."""
    if value is None or value == "":
        raise _Reject(f"missing {field}")
    raise _Reject(f"invalid {field}: {value!r}")


def _rating(value: Any) -> int:
    if value is None:
        raise _Reject("missing overall")
    if type(value) is not float and type(value) is not int:  # bool is an int subclass: refused
        raise _Reject(f"overall not a number: {value!r}")
    if not 1 <= value <= 5:  # NaN fails here too
        raise _Reject(f"overall out of range 1-5: {value:g}")
    if value != int(value):
        raise _Reject(f"overall not a whole number: {value!r}")
    return int(value)


def _review_time(rec: dict) -> int:
    """Seconds since the epoch from unixReviewTime, else from reviewTime "MM DD, YYYY" (UTC)."""
    ts = rec.get("unixReviewTime")
    if ts is not None:
        if type(ts) is str and ts.strip().isdigit():
            return int(ts)
        if type(ts) is float and ts.is_integer() and ts >= 0:
            return int(ts)
        raise _Reject(f"invalid review time: unixReviewTime={ts!r}")
    text = rec.get("reviewTime")
    if text is None or text == "":
        raise _Reject("missing review time")
    try:
        month_day, year = str(text).split(",")
        month, day = month_day.split()
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise _Reject(f"invalid review time: reviewTime={text!r}") from None
    return (date - dt.date(1970, 1, 1)).days * DAY_SECONDS


def _utc_date(ts: int) -> str:
    try:
        return (dt.date(1970, 1, 1) + dt.timedelta(days=ts // DAY_SECONDS)).isoformat()
    except OverflowError:
        return f"unixReviewTime={ts}"


def _votes(rec: dict) -> tuple[int | None, int | None]:
    """(vote, total_votes): the 2018 "vote" (a string such as "1,341", sometimes a number) and no
    total, else the 2014 "helpful": [helpful votes, total votes]."""
    given = rec.get("vote")
    if given is not None:
        return _count(given, "vote"), None
    helpful = rec.get("helpful")
    if helpful is None:
        return None, None
    if type(helpful) is not list or len(helpful) != 2:
        raise _Reject(f"unparseable helpful: {helpful!r}")
    total = helpful[1]
    return _count(helpful[0], "vote"), None if total is None else _count(total, "helpful total")


def _count(given: Any, what: str) -> int | None:
    """A vote count: a whole number 0 .. 2**31-1, as a number or digits with thousands commas."""
    count = given
    if type(given) is str:
        digits = given.strip().replace(",", "")
        if not digits:
            return None
        count = int(digits) if digits.isdigit() and digits.isascii() else None
    elif type(given) is float and given.is_integer():
        count = int(given)
    if type(count) is not int or not 0 <= count <= INT32_MAX:
        raise _Reject(f"unparseable {what}: {given!r}")
    return count


def style_text(style: Any, cache: dict[Any, str | None]) -> str | None:
    """{"Size:": " 7.0 oz"} -> '{"Size":"7.0 oz"}' (sorted keys); null for an empty object."""
    if type(style) is not dict:
        raise _Reject(f"style not a JSON object: {style!r}")
    try:
        key = tuple(style.items())
        return cache[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value (a list...): no caching
        key = None
    clean = {
        k.strip().rstrip(":").rstrip(): v.strip() if type(v) is str else v
        for k, v in style.items()
    }
    try:
        text = orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode() if clean else None
    except orjson.JSONEncodeError as exc:  # orjson writes 255 levels at most; it reads 1024
        raise _Reject("style nested too deeply" if "ecursion" in str(exc) else f"style cannot be stored: {exc}") from None
    if key is not None and len(cache) < 100_000:
        cache[key] = text
    return text


