"""The real All Beauty excerpt read with plain Python, independently of the parsers: which of its
records are one review (the rule of docs/data-model.md) and what each review's review_id is."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from functools import cache

from amzn_assets_tests.conftest import FIXTURES

BEAUTY = FIXTURES / "All_Beauty_5.json.gz"


@cache
def records() -> tuple[dict, ...]:
    with gzip.open(BEAUTY, "rt", encoding="utf-8") as lines:
        return tuple(json.loads(line) for line in lines if line.strip())


def style_text(style: dict | None) -> str | None:
    """{"Size:": " 7.0 oz"} -> '{"Size":"7.0 oz"}': keys without the trailing colon, sorted; {} -> null."""
    if not style:
        return None
    clean = {k.strip().rstrip(":").rstrip(): v.strip() if isinstance(v, str) else v for k, v in style.items()}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def identity(record: dict) -> tuple:
    """The seven fields that make a review, in review_id order."""
    return (
        record["reviewerID"], record["asin"], record["unixReviewTime"], style_text(record.get("style")),
        int(record["overall"]), record.get("summary"), record.get("reviewText"),
    )


def review_id(record: dict) -> str:
    """md5 of each field as <length>:<text>, or "-" for null, concatenated (docs/data-model.md)."""
    parts = ("-" if v is None else f"{len(str(v))}:{v}" for v in identity(record))
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()


def day_of(record: dict) -> dt.date:
    return dt.datetime.fromtimestamp(record["unixReviewTime"], dt.timezone.utc).date()


def distinct_reviews(first: dt.date = dt.date.min, last: dt.date = dt.date.max) -> dict[tuple, dict]:
    """identity -> the review's last record in file order (a later copy wins), for review days in [first, last]."""
    reviews: dict[tuple, dict] = {}
    for record in records():
        if first <= day_of(record) <= last:
            reviews[identity(record)] = record
    return reviews
