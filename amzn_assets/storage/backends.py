"""AMZN_BACKEND -> the IO manager that holds the star tables (amzn_assets.backends chooses it).
Configuration only: the asset code never knows which backend it writes to."""

from __future__ import annotations

from amzn_assets.backends import backend_for, backend_names
from amzn_assets.settings import Settings

BACKENDS = backend_names()


def warehouse_io_manager(backend: str, data_dir: str, *, postgres_url: str | None = None, s3_prefix: str | None = None):
    """The environment's settings with these explicit values (tests) over them."""
    settings = Settings.from_env().with_overrides(
        backend=backend, data_dir=data_dir, postgres_url=postgres_url, s3_prefix=s3_prefix
    )
    return backend_for(settings).warehouse_io_manager()
