"""Chaos, long version: at least 50 real SIGKILLs (and PostgreSQL restarts) at seeded random moments,
each scenario then run to completion and compared with a clean run of the same input.

    .venv/bin/python benchmarks/chaos.py [--seed N] [--land 15] [--import-kills 15] [--materialize 8]
        [--pg-materialize 6] [--daemon 4] [--restarts 4]

Scenarios (amzn_assets_tests/chaos/ holds the short versions run by `make test`):
  land            `amzn-assets land` of the real All Beauty excerpt split one review per file
  import          `amzn-assets import` of the excerpt as a dump
  materialize     `dagster asset materialize` of the review group over 46 days, local parquet
  pg-materialize  the same on the PostgreSQL backend
  daemon          `dagster-daemon` (and its runs) while the sensors stream a slice of the excerpt
  restarts        PostgreSQL restarted (fast, immediate alternately) under a landing with the ledger
                  on it and under a materialization
Prints the seed, every kill moment and, per scenario, whether the end state equals the clean run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--land", type=int, default=25)
    parser.add_argument("--import-kills", type=int, default=20)
    parser.add_argument("--materialize", type=int, default=8)
    parser.add_argument("--pg-materialize", type=int, default=6)
    parser.add_argument("--daemon", type=int, default=4)
    parser.add_argument("--restarts", type=int, default=4)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    rng = random.Random(seed)
    print(f"seed {seed} (rerun with --seed {seed})", flush=True)
    import logging

    logging.getLogger("dagster").setLevel(logging.WARNING)  # the clean in-process runs' step logs

    from amzn_assets.data_dirs import DataDirs
    from amzn_assets.upload_simulator.split import split_dump
    from amzn_assets_tests.chaos import test_dagster_kills as dk
    from amzn_assets_tests.chaos.harness import copy_tree, kill_at_random, landing_snapshot, run_to_completion

    work = Path(tempfile.mkdtemp(prefix="amzn-chaos-"))
    bin_dir = Path(sys.executable).parent
    beauty = REPO / "amzn_assets_tests/fixtures/All_Beauty_5.json.gz"
    split = work / "split" / "all_beauty"
    split_dump(beauty, "all_beauty", split, progress=False)
    results: list[tuple[str, int, bool]] = []

    def env_for(dirs, **extra) -> dict:
        return {**os.environ, "AMZN_DATA_DIR": str(dirs.root), **extra}

    def report(name: str, kills, equal: bool) -> None:
        print(f"{name}: {kills}; end state equals the clean run: {equal}", flush=True)
        results.append((name, kills.landed if hasattr(kills, "landed") else kills, equal))

    def timed(action) -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    # land
    land = [str(bin_dir / "amzn-assets"), "land"]
    clean = DataDirs(work / "land-clean")
    copy_tree(split, clean.uploaded / "reviews" / "all_beauty")
    seconds = timed(lambda: run_to_completion(land, env_for(clean)))
    chaos = DataDirs(work / "land-chaos")
    copy_tree(split, chaos.uploaded / "reviews" / "all_beauty")
    kills = kill_at_random(land, env_for(chaos), kills=args.land, window=(0.2, 0.7 * seconds), seed=rng.randrange(10**6), what="amzn-assets land")
    run_to_completion(land, env_for(chaos))
    report("land", kills, landing_snapshot(chaos) == landing_snapshot(clean))

    # import
    clean, chaos = DataDirs(work / "import-clean"), DataDirs(work / "import-chaos")
    command = [str(bin_dir / "amzn-assets"), "import", str(beauty), "--category", "all_beauty"]
    seconds = timed(lambda: run_to_completion(command, env_for(clean)))
    kills = kill_at_random(command, env_for(chaos), kills=args.import_kills, window=(0.2, 0.7 * seconds), seed=rng.randrange(10**6), what="amzn-assets import")
    run_to_completion(command, env_for(chaos))
    want, got = landing_snapshot(clean), landing_snapshot(chaos)
    report("import", kills, got.pop("files")["landed"] == want.pop("files")["landed"] == 1 and got == want)

    # materialize, local
    clean, chaos = dk.imported(work / "mat-clean"), dk.imported(work / "mat-chaos")
    dk.clean_run(clean)
    home = work / "mat-home"
    command = dk.materialize_cli(chaos, home)
    env = env_for(chaos, DAGSTER_HOME=str(home))
    kills = kill_at_random(command, env, kills=args.materialize, window=(4.0, 12.0), seed=rng.randrange(10**6), what="dagster asset materialize (local)", cwd=REPO)
    run_to_completion(command, env, cwd=REPO, timeout=300)
    report("materialize (local)", kills, dk.local_tables(chaos) == dk.local_tables(clean))

    # PostgreSQL: materialize killed, then restarts under a landing and a run
    import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="amzn-chaos-pg-"), cleanup_mode="delete")
    try:
        url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
        clean_schema = dk.new_schema(url)
        clean = dk.imported(work / "pg-clean")
        os.environ["AMZN_POSTGRES_SCHEMA"] = clean_schema
        dk.clean_run(clean, "postgres", postgres_url=url, ledger_url=f"sqlite:///{clean.landed / 'ledger.sqlite'}")
        os.environ.pop("AMZN_POSTGRES_SCHEMA")
        expected = dk.pg_tables(url, clean_schema)

        chaos_schema = dk.new_schema(url)
        chaos = dk.imported(work / "pg-chaos")
        home = work / "pg-home"
        command = dk.materialize_cli(chaos, home)
        # The ledger stays the SQLite one the import wrote (with AMZN_BACKEND=postgres it would default to PostgreSQL).
        env = env_for(chaos, DAGSTER_HOME=str(home), AMZN_BACKEND="postgres", AMZN_POSTGRES_URL=url, AMZN_POSTGRES_SCHEMA=chaos_schema,
                      AMZN_LEDGER_URL=f"sqlite:///{chaos.landed / 'ledger.sqlite'}")
        kills = kill_at_random(command, env, kills=args.pg_materialize, window=(4.0, 12.0), seed=rng.randrange(10**6), what="dagster asset materialize (postgres)", cwd=REPO)
        run_to_completion(command, env, cwd=REPO, timeout=300)
        report("materialize (postgres)", kills, dk.pg_tables(url, chaos_schema) == expected)

        for n in range(args.restarts):
            mode = ("fast", "immediate")[n % 2]
            schema = dk.new_schema(url)
            dirs = DataDirs(work / f"restart-{n}")
            copy_tree(split, dirs.uploaded / "reviews" / "all_beauty")
            ledger = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            env = env_for(dirs, DAGSTER_HOME=str(work / f"restart-home-{n}"), AMZN_LEDGER_URL=ledger, AMZN_BACKEND="postgres",
                          AMZN_POSTGRES_URL=url, AMZN_POSTGRES_SCHEMA=schema)
            what = [dk.restart_during(land, env, server, mode, after=rng.uniform(0.5, 2.0))]
            run_to_completion(land, env)
            command = dk.materialize_cli(dirs, work / f"restart-home-{n}")
            what.append(dk.restart_during(command, env, server, mode, after=rng.uniform(3.0, 10.0), cwd=REPO))
            run_to_completion(command, env, cwd=REPO, timeout=300)
            from amzn_assets.landing.ledger import Ledger

            equal = Ledger(ledger).file_status_counts() == {"landed": 4242, "duplicate": 1027} and dk.pg_tables(url, schema) == expected
            print(f"restart {n + 1} ({mode}): " + "; ".join(w.splitlines()[0] for w in what) + f"; end state equals the clean run: {equal}", flush=True)
            results.append((f"postgres restart ({mode})", 2, equal))
    finally:
        server.cleanup()

    # daemon
    if args.daemon:
        results.append(daemon_scenario(work, rng, args.daemon))
        print(f"daemon: {results[-1][1]} kills; end state equals the clean run: {results[-1][2]}", flush=True)

    load = os.getloadavg()
    total = sum(k for _, k, _ in results)  # kills that landed (a run that finished first is not counted)
    for name, kills, equal in results:
        print(f"  {name}: {kills} kills/restarts, equal to the clean run: {equal}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load[0]:.2f}")
    print(f"{total} kills and restarts in all; every end state equal to its clean run: {all(ok for _, _, ok in results)}")
    if not all(ok for _, _, ok in results):
        raise SystemExit(1)


def daemon_scenario(work: Path, rng: random.Random, kills: int) -> tuple[str, int, bool]:
    """The daemon SIGKILLed `kills` times while streaming a slice, then left to finish."""
    import gzip
    import json
    import shutil
    import signal

    from dagster import DagsterInstance

    from amzn_assets_tests.deployment import resources_for
    from amzn_assets.domains.stream.job import stream_job
    from amzn_assets.data_dirs import DataDirs
    from amzn_assets.upload_simulator.split import file_name, gz
    from amzn_assets.upload_simulator.upload import upload_files
    from amzn_assets_tests.chaos import test_dagster_kills as dk
    from amzn_assets_tests.daemon import running_daemon, wait_for

    source = work / "daemon-split" / "all_beauty"
    source.mkdir(parents=True)
    with gzip.open(REPO / "amzn_assets_tests/fixtures/All_Beauty_5.json.gz", "rt") as dump:
        for number, line in enumerate(dump, start=1):
            if number % 3 == 0 and json.loads(line)["unixReviewTime"] >= 1483228800:  # 2017-2018
                (source / file_name("all_beauty", number)).write_bytes(gz(line.encode()))
    clean = DataDirs(work / "daemon-clean")
    shutil.copytree(source, clean.uploaded / "reviews" / "all_beauty")
    with DagsterInstance.ephemeral() as instance:
        stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(clean.root)))
    expected = dk.local_tables(clean)
    chaos, home, log = DataDirs(work / "daemon-chaos"), work / "daemon-home", work / "daemon.log"
    names = sorted(p.name for p in source.iterdir())
    per_round = len(names) // kills + 1
    for n in range(kills):
        part = work / f"daemon-part-{n}" / "all_beauty"
        part.mkdir(parents=True)
        for name in names[n * per_round:(n + 1) * per_round]:
            shutil.copy(source / name, part / name)
        with running_daemon(chaos, home, log, kill_with=signal.SIGKILL):
            time.sleep(2)
            upload_files(["all_beauty"], source_dir=part.parent, target=chaos.uploaded, rate="6000/s", progress=False)
            moment = rng.uniform(1.0, 10.0)
            time.sleep(moment)
        print(f"  daemon SIGKILLed {moment:.1f}s after upload {n + 1} of {kills}", flush=True)

    def caught_up() -> bool:
        try:
            return dk.local_tables(chaos).get("reviews_fact") == expected["reviews_fact"]
        except Exception:  # noqa: BLE001 - not materialized yet
            return False

    with running_daemon(chaos, home, log):
        wait_for(caught_up, 600, "the restarted daemon to finish the stream", log)
        time.sleep(10)  # let a last run end
    return ("daemon", kills, dk.local_tables(chaos) == expected)


if __name__ == "__main__":
    main()
