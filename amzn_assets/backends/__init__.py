"""The warehouse backend, chosen once from Settings.backend: the module of this package with that name.

A backend bundles what differs between deployments: the IO manager of the star tables, where model
artifacts live, how `amzn-assets query` runs SQL, the line `amzn-assets summary` prints, and the
ledger's default home. A new backend is one new module here defining BACKEND (a Backend subclass).
"""

from __future__ import annotations

import importlib
import pkgutil

from amzn_assets.backends.base import Backend
from amzn_assets.settings import Settings
from amzn_assets.storage.artifacts import ArtifactIOManager, ArtifactStore, artifact_io_manager_at

_NOT_BACKENDS = {"base"}


def backend_names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_BACKENDS))


def backend_for(settings: Settings) -> Backend:
    names = backend_names()
    if settings.backend not in names:
        raise ValueError(f"AMZN_BACKEND={settings.backend!r} is not one of {', '.join(names)}")
    module = importlib.import_module(f"{__name__}.{settings.backend}")
    return module.BACKEND(settings)


def ledger_url(settings: Settings) -> str:
    """AMZN_LEDGER_URL; else the backend's default (the Postgres warehouse; SQLite under landed/)."""
    return settings.ledger_url_override or backend_for(settings).default_ledger_url()


def artifact_io_manager(settings: Settings) -> ArtifactIOManager:
    """The rating model's artifacts: <data_dir>/models, or <s3 prefix>/models with the S3 backend
    (Postgres and Redshift hold tables, not files: their artifacts stay beside the data)."""
    return artifact_io_manager_at(backend_for(settings).models_base_path())


def artifact_store(settings: Settings) -> ArtifactStore:
    """The store the code location uses under these settings (for the CLI)."""
    return artifact_io_manager(settings).store()


__all__ = ["Backend", "artifact_io_manager", "artifact_store", "backend_for", "backend_names", "ledger_url"]
