"""The asset groups and the owner every asset declares: jobs and sensors select by these names
(AssetSelection.groups), so moving an asset between domains is a change in one place."""

REVIEWS = "reviews"  # landed_reviews, users, products, datetime, reviews_fact, product_catalog
CLIMATE = "climate"  # landed_climate, stations, climate, station_list
RATING_MODEL = "rating_model"  # rating_tokenizer, rating_model, rating_model_evaluation, rating_predictions
UPLOADS = "uploads"  # upload_area (an external asset: where files arrive)
ANALYSIS = "analysis"  # product_popularity, category_trends, weather_effect, weather_correlation (monthly)
WAREHOUSE = (REVIEWS, CLIMATE)  # the daily star schema

OWNERS = ["team:data-platform"]
