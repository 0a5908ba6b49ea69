"""The amzn-assets command line: generate sample data, land uploads, query the warehouse."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from amzn_assets.settings import DataDirs, data_dir_from_env


def _dirs(args: argparse.Namespace) -> DataDirs:
    return DataDirs(Path(args.data_dir).resolve() if args.data_dir else data_dir_from_env())


def cmd_generate(args: argparse.Namespace) -> int:
    from amzn_assets.generate import generate_sample

    started = time.perf_counter()
    summary = generate_sample(
        _dirs(args).root,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        days=args.days,
        reviews=args.reviews,
        categories=tuple(c.strip() for c in args.categories.split(",") if c.strip()),
    )
    print(
        f"generated {summary.review_files} review files, {summary.products} products, "
        f"{summary.stations} stations, {summary.climate_rows} climate rows "
        f"for {summary.first_date}..{summary.last_date} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_land(args: argparse.Namespace) -> int:
    from amzn_assets.landing.intake import Lander

    report = Lander(_dirs(args)).land_pending()
    print(
        f"landed {report.files_landed} files ({report.rows} rows) in {report.batches} batches, "
        f"{report.files_quarantined} files quarantined, {report.files_duplicate} duplicates, "
        f"{report.rejected_records} records quarantined, {report.seconds:.2f}s"
    )
    for kind, keys in sorted(report.partitions.items()):
        if keys:
            print(f"  {kind}: {len(keys)} partitions {min(keys)}..{max(keys)}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from amzn_assets.warehouse.query import format_table, query_from_env

    sql = Path(args.file).read_text() if args.file else args.sql
    if not sql:
        print("give a SQL string or --file", file=sys.stderr)
        return 2
    try:
        result = query_from_env(_dirs(args).warehouse)(sql)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        print(format_table(result))
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    import shutil

    from amzn_assets.landing.ledger import Ledger
    from amzn_assets.storage.artifacts import MODELS_DIR

    dirs = _dirs(args)
    # models/: the local rating-model artifacts, trained on the data being deleted.
    folders = [dirs.uploaded, dirs.landed, dirs.raw, dirs.quarantine, dirs.warehouse, dirs.root / MODELS_DIR]
    if not args.yes:
        print("would delete " + ", ".join(str(f) for f in folders) + f" and clear the ledger at {dirs.ledger_url()}")
        print("run again with --yes to do it", file=sys.stderr)
        return 2
    Ledger(dirs.ledger_url(), lock_path=dirs.landed / ".landing.lock").clear()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"reset {dirs.root}: pipeline folders deleted, ledger cleared")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from amzn_assets.landing.ledger import Ledger
    from amzn_assets.warehouse.query import counts_with, query_from_env

    dirs = _dirs(args)
    backend = os.environ.get("AMZN_BACKEND", "local")
    counts = counts_with(query_from_env(dirs.warehouse))
    if not counts:
        print(f"nothing materialized yet (AMZN_BACKEND={backend})")
        return 1
    where = {
        "local": str(dirs.warehouse),
        "postgres": f"schema {os.environ.get('AMZN_POSTGRES_SCHEMA', 'public')}",
        "s3": os.environ.get("AMZN_S3_PREFIX", "") + "/warehouse",
        "redshift": f"{os.environ.get('AMZN_REDSHIFT_HOST', '?')} schema {os.environ.get('AMZN_REDSHIFT_SCHEMA', 'public')}",
    }.get(backend, "")
    print(f"warehouse ({backend}): {where}")
    print(f"  {'table':<16}{'rows':>10}{'partitions':>12}")
    for name, (rows, partitions) in counts.items():
        print(f"  {name:<16}{rows:>10}{partitions:>12}")
    ledger = Ledger(dirs.ledger_url(), lock_path=dirs.landed / ".landing.lock")
    files = ledger.file_status_counts()
    print("  landing ledger: " + (", ".join(f"{n} files {s}" for s, n in sorted(files.items())) or "empty"))
    print(f"  quarantined records: {len(ledger.quarantined())}")
    print_checks(dirs, backend)
    return 0


def print_checks(dirs: DataDirs, backend: str) -> None:
    """The asset checks: the latest evaluations in the Dagster instance of DAGSTER_HOME, else the
    checks run now over the warehouse."""
    from amzn_assets.checks.summary import summary_lines

    os.environ["AMZN_DATA_DIR"] = str(dirs.root)  # the code location's resources read it
    if os.environ.get("DAGSTER_HOME"):
        from dagster import DagsterInstance

        from amzn_assets.assets.check_records import latest_evaluations

        with DagsterInstance.get() as instance:
            summaries = latest_evaluations(instance)
        print(f"  asset checks (latest evaluation of each day, from the Dagster instance in {os.environ['DAGSTER_HOME']}):")
    else:
        from amzn_assets.assets.check_records import evaluate_now
        from amzn_assets.definitions import resources_for
        from amzn_assets.warehouse.query import query_from_env

        query = query_from_env(dirs.warehouse)
        days = {}
        for table, column in (("reviews_fact", "review_date"), ("climate", "date")):
            try:
                days[table] = [str(row[0]) for row in query(f'SELECT DISTINCT "{column}" FROM "{table}"').rows]
            except Exception:  # noqa: BLE001 - the table is not materialized
                days[table] = []
        summaries = evaluate_now(resources_for(backend, str(dirs.root), os.environ.get("AMZN_UPLOAD_URL", "")), days)
        print("  asset checks (DAGSTER_HOME is not set: run now over every day of the warehouse; freshness counts "
              "only the stream's watermark):")
    print("\n".join(summary_lines(summaries)))


def cmd_split(args: argparse.Namespace) -> int:
    from amzn_assets.stream.split import SplitError, split_dump

    out = Path(args.out) if args.out else _dirs(args).root / args.category
    try:
        summary = split_dump(args.dump, args.category, out, limit=args.limit)
    except ValueError as exc:
        print(f"amzn-assets split: {exc}", file=sys.stderr)
        return 2
    except (SplitError, OSError) as exc:
        print(f"amzn-assets split: {exc}", file=sys.stderr)
        return 1
    print(
        f"split {summary.lines} lines of {summary.dump} into {summary.files} files under {summary.out_dir} "
        f"in {summary.seconds:.1f}s ({summary.files_per_s:,.0f} files/s)"
    )
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from amzn_assets.stream.upload import UploadError, upload_files

    dirs = _dirs(args)
    code = 0
    try:
        summary = upload_files(
            [c.strip() for c in args.categories.split(",") if c.strip()],
            source_dir=Path(args.source_dir) if args.source_dir else dirs.root,
            target=args.target or dirs.uploaded,
            rate=args.rate,
            limit=args.limit,
            copy=args.copy,
            keep_review_time=args.keep_review_time,
        )
    except ValueError as exc:
        print(f"amzn-assets upload: {exc}", file=sys.stderr)
        return 2
    except UploadError as exc:
        print(f"amzn-assets upload: {exc}", file=sys.stderr)
        summary, code = exc.summary, 1
    per_category = ", ".join(f"{c} {n}" for c, n in summary.per_category.items())
    print(
        f"uploaded {summary.uploaded} files ({summary.bytes:,} bytes; {per_category}) to {summary.target} "
        f"in {summary.seconds:.1f}s ({summary.files_per_s:,.1f} files/s)"
        + (", stopped early" if summary.stopped_early else "")
    )
    return 130 if summary.stopped_early else code


def cmd_import(args: argparse.Namespace) -> int:
    from amzn_assets.landing.bulk import ImportFailed, import_dump
    from amzn_assets.landing.intake import Lander
    from amzn_assets.stream.progress import Progress

    try:
        with Progress(f"import {Path(args.dump).name}") as progress:
            done = [0]

            def advance(rows: int) -> None:
                progress.update(rows - done[0])
                done[0] = rows

            report = import_dump(Lander(_dirs(args)), args.dump, kind=args.kind, category=args.category, on_progress=advance)
    except (ImportFailed, FileNotFoundError) as exc:
        print(f"amzn-assets import: {exc}", file=sys.stderr)
        return 1
    if report.duplicate_of:
        print(f"already imported: {report.path} has the same content as {report.duplicate_of}; nothing to do")
        return 0
    span = f"{report.days[0]}..{report.days[-1]} ({len(report.days)} days)" if report.days else "no dated rows"
    print(
        f"imported {report.rows:,} {args.kind} rows from {report.path} in {report.seconds:.1f}s "
        f"({report.rows_per_s:,.0f} rows/s), {report.rejected} quarantined, batch {report.batch_id}, {span}"
    )
    if args.materialize:
        return materialize_landed(_dirs(args))
    if report.days:
        print(
            f"materialize exactly these {len(report.days)} days: amzn-assets import ... --materialize (or the stream "
            "sensor), or the whole span: dagster asset materialize -m amzn_assets --select '*reviews_fact' "
            f"--partition-range {report.days[0]}...{report.days[-1]}"
        )
    return 0


def materialize_landed(dirs: DataDirs) -> int:
    """Run stream_job in this process, on the instance of DAGSTER_HOME (the UI shows the runs and
    per-day materializations), until every landed batch is materialized."""
    os.environ["AMZN_DATA_DIR"] = str(dirs.root)  # the code location's resources read it
    from dagster import DagsterInstance

    from amzn_assets.definitions import defs
    from amzn_assets.landing.intake import Lander
    from amzn_assets.sensors.apply import WAREHOUSE

    if not os.environ.get("DAGSTER_HOME"):
        print("amzn-assets: --materialize records its runs in the Dagster instance: set DAGSTER_HOME", file=sys.stderr)
        return 2
    ledger = Lander(dirs).ledger
    job = defs.get_job_def("stream_job")
    with DagsterInstance.get() as instance:
        while ledger.committed_after(ledger.applied_through(WAREHOUSE), limit=1):
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


def _redshift_error(exc: Exception, code: int) -> int:
    print(f"amzn-assets redshift: {exc}", file=sys.stderr)
    return code


def cmd_redshift_create(args: argparse.Namespace) -> int:
    from amzn_assets.redshift_admin import (
        ClusterSpec,
        RedshiftAdminError,
        create_cluster,
        redshift_client,
    )

    try:
        spec = ClusterSpec.from_env(identifier=args.identifier, node_type=args.node_type, number_of_nodes=args.nodes)
    except ValueError as exc:
        return _redshift_error(exc, 2)
    try:
        info = create_cluster(redshift_client(), spec, wait=args.wait, timeout=args.timeout)
    except RedshiftAdminError as exc:
        return _redshift_error(exc, 1)
    if info.existed:
        print(f"cluster {info.identifier} already exists (status {info.status}); left as it is")
        if (info.node_type, info.number_of_nodes) != (spec.node_type, spec.number_of_nodes):
            print(f"note: it has {info.number_of_nodes} x {info.node_type}, not {spec.number_of_nodes} x {spec.node_type}")
    else:
        print(f"created cluster {info.identifier}" if args.wait else f"creating cluster {info.identifier} (use --wait to wait)")
    print("\n".join(info.as_rows()))
    return 0


def cmd_redshift_describe(args: argparse.Namespace) -> int:
    from amzn_assets.redshift_admin import (
        RedshiftAdminError,
        cluster_id_from_env,
        describe_cluster,
        redshift_client,
    )

    try:
        info = describe_cluster(redshift_client(), args.identifier or cluster_id_from_env())
    except RedshiftAdminError as exc:
        return _redshift_error(exc, 1)
    print("\n".join(info.as_rows()))
    return 0


def cmd_redshift_delete(args: argparse.Namespace) -> int:
    from amzn_assets.redshift_admin import (
        RedshiftAdminError,
        cluster_id_from_env,
        delete_cluster,
        describe_cluster,
        redshift_client,
    )

    identifier = args.identifier or cluster_id_from_env()
    snapshot = f"final snapshot {args.final_snapshot}" if args.final_snapshot else "no final snapshot"
    try:
        client = redshift_client()
        if not args.yes:
            try:
                print("\n".join(describe_cluster(client, identifier).as_rows()))
            except RedshiftAdminError as exc:
                print(f"({exc})")
            print(f"would delete cluster {identifier} ({snapshot}); add --yes to delete it", file=sys.stderr)
            return 2
        info = delete_cluster(client, identifier, final_snapshot=args.final_snapshot, wait=args.wait, timeout=args.timeout)
    except RedshiftAdminError as exc:
        return _redshift_error(exc, 1)
    print(f"{'deleted' if args.wait else 'deleting'} cluster {identifier} ({snapshot}); status {info.status}")
    return 0


def _stored_month(args: argparse.Namespace, asset: str, command: str):
    """(artifact store, the month of `asset` asked for by --model or else the latest stored); the
    month is None, with the reason on stderr, when it is not stored."""
    from amzn_assets.storage.artifacts import artifact_store_from_env

    store = artifact_store_from_env(str(_dirs(args).root))
    month = args.model or store.latest(asset)
    if month and store.exists(asset, month):
        return store, month
    print(f"amzn-assets {command}: no {asset} {month or 'partition'} in {store.base}; stored: "
          f"{', '.join(store.partitions(asset)) or 'none'} (materialize one with dagster)", file=sys.stderr)
    return store, None


def cmd_evaluation(args: argparse.Namespace) -> int:
    """A stored rating_model_evaluation: the split, the model against both baselines, the confusion matrix."""
    from amzn_assets.ml import evaluate
    from amzn_assets.ml.artifacts import METRICS_FILE, read_json

    store, month = _stored_month(args, "rating_model_evaluation", "evaluation")
    if month is None:
        return 1
    metrics = read_json(store.get("rating_model_evaluation", month) / METRICS_FILE)
    split = metrics["split"]
    if args.json:
        import json

        print(json.dumps(evaluation_summary(month, metrics), sort_keys=True))
        return 0
    print(f"rating model {month}: window {metrics['window_start']}..{metrics['window_end']}, "
          f"{split.get('train_texts', split.get('train_reviews'))} distinct training texts before {split['test_cutoff_utc']}, "
          f"{split['test_reviews']} test reviews ({split.get('test_texts', '?')} distinct texts, none seen in training) after\n")
    print("per review:\n" + evaluate.comparison_markdown({k: v for k, v in metrics.items() if k in evaluate.SCORERS}))
    if "per_text" in metrics:
        print("\nper distinct text:\n" + evaluate.comparison_markdown(metrics["per_text"]))
    print("\nmodel, confusion matrix:\n" + evaluate.confusion_markdown(metrics[evaluate.MODEL]))
    sanity = metrics.get("sanity")
    if sanity:
        print(f"\nsanity set: {sanity['within_one_star']}/{sanity['items']} within one star; clear complaints <= 2 stars "
              f"{sanity['complaints_at_most_2']}/{sanity['complaints']}, clear praise >= 4 {sanity['praise_at_least_4']}/{sanity['praise']}")
    return 0


def evaluation_summary(month: str, metrics: dict) -> dict:
    """The stored evaluation, machine-readable: {"model": {mae, accuracy, macro_f1, ...}, "baselines":
    {name: {the same keys}}, "per_text": {the same layout}, "split", "sanity"}."""
    from amzn_assets.ml import evaluate

    def scores(results: dict) -> dict:
        keep = ("mae", "accuracy", "macro_f1", "mae_argmax", "reviews")
        flat = {k: {m: v[m] for m in keep if m in v} for k, v in results.items() if k in evaluate.SCORERS}
        return {"model": flat.get(evaluate.MODEL, {}), "baselines": {k: v for k, v in flat.items() if k != evaluate.MODEL}}

    sanity = {k: v for k, v in (metrics.get("sanity") or {}).items() if k != "predictions"}
    return {"partition": month, "split": metrics.get("split", {}), **scores(metrics),
            "per_text": scores(metrics.get("per_text", {})), "sanity": sanity}


def cmd_predict(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info lines
    store, month = _stored_month(args, "rating_model", "predict")
    if month is None:
        return 1
    try:
        from amzn_assets.ml.predict import RatingPredictor
    except ImportError as exc:
        print(f"amzn-assets predict: {exc}; install the ml extra: pip install '.[ml]'", file=sys.stderr)
        return 2
    predictor = RatingPredictor.load(store.get("rating_model", month))
    for text, prediction in zip(args.text, predictor.predict(args.text)):
        if args.json:
            import json

            print(json.dumps({"model": month, "text": text} | prediction.__dict__))
        else:
            print(f"{prediction.as_line()}  [model {month}]  {text[:60]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amzn-assets", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: $AMZN_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a deterministic synthetic sample into the upload area")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--start", default="2018-01-01", help="first review day (YYYY-MM-DD)")
    gen.add_argument("--days", type=int, default=21)
    gen.add_argument("--reviews", type=int, default=3000)
    gen.add_argument("--categories", default="all_beauty,appliances")
    gen.set_defaults(func=cmd_generate)

    land = sub.add_parser("land", help="land every complete file in the upload area now")
    land.set_defaults(func=cmd_land)

    query = sub.add_parser("query", help="run SQL over the warehouse (tables under their asset names)")
    query.add_argument("sql", nargs="?")
    query.add_argument("--file", help="read the SQL from a file, e.g. sql/analysis/top_products.sql")
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.set_defaults(func=cmd_query)

    split = sub.add_parser("split", help="split a review dump (gzip JSON lines) into one-review files")
    split.add_argument("dump", help="e.g. All_Beauty_5.json.gz (Amazon 2018 5-core)")
    split.add_argument("--category", required=True, help="category folder name, e.g. home_and_kitchen")
    split.add_argument("--out", help="output folder (default: <data dir>/<category>)")
    split.add_argument("--limit", type=int, help="stop after this many files")
    split.set_defaults(func=cmd_split)

    upload = sub.add_parser("upload", help="move split files into the upload area at a steady rate")
    upload.add_argument("--categories", required=True, help="comma-separated, taken round-robin")
    upload.add_argument("--rate", required=True, help="N/min, N/s or N (per minute); 0 or max: unthrottled")
    upload.add_argument("--limit", type=int, help="stop after this many files")
    upload.add_argument("--target", help="folder or s3://bucket/prefix (default: <data dir>/uploaded)")
    upload.add_argument("--copy", action="store_true", help="keep the source files (default: move)")
    upload.add_argument(
        "--keep-review-time",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="upload byte-for-byte (default); --no-keep-review-time stamps each review with the current time",
    )
    upload.add_argument("--source-dir", help="folder holding <category>/ (default: the data dir)")
    upload.set_defaults(func=cmd_upload)

    imp = sub.add_parser("import", help="land a whole review (or metadata) dump at once, without tiny files")
    imp.add_argument("dump", help="gzip JSON lines, e.g. Home_and_Kitchen_5.json.gz or meta_Home_and_Kitchen.json.gz")
    imp.add_argument("--category", help="category of the dump's reviews, e.g. home_and_kitchen")
    imp.add_argument("--kind", choices=["reviews", "products"], default="reviews")
    imp.add_argument(
        "--materialize", action="store_true",
        help="then materialize exactly the days with data (stream_job runs in this process, recorded in DAGSTER_HOME)",
    )
    imp.set_defaults(func=cmd_import)

    reset = sub.add_parser("reset", help="delete the pipeline folders of the data dir and clear the ledger")
    reset.add_argument("--yes", action="store_true", help="really do it")
    reset.set_defaults(func=cmd_reset)

    summary = sub.add_parser("summary", help="rows and partitions per table, ledger and quarantine counts")
    summary.set_defaults(func=cmd_summary)

    predict = sub.add_parser("predict", help="rate review texts with a trained rating_model (needs the ml extra)")
    predict.add_argument("text", nargs="+", help="review text(s), one rating each")
    predict.add_argument("--model", metavar="PARTITION", help="rating_model month, e.g. 2018-05 (default: the latest stored)")
    predict.add_argument("--json", action="store_true", help="one JSON object per text")
    predict.set_defaults(func=cmd_predict)

    evaluation = sub.add_parser("evaluation", help="print a stored rating_model_evaluation: model vs baselines")
    evaluation.add_argument("--model", metavar="PARTITION", help="month, e.g. 2018-05 (default: the latest stored)")
    evaluation.add_argument("--json", action="store_true", help="the stored evaluation as one JSON object")
    evaluation.set_defaults(func=cmd_evaluation)

    redshift = sub.add_parser("redshift", help="manage the Redshift cluster (AWS_* and AMZN_REDSHIFT_* variables apply)")
    redshift_sub = redshift.add_subparsers(dest="redshift_command", required=True)
    cluster = redshift_sub.add_parser("cluster", help="create, describe or delete the cluster")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", required=True)
    rs_create = cluster_sub.add_parser("create", help="create the cluster (AMZN_REDSHIFT_PASSWORD is required); a no-op if it exists")
    rs_create.add_argument("--identifier", help="cluster identifier (default: $AMZN_REDSHIFT_CLUSTER_ID or amzn-assets)")
    rs_create.add_argument("--node-type", help="e.g. dc2.large, ra3.xlplus (default: $AMZN_REDSHIFT_NODE_TYPE or dc2.large)")
    rs_create.add_argument("--nodes", type=int, help="number of nodes; 1 makes a single-node cluster (default: $AMZN_REDSHIFT_NODES or 2)")
    rs_create.add_argument("--wait", action="store_true", help="block until the cluster is available")
    rs_create.add_argument("--timeout", type=float, default=1800.0, help="seconds --wait waits (default: 1800)")
    rs_create.set_defaults(func=cmd_redshift_create)
    rs_describe = cluster_sub.add_parser("describe", help="print the cluster's node type, status, endpoint, VPC, ...")
    rs_describe.add_argument("--identifier", help="cluster identifier (default: $AMZN_REDSHIFT_CLUSTER_ID or amzn-assets)")
    rs_describe.set_defaults(func=cmd_redshift_describe)
    rs_delete = cluster_sub.add_parser("delete", help="delete the cluster (needs --yes)")
    rs_delete.add_argument("--identifier", help="cluster identifier (default: $AMZN_REDSHIFT_CLUSTER_ID or amzn-assets)")
    rs_delete.add_argument("--final-snapshot", metavar="NAME", help="snapshot the cluster as NAME first (default: no snapshot)")
    rs_delete.add_argument("--wait", action="store_true", help="block until the cluster is gone")
    rs_delete.add_argument("--timeout", type=float, default=1800.0, help="seconds --wait waits (default: 1800)")
    rs_delete.add_argument("--yes", action="store_true", help="really delete; without it, only show what would go")
    rs_delete.set_defaults(func=cmd_redshift_delete)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - bad SQL, a bad argument, a missing file: one line, no traceback
        if os.environ.get("AMZN_DEBUG"):
            raise
        print(f"amzn-assets {args.command}: {first_line(exc)} (AMZN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
