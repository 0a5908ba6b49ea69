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


__all__ = ["Backend", "backend_for", "backend_names", "ledger_url"]
