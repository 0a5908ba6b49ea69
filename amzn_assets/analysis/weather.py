"""weather_effect and weather_correlation: each category's daily review volume beside the day's
weather, and per month how strongly they move together.

What it can say: reviewers have no location, so the day's weather is the mean over every station
that reported that day (a national signal, not a local one), and a correlation over a month's days is
an association, not an effect; each figure carries the number of days behind it (docs/data-model.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from amzn_assets.analysis.sql import month_of, query
from amzn_assets.tables import WEATHER_CORRELATION, WEATHER_EFFECT

CLIMATE_COLUMNS = ("date", "station_id", "tmax", "tmin", "prcp")  # what it reads of climate
MEASURES = ("tmax", "tmin", "prcp")
MIN_DAYS = 3  # fewer days: no correlation (null)
DAILY_WEATHER = pa.schema([("date", pa.date32()), ("stations", pa.int32())] + [(f"{m}_mean", pa.float64()) for m in MEASURES])


def daily_weather(climate: pa.Table) -> pa.Table:
    """Per day: the stations that reported tmax, tmin or prcp, and each measure's mean over the stations
    that reported it (whole days: a chunk of them is exact)."""
    reported = " OR ".join(f"{m} IS NOT NULL" for m in MEASURES)
    means = ", ".join(f"avg({m}) AS {m}_mean" for m in MEASURES)
    return query(
        f"SELECT date, count(DISTINCT station_id) FILTER (WHERE {reported}) AS stations, {means} "
        "FROM climate GROUP BY date ORDER BY date",
        {"climate": climate.select(list(CLIMATE_COLUMNS))},
        DAILY_WEATHER,
    )


def weather_effect(trends: pa.Table, weather: Iterable[pa.Table]) -> pa.Table:
    """Rows of weather_effect for the months of `trends` (category_trends) and `weather` (daily_weather
    of the same months' days): every day of a month with reviews or weather, for every category
    reviewed in that month (0 reviews on its days without any), beside the day's weather."""
    days = [t for t in weather if t.num_rows] or [DAILY_WEATHER.empty_table()]
    return query(
        f"""
        WITH days AS (SELECT month, review_date AS day FROM trends UNION SELECT {month_of('date')}, date FROM weather),
        categories AS (SELECT DISTINCT month, category FROM trends)
        SELECT d.month, d.day AS review_date, c.category, coalesce(t.reviews, 0) AS reviews,
               coalesce(w.stations, 0) AS stations, w.tmax_mean, w.tmin_mean, w.prcp_mean
        FROM days AS d
        JOIN categories AS c ON c.month = d.month
        LEFT JOIN trends AS t ON t.review_date = d.day AND t.category = c.category
        LEFT JOIN weather AS w ON w.date = d.day
        ORDER BY review_date, category
        """,
        {"trends": trends, "weather": pa.concat_tables(days)},
        WEATHER_EFFECT.schema,
    )


def weather_correlation(effect: pa.Table) -> pa.Table:
    """Per month and category: Pearson's r between daily reviews and each measure's daily mean, over
    the days that have the measure; null under MIN_DAYS days or when either side does not vary."""
    columns = []
    for m in MEASURES:
        x, has = f"{m}_mean", f"{m}_mean IS NOT NULL"
        columns.append(f"count({x}) AS {m}_days")
        columns.append(
            f"CASE WHEN count({x}) >= {MIN_DAYS} AND var_pop({x}) > 0 AND var_pop(reviews) FILTER (WHERE {has}) > 0 "
            f"THEN corr(reviews, {x}) END AS reviews_{m}_corr"
        )
    return query(
        f"SELECT month, category, count(*) AS days, {', '.join(columns)} FROM effect GROUP BY ALL ORDER BY month, category",
        {"effect": effect},
        WEATHER_CORRELATION.schema,
    )
