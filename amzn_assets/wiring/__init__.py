"""Dagster wiring shared by the domains of amzn_assets/domains: partitions, resources, the checks'
specs and evaluation events, reporting metadata. Nothing here is loaded as a definition."""
