"""redshift cluster create|describe|delete: the Redshift cluster (AWS_* and AMZN_REDSHIFT_* variables apply).

The cluster logic is amzn_assets.backends.redshift.admin; these commands parse flags and print."""

from __future__ import annotations

import sys

import click

from amzn_assets.cli.common import failed, pass_settings
from amzn_assets.settings import Settings

IDENTIFIER_HELP = "cluster identifier (default: $AMZN_REDSHIFT_CLUSTER_ID or amzn-assets)"
identifier_option = click.option("--identifier", help=IDENTIFIER_HELP)
wait_option = click.option("--wait", is_flag=True, help="block until the cluster is available (create) or gone (delete)")
timeout_option = click.option("--timeout", type=float, default=1800.0, show_default=True, help="seconds --wait waits")


@click.group(help="manage the Redshift cluster (AWS_* and AMZN_REDSHIFT_* variables apply)")
def redshift() -> None:
    pass


@redshift.group(help="create, describe or delete the cluster")
def cluster() -> None:
    pass


@cluster.command(help="create the cluster (AMZN_REDSHIFT_PASSWORD is required); a no-op if it exists")
@identifier_option
@click.option("--node-type", help="e.g. dc2.large, ra3.xlplus (default: $AMZN_REDSHIFT_NODE_TYPE or dc2.large)")
@click.option("--nodes", type=int, help="number of nodes; 1 makes a single-node cluster (default: $AMZN_REDSHIFT_NODES or 2)")
@wait_option
@timeout_option
@pass_settings
def create(settings: Settings, identifier: str | None, node_type: str | None, nodes: int | None, wait: bool, timeout: float) -> int:
    from amzn_assets.backends.redshift.admin import ClusterSpec, RedshiftAdminError, create_cluster, redshift_client

    try:
        spec = ClusterSpec.from_settings(settings.redshift, identifier=identifier, node_type=node_type, number_of_nodes=nodes)
    except ValueError as exc:
        return failed("redshift", exc, 2)
    try:
        info = create_cluster(redshift_client(), spec, wait=wait, timeout=timeout)
    except RedshiftAdminError as exc:
        return failed("redshift", exc)
    if info.existed:
        print(f"cluster {info.identifier} already exists (status {info.status}); left as it is")
        if (info.node_type, info.number_of_nodes) != (spec.node_type, spec.number_of_nodes):
            print(f"note: it has {info.number_of_nodes} x {info.node_type}, not {spec.number_of_nodes} x {spec.node_type}")
    else:
        print(f"created cluster {info.identifier}" if wait else f"creating cluster {info.identifier} (use --wait to wait)")
    print("\n".join(info.as_rows()))
    return 0


@cluster.command(help="print the cluster's node type, status, endpoint, VPC, ...")
@identifier_option
@pass_settings
def describe(settings: Settings, identifier: str | None) -> int:
    from amzn_assets.backends.redshift.admin import RedshiftAdminError, describe_cluster, redshift_client

    try:
        info = describe_cluster(redshift_client(), identifier or settings.redshift.cluster_id)
    except RedshiftAdminError as exc:
        return failed("redshift", exc)
    print("\n".join(info.as_rows()))
    return 0


@cluster.command(help="delete the cluster (needs --yes)")
@identifier_option
@click.option("--final-snapshot", metavar="NAME", help="snapshot the cluster as NAME first (default: no snapshot)")
@wait_option
@timeout_option
@click.option("--yes", is_flag=True, help="really delete; without it, only show what would go")
@pass_settings
def delete(settings: Settings, identifier: str | None, final_snapshot: str | None, wait: bool, timeout: float, yes: bool) -> int:
    from amzn_assets.backends.redshift.admin import (
        RedshiftAdminError,
        delete_cluster,
        describe_cluster,
        redshift_client,
    )

    identifier = identifier or settings.redshift.cluster_id
    snapshot = f"final snapshot {final_snapshot}" if final_snapshot else "no final snapshot"
    try:
        client = redshift_client()
        if not yes:
            try:
                print("\n".join(describe_cluster(client, identifier).as_rows()))
            except RedshiftAdminError as exc:
                print(f"({exc})")
            print(f"would delete cluster {identifier} ({snapshot}); add --yes to delete it", file=sys.stderr)
            return 2
        info = delete_cluster(client, identifier, final_snapshot=final_snapshot, wait=wait, timeout=timeout)
    except RedshiftAdminError as exc:
        return failed("redshift", exc)
    print(f"{'deleted' if wait else 'deleting'} cluster {identifier} ({snapshot}); status {info.status}")
    return 0


COMMANDS = (redshift,)
