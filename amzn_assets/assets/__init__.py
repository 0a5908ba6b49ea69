"""Dagster wiring of the asset graph; the work itself lives in transforms/ and landing/."""
