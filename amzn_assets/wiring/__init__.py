"""Dagster wiring shared by the domains of amzn_assets/defs: partitions, resources, the checks'
specs and evaluation events, reporting metadata. Nothing here is loaded as a definition."""
