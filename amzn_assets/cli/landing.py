"""land, split, upload, import and restore: files into the upload area, from there into the ledger, and
back out of the archive."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from amzn_assets.cli.common import comma_list, failed, lander, pass_settings
from amzn_assets.settings import Settings


@click.command(help="land every complete file in the upload area now (AMZN_UPLOAD_URL, else the data dir)")
@pass_settings
def land(settings: Settings) -> int:
    report = lander(settings).land_pending()
    print(
        f"landed {report.files_landed} files ({report.rows} rows) in {report.batches} batches, "
        f"{report.files_quarantined} files quarantined, {report.files_duplicate} duplicates, "
        f"{report.rejected_records} records quarantined, {report.seconds:.2f}s"
    )
    for kind, keys in sorted(report.partitions.items()):
        if keys:
            print(f"  {kind}: {len(keys)} partitions {min(keys)}..{max(keys)}")
    return 0


@click.command(help="split a review dump (gzip JSON lines) into one-review files; DUMP: e.g. All_Beauty_5.json.gz (Amazon 2018 5-core)")
@click.argument("dump")
@click.option("--category", required=True, help="category folder name, e.g. home_and_kitchen")
@click.option("--out", help="output folder (default: <data dir>/<category>)")
@click.option("--limit", type=int, help="stop after this many files")
@pass_settings
def split(settings: Settings, dump: str, category: str, out: str | None, limit: int | None) -> int:
    from amzn_assets.upload_simulator.split import SplitError, split_dump

    try:
        summary = split_dump(dump, category, Path(out) if out else settings.data_dir / category, limit=limit)
    except ValueError as exc:
        return failed("split", exc, 2)
    except (SplitError, OSError) as exc:
        return failed("split", exc)
    print(
        f"split {summary.lines} lines of {summary.dump} into {summary.files} files under {summary.out_dir} "
        f"in {summary.seconds:.1f}s ({summary.files_per_s:,.0f} files/s)"
    )
    return 0


@click.command(help="move split files into the upload area at a steady rate")
@click.option("--categories", required=True, help="comma-separated, taken round-robin")
@click.option("--rate", required=True, help="N/min, N/s or N (per minute); 0 or max: unthrottled")
@click.option("--limit", type=int, help="stop after this many files")
@click.option("--target", help="folder or s3://bucket/prefix (default: the upload area's uploaded/: AMZN_UPLOAD_URL, else the data dir)")
@click.option("--copy", is_flag=True, help="keep the source files (default: move)")
@click.option(
    "--keep-review-time/--no-keep-review-time", default=True,
    help="upload byte-for-byte (default); --no-keep-review-time stamps each review with the current time",
)
@click.option("--source-dir", help="folder holding <category>/ (default: the data dir)")
@pass_settings
def upload(settings: Settings, categories: str, rate: str, limit: int | None, target: str | None, copy: bool,
           keep_review_time: bool, source_dir: str | None) -> int:
    from amzn_assets.upload_simulator.upload import UploadError, upload_files

    code = 0
    try:
        summary = upload_files(
            comma_list(categories),
            source_dir=Path(source_dir) if source_dir else settings.data_dir,
            target=target or upload_area(settings),
            rate=rate,
            limit=limit,
            copy=copy,
            keep_review_time=keep_review_time,
        )
    except ValueError as exc:
        return failed("upload", exc, 2)
    except UploadError as exc:
        failed("upload", exc)
        summary, code = exc.summary, 1
    per_category = ", ".join(f"{c} {n}" for c, n in summary.per_category.items())
    print(
        f"uploaded {summary.uploaded} files ({summary.bytes:,} bytes; {per_category}) to {summary.target} "
        f"in {summary.seconds:.1f}s ({summary.files_per_s:,.1f} files/s)"
        + (", stopped early" if summary.stopped_early else "")
    )
    return 130 if summary.stopped_early else code


def upload_area(settings: Settings) -> str:
    """<AMZN_UPLOAD_URL>/uploaded, else <data dir>/uploaded: where the lander looks."""
    if settings.uploads_to_s3:
        return settings.upload_url.rstrip("/") + "/uploaded"
    return str(Path(settings.upload_root) / "uploaded")


@click.command(
    name="import",
    help="land a whole review (or metadata) dump at once, without tiny files; DUMP: gzip JSON lines, "
    "e.g. Home_and_Kitchen_5.json.gz or meta_Home_and_Kitchen.json.gz",
)
@click.argument("dump")
@click.option("--category", help="category of the dump's reviews, e.g. home_and_kitchen")
@click.option("--kind", type=click.Choice(["reviews", "products"]), default="reviews", show_default=True)
@click.option(
    "--materialize", is_flag=True,
    help="then materialize exactly the days with data (stream_job runs in this process, recorded in DAGSTER_HOME)",
)
@pass_settings
def import_(settings: Settings, dump: str, category: str | None, kind: str, materialize: bool) -> int:
    from amzn_assets.landing.bulk import ImportFailed, import_dump
    from amzn_assets.upload_simulator.progress import Progress

    try:
        with Progress(f"import {Path(dump).name}") as progress:
            report = import_dump(lander(settings), dump, kind=kind, category=category, on_progress=progress.update_to)
    except (ImportFailed, FileNotFoundError) as exc:
        return failed("import", exc)
    if report.duplicate_of:
        print(f"already imported: {report.path} has the same content as {report.duplicate_of}; nothing to do")
        return 0
    span = f"{report.days[0]}..{report.days[-1]} ({len(report.days)} days)" if report.days else "no dated rows"
    print(
        f"imported {report.rows:,} {kind} rows from {report.path} in {report.seconds:.1f}s "
        f"({report.rows_per_s:,.0f} rows/s), {report.rejected} quarantined, batch {report.batch_id}, {span}"
    )
    if materialize:
        return materialize_landed(settings)
    if report.days:
        print(
            f"materialize exactly these {len(report.days)} days: amzn-assets import ... --materialize (or the stream "
            "sensor), or the whole span: dagster asset materialize -m amzn_assets --select '*reviews_fact' "
            f"--partition-range {report.days[0]}...{report.days[-1]}"
        )
    return 0


def materialize_landed(settings: Settings) -> int:
    """Run stream_job in this process, on the instance of DAGSTER_HOME (the UI shows the runs and
    per-day materializations), until every landed batch is materialized."""
    if not settings.dagster_home:
        return failed("import", "--materialize records its runs in the Dagster instance: set DAGSTER_HOME", 2)
    from dagster import DagsterInstance

    from amzn_assets.definitions import defs_for
    from amzn_assets.stream.apply import STREAM_WATERMARK

    ledger = lander(settings).ledger
    job = defs_for(settings).get_job_def("stream_job")
    with DagsterInstance.get() as instance:
        while ledger.committed_after(ledger.applied_through(STREAM_WATERMARK), limit=1):
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, raise_on_error=False)
            if not result.success:
                print(f"amzn-assets: stream_job run {result.run_id} failed; see it in the UI", file=sys.stderr)
                return 1
            events = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
            days = {e.event_specific_data.materialization.partition for e in events}
            print(f"run {result.run_id}: {len(events)} partition materializations, {len(days)} days, "
                  f"{time.perf_counter() - started:.1f}s")
    return 0


@click.command(help="write landed files back from the archive byte for byte (SHA-256 checked); PATH: an upload path "
                    "(uploaded/reviews/toys/x.json.gz, or reviews/toys/x.json.gz) or a ledger archived_path")
@click.argument("path", required=False)
@click.option("--batch", help="restore every file of this landing batch instead")
@click.option("--to", "to_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="folder to write into, at each file's path below uploaded/ (--to data/uploaded uploads them again)")
@pass_settings
def restore(settings: Settings, path: str | None, batch: str | None, to_dir: str) -> int:
    from amzn_assets.landing.archive import ArchiveError, restore_rows

    if bool(path) == bool(batch):
        return failed("restore", "give a PATH or --batch BATCH_ID (one of them)", 2)
    landing = lander(settings)
    if batch:
        rows = landing.ledger.archived_files(batch_id=batch)
        if not rows:
            return failed("restore", f"no files in batch {batch!r} (batch ids look like 20180102T030405123456-1a2b3c4d)")
    else:
        asked = path.strip()
        rows = landing.ledger.archived_files(paths=[asked, f"uploaded/{asked}"])
        if not rows:
            return failed("restore", f"no landed file has the upload or archived path {asked!r}")
        newest = rows[-1]  # of several uploads under one path, the latest
        older = [r for r in rows if r["sha256"] != newest["sha256"]]
        rows = [newest]
        if older:
            print(f"{newest['path']} was uploaded with other content {len(older)} time(s) before; restoring the newest "
                  f"(an older one: amzn-assets restore '{older[-1]['archived_path']}')")
    try:
        restored = restore_rows(landing.archive, rows, to_dir)
    except ArchiveError as exc:
        return failed("restore", exc)
    for done in restored[:20]:
        print(f"{done.path} -> {done.written_to} ({done.size:,} bytes, SHA-256 checked{', already there' if done.unchanged else ''})")
    if len(restored) > 20:
        print(f"... and {len(restored) - 20:,} more")
    print(f"restored {len(restored):,} files under {to_dir}")
    return 0


COMMANDS = (land, split, upload, import_, restore)
