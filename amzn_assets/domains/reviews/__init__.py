"""Reviews: landed_reviews -> users, products, datetime -> reviews_fact, and their checks."""
