"""The Dagster definitions, one folder per domain: the `dg` project's defs folder ([tool.dg.project]
defs_module in pyproject.toml). amzn_assets/definitions.py loads every module under here
(dagster.load_from_defs_folder): an asset, check, job or sensor defined at module scope in any of them
is part of the code location, with no registration elsewhere."""
