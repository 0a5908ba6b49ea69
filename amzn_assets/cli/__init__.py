"""The amzn-assets command line: generate sample data, land uploads, query the warehouse.

One module per command group; each command gets the deployment's Settings (read once, here) as its
click object. A command's failure is one line on stderr (AMZN_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import sys

import click

from amzn_assets.cli import landing, model, redshift, sample, warehouse
from amzn_assets.settings import Settings


@click.group(name="amzn-assets", help=__doc__.split("\n\n")[0])
@click.option("--data-dir", type=click.Path(file_okay=False), help="data directory (default: $AMZN_DATA_DIR or ./data)")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    ctx.obj = ctx.obj.with_data_dir(data_dir)


for group in (sample, landing, warehouse, model, redshift):
    for command in group.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """The console script: the command's exit status (0 ok, 1 failed, 2 refused or bad usage, 130 interrupted)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"amzn-assets: {exc}", file=sys.stderr)
        return 1
    ctx = None
    try:
        with cli.make_context("amzn-assets", args, obj=settings) as ctx:
            return cli.invoke(ctx) or 0
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.ClickException as exc:  # a usage error: click's message and usage line
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        return 130
    except Exception as exc:  # noqa: BLE001 - bad SQL, a bad argument, a missing file: one line, no traceback
        if settings.debug:
            raise
        command = f" {ctx.invoked_subcommand}" if ctx is not None and ctx.invoked_subcommand else ""
        print(f"amzn-assets{command}: {first_line(exc)} (AMZN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
