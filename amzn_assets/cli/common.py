"""What several commands share: the lander and ledger of the settings, and an error line."""

from __future__ import annotations

import sys

import click

from amzn_assets.settings import Settings

pass_settings = click.pass_obj


def failed(command: str, reason: object, code: int = 1) -> int:
    print(f"amzn-assets {command}: {reason}", file=sys.stderr)
    return code


def lander(settings: Settings):
    """The lander of these settings: the upload area of AMZN_UPLOAD_URL (local or S3), the ledger of
    backends.ledger_url; the same one LandingZone gives the assets."""
    from amzn_assets.landing.intake import lander_for, read_limits

    limits = read_limits(
        settings.upload_max_file_mb, settings.upload_max_inflated_mb, settings.upload_max_ratio,
        settings.upload_max_line_mb, settings.upload_partial_grace_s,
    )
    return lander_for(settings.dirs, upload_url=settings.upload_url, ledger_url=ledger_url_of(settings), limits=limits)


def ledger(settings: Settings):
    from amzn_assets.landing.ledger import open_ledger

    return open_ledger(settings.dirs, ledger_url_of(settings))


def ledger_url_of(settings: Settings) -> str:
    """backends.ledger_url, imported when a command needs it: backends/ loads Dagster (~1 s), which
    `amzn-assets --help` and most commands do without."""
    from amzn_assets.backends import ledger_url

    return ledger_url(settings)


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
