"""The analysis assets: the questions the star schema was built for, answered per month.

    reviews_fact ──▶ product_popularity ◀── products        (popular products, ranked per category)
    reviews_fact ──▶ category_trends ──▶ weather_effect ◀── climate ──▶ weather_correlation

    assets.py      the four monthly assets (analysis_assets(settings)), their charts as metadata
    automation.py  the condition they follow new data by, and analysis_automation (the sensor)

The computations are plain Python in amzn_assets/analysis."""
