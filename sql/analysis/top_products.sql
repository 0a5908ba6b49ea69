-- Top 20 products by average rating among products with at least 5 reviews (runs unchanged on DuckDB and PostgreSQL).
--
-- avg(rating) is cast to numeric(18, 10) before round(.., 2): a bare `numeric` is DECIMAL(18, 3) in
-- DuckDB, and rounding to 3 then to 2 decimals is wrong (208/49 = 4.2449 -> 4.245 -> 4.25 instead of 4.24).
SELECT
    p.asin,
    p.title,
    p.brand,
    p.category,
    count(*) AS review_count,
    round(CAST(avg(r.rating) AS numeric(18, 10)), 2) AS avg_rating
FROM reviews_fact AS r
JOIN products AS p ON p.asin = r.asin
GROUP BY p.asin, p.title, p.brand, p.category
HAVING count(*) >= 5
ORDER BY avg_rating DESC, review_count DESC, p.asin
LIMIT 20;
