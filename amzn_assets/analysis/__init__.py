"""The analysis tables in plain Python (no Dagster), computed with DuckDB over Arrow tables: which
products are popular each month (popularity.py), each category's daily volume and rating mix
(trends.py), the reviews beside the day's weather and their correlation (weather.py), and the
charts their materializations carry (charts.py). The Dagster assets are in domains/analysis/."""
