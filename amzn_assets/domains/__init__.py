"""The Dagster definitions, one folder per domain. amzn_assets/definitions.py loads every module
under here (dagster.load_definitions_from_package_module): an asset, check, job or sensor defined
at module scope in any of them is part of the code location, with no registration elsewhere."""
