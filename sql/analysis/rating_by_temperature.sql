-- Average review rating by daily maximum temperature, in 10 °F buckets (runs unchanged on DuckDB and PostgreSQL).
--
-- A review day's temperature is the average tmax over all stations reporting a tmax that day
-- (climate, degrees F); the day falls in bucket floor(tmax / 10) * 10 (e.g. 68.5 -> 60, -3 -> -10).
-- Per bucket: the reviews written on its days, their average rating (2 decimals) and the number of
-- distinct review days. Days without any tmax are left out.
WITH daily_tmax AS (
    SELECT c."date" AS weather_date, avg(c.tmax) AS tmax
    FROM climate AS c
    WHERE c.tmax IS NOT NULL
    GROUP BY c."date"
),
rated_days AS (
    SELECT
        r.review_date,
        r.rating,
        CAST(floor(d.tmax / 10) * 10 AS integer) AS tmax_bucket_f
    FROM reviews_fact AS r
    JOIN daily_tmax AS d ON r.review_date = d.weather_date
)
SELECT
    tmax_bucket_f,
    count(*) AS review_count,
    round(CAST(avg(rating) AS numeric(18, 10)), 2) AS avg_rating,
    count(DISTINCT review_date) AS days
FROM rated_days
GROUP BY tmax_bucket_f
ORDER BY tmax_bucket_f;
