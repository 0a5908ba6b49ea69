"""The review record's fields: ONE table that both review parsers read.

`sources/reviews.py` (orjson, record by record: the ground truth) and the vectorized validator of
bulk dumps (`sources/review_arrow.py`, over pyarrow's parse) both take from here which JSON fields
exist, the JSON type each has on the fast path, which column of PARSED_REVIEW_SCHEMA it feeds, and
which are copied through unchanged or refused on a NUL character. A new field is one row here (and
its rule in both parsers when it is not copied through); a field missing here makes the dump parser
distrust every row that has it, which keeps results right but slow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from amzn_assets.tables import PARSED_REVIEW_SCHEMA

MAX_REVIEW_BYTES = 1 << 20  # a longer record is refused unread (reviews.py says why)
INT32_MAX = 2**31 - 1
INT16_MAX = 2**15 - 1
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class ReviewField:
    json_name: str
    # The JSON type pyarrow reads on the fast path; a value of another type makes it refuse the
    # block (the orjson path then decides). None: inferred (style, an object with arbitrary keys).
    json_type: pa.DataType | None
    columns: tuple[str, ...]  # the PARSED_REVIEW_SCHEMA columns it feeds
    copied: bool = False  # copied through unchanged (text or bool); else a rule of its own derives it
    refuse_nul: bool = False  # a NUL character in it refuses the record (sources/nul.py)


REVIEW_FIELDS = (
    ReviewField("asin", pa.string(), ("asin",), refuse_nul=True),
    ReviewField("reviewerID", pa.string(), ("reviewer_id",), refuse_nul=True),
    ReviewField("reviewerName", pa.string(), ("reviewer_name",), copied=True, refuse_nul=True),
    ReviewField("overall", pa.float64(), ("rating",)),
    ReviewField("unixReviewTime", pa.int64(), ("review_date", "review_time")),
    ReviewField("reviewTime", pa.string(), ("review_date", "review_time")),  # 2014: "MM DD, YYYY"
    ReviewField("verified", pa.bool_(), ("verified",), copied=True),
    ReviewField("vote", pa.string(), ("vote",)),  # 2018: "1,341"
    ReviewField("helpful", pa.list_(pa.int64()), ("vote", "total_votes")),  # 2014: [helpful, total]
    ReviewField("style", None, ("style",)),
    ReviewField("summary", pa.string(), ("summary",), copied=True, refuse_nul=True),
    ReviewField("reviewText", pa.string(), ("review_text",), copied=True, refuse_nul=True),
    ReviewField("image", pa.list_(pa.string()), ("image_count",)),
)

FIELDS_BY_NAME = {f.json_name: f for f in REVIEW_FIELDS}
KNOWN_FIELDS = frozenset(FIELDS_BY_NAME)
# What pyarrow's JSON reader is told; fields not listed (style, unknown ones) are inferred.
FAST_PATH_JSON_SCHEMA = pa.schema([(f.json_name, f.json_type) for f in REVIEW_FIELDS if f.json_type is not None])
COPIED_FIELDS = tuple(f for f in REVIEW_FIELDS if f.copied)
NUL_CHECKED = tuple(f for f in REVIEW_FIELDS if f.refuse_nul)  # not style: orjson escapes a NUL there
NUL_CHECKED_COLUMNS = tuple(f.columns[0] for f in NUL_CHECKED)
NUL_CHECKED_JSON_NAMES = tuple(f.json_name for f in NUL_CHECKED)


def _every_column_has_a_field() -> None:
    fed = {c for f in REVIEW_FIELDS for c in f.columns} | {"category"}  # category: the file's, not the record's
    missing = [name for name in PARSED_REVIEW_SCHEMA.names if name not in fed]
    if missing:
        raise AssertionError(f"PARSED_REVIEW_SCHEMA columns no review field feeds: {missing}")


_every_column_has_a_field()
