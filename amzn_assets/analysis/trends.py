"""category_trends: per category and day, the review volume and the rating mix."""

from __future__ import annotations

import pyarrow as pa

from amzn_assets.analysis.sql import month_of, query
from amzn_assets.tables import CATEGORY_TRENDS

REVIEW_COLUMNS = ("review_date", "category", "rating")  # what category_trends reads of reviews_fact
UNKNOWN_CATEGORY = "(unknown)"  # a review without a category (the key needs one)


def category_trends(reviews: pa.Table) -> pa.Table:
    """Rows of category_trends for the days of `reviews` (whole days: a chunk of them is exact)."""
    stars = ", ".join(f"count(*) FILTER (WHERE rating = {n}) AS stars_{n}" for n in range(1, 6))
    return query(
        f"""
        SELECT {month_of('review_date')} AS month, review_date, coalesce(category, '{UNKNOWN_CATEGORY}') AS category,
               count(*) AS reviews, avg(rating) AS mean_rating, {stars}
        FROM reviews GROUP BY ALL ORDER BY review_date, category
        """,
        {"reviews": reviews.select(list(REVIEW_COLUMNS))},
        CATEGORY_TRENDS.schema,
    )
