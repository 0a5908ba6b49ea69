"""generate (a deterministic synthetic sample in the upload area) and reset (delete the pipeline folders)."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import date

import click

from amzn_assets.cli.common import comma_list, ledger, ledger_url_of, pass_settings
from amzn_assets.settings import Settings


@click.command(help="write a deterministic synthetic sample into the upload area")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--start", default="2018-01-01", show_default=True, help="first review day (YYYY-MM-DD)")
@click.option("--days", type=int, default=21, show_default=True)
@click.option("--reviews", type=int, default=3000, show_default=True)
@click.option("--categories", default="all_beauty,appliances", show_default=True)
@pass_settings
def generate(settings: Settings, seed: int, start: str, days: int, reviews: int, categories: str) -> int:
    from amzn_assets.generate import generate_sample

    started = time.perf_counter()
    summary = generate_sample(
        settings.data_dir, seed=seed, start=date.fromisoformat(start), days=days, reviews=reviews,
        categories=tuple(comma_list(categories)),
    )
    print(
        f"generated {summary.review_files} review files, {summary.products} products, "
        f"{summary.stations} stations, {summary.climate_rows} climate rows "
        f"for {summary.first_date}..{summary.last_date} in {time.perf_counter() - started:.1f}s"
    )
    return 0


@click.command(help="delete the pipeline folders of the data dir and clear the ledger")
@click.option("--yes", is_flag=True, help="really do it")
@pass_settings
def reset(settings: Settings, yes: bool) -> int:
    dirs = settings.dirs
    # models/: the local rating-model artifacts, trained on the data being deleted.
    folders = [dirs.uploaded, dirs.landed, dirs.raw, dirs.quarantine, dirs.warehouse, dirs.models]
    if not yes:
        print("would delete " + ", ".join(str(f) for f in folders) + f" and clear the ledger at {ledger_url_of(settings)}")
        print("run again with --yes to do it", file=sys.stderr)
        return 2
    ledger(settings).clear()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"reset {dirs.root}: pipeline folders deleted, ledger cleared")
    return 0


COMMANDS = (generate, reset)
