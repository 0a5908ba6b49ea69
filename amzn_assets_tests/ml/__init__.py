"""The rating model: amzn_assets/ml and its Dagster assets (amzn_assets/domains/rating_model/)."""
