"""Warehouse checks in plain Python (no Dagster here): each check's rule written once, evaluated per
day over Arrow tables read through the PartitionStore of the IO manager holding the table, so it runs
unchanged on every backend and on both write paths (the assets, amzn_assets.wiring.checks; the
stream job, amzn_assets.stream.apply). docs/data-model.md lists the checks.
"""
