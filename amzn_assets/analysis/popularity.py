"""product_popularity: per product and month, its reviews and ratings, ranked within its category by
the Wilson score lower bound of its share of 4-5 star reviews, beside the month before.

Why Wilson (docs/data-model.md): a mean rating rewards tiny counts (one 5-star review beats 200
reviews at 4.8). The lower bound of the 95% Wilson interval of the positive share is what the share
is at least, given the evidence: it needs no prior to tune per category (a Bayesian average does),
and it is 0 for no reviews and approaches the share as reviews accumulate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pyarrow as pa

from amzn_assets.analysis.sql import month_of, query
from amzn_assets.analysis.trends import UNKNOWN_CATEGORY
from amzn_assets.tables import PRODUCT_POPULARITY, PRODUCTS_SCHEMA, REVIEWS_FACT_SCHEMA

REVIEW_COLUMNS = ("review_date", "category", "asin", "rating")  # what it reads of reviews_fact
PRODUCT_COLUMNS = ("asin", "title", "seen_date")  # and of products
Z = 1.959963984540054  # the 97.5% normal quantile: a two-sided 95% interval
# The order of "the best products": the rank within a category, the top across categories.
TOP_ORDER = [("wilson_lower", "descending"), ("reviews", "descending"), ("asin", "ascending")]

COUNTS_SQL = f"""
    SELECT {month_of('review_date')} AS month, coalesce(category, '{UNKNOWN_CATEGORY}') AS category, asin,
           count(*) AS reviews, sum(rating) AS rating_sum, count(*) FILTER (WHERE rating >= 4) AS positive
    FROM reviews GROUP BY ALL
"""


def month_counts(reviews: pa.Table) -> pa.Table:
    """Per month, category and product: reviews, the sum of their ratings and the 4-5 star ones. Sums:
    the counts of several chunks of days add up (combine_counts)."""
    return query(COUNTS_SQL, {"reviews": reviews.select(list(REVIEW_COLUMNS))})


def combine_counts(parts: Iterable[pa.Table]) -> pa.Table:
    tables = [t for t in parts if t.num_rows] or [month_counts(REVIEWS_FACT_SCHEMA.empty_table())]
    return query(
        "SELECT month, category, asin, sum(reviews) AS reviews, sum(rating_sum) AS rating_sum, sum(positive) AS positive "
        "FROM counts GROUP BY ALL",
        {"counts": pa.concat_tables(tables)},
    )


def latest_titles(products: Iterable[pa.Table]) -> pa.Table:
    """Each product's title as last seen in these products partitions (null titles ignored)."""
    tables = [t.select(list(PRODUCT_COLUMNS)) for t in products if t.num_rows]
    tables = tables or [PRODUCTS_SCHEMA.empty_table().select(list(PRODUCT_COLUMNS))]
    return query(
        "SELECT asin, arg_max(title, seen_date) AS title FROM products WHERE title IS NOT NULL GROUP BY asin",
        {"products": pa.concat_tables(tables)},
    )


def product_popularity(counts: pa.Table, titles: pa.Table, months: Sequence[date]) -> pa.Table:
    """The rows of product_popularity for `months`; `counts` also holds the month before each (for
    previous_* and the changes), `titles` the products' titles."""
    return query(
        f"""
        WITH shares AS (
            SELECT month, category, asin, reviews, rating_sum / reviews AS mean_rating,
                   positive / reviews AS p, CAST(reviews AS DOUBLE) AS n
            FROM counts
        ),
        scored AS (
            SELECT month, category, asin, reviews, mean_rating, p AS positive_share,
                   (p + {Z}^2 / (2 * n) - {Z} * sqrt(p * (1 - p) / n + {Z}^2 / (4 * n * n))) / (1 + {Z}^2 / n) AS wilson_lower
            FROM shares
        ),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY month, category ORDER BY wilson_lower DESC, reviews DESC, asin) AS category_rank
            FROM scored
        )
        SELECT r.month, r.category, r.asin, t.title, r.reviews, r.mean_rating, r.positive_share, r.wilson_lower,
               r.category_rank, b.reviews AS previous_reviews, r.reviews - b.reviews AS reviews_change,
               b.category_rank AS previous_rank, b.category_rank - r.category_rank AS rank_change
        FROM ranked AS r
        LEFT JOIN ranked AS b
          ON b.category = r.category AND b.asin = r.asin AND b.month = CAST(r.month - INTERVAL 1 MONTH AS DATE)
        LEFT JOIN titles AS t ON t.asin = r.asin
        WHERE r.month IN (SELECT unnest(?::DATE[]))
        ORDER BY r.month, r.category, r.category_rank
        """,
        {"counts": counts, "titles": titles},
        PRODUCT_POPULARITY.schema,
        [list(months)],
    )


def top_products(rows: pa.Table, n: int) -> pa.Table:
    """The n best of these product_popularity rows (TOP_ORDER), whatever their categories."""
    return rows.sort_by(TOP_ORDER).slice(0, n)
