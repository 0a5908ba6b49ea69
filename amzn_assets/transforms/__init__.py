"""Plain-Python (pyarrow) transforms from landed records to the star schema. No Dagster import."""
