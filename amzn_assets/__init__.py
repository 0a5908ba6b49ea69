"""amzn-assets: Amazon reviews and NOAA weather as a partitioned Dagster asset graph.

`defs` (the Dagster Definitions) is loaded lazily, so `dagster ... -m amzn_assets` finds it while
the plain-Python parts (parsers, generator, CLI) import without paying for Dagster.
"""

_LAZY = ("defs",)


def __getattr__(name: str):
    if name == "defs":
        from amzn_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'amzn_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
