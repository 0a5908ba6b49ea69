"""The rating model: amzn_assets/ml and its Dagster assets (amzn_assets/defs/rating_model/)."""
