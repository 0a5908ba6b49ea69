"""The Redshift cluster admin module and `amzn-assets redshift cluster ...`, against moto's HTTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from amzn_assets.settings import Settings
from amzn_assets.backends.redshift.admin import (
    ClusterNotFound,
    ClusterSpec,
    InvalidClusterSpec,
    create_cluster,
    delete_cluster,
    describe_cluster,
    redshift_client,
)

PASSWORD = "Sup3rSecret"
ROLE = "arn:aws:iam::123456789012:role/amzn-redshift-copy"
CLI = Path(sys.executable).with_name("amzn-assets")


def cluster_id() -> str:
    return f"amzn-test-{uuid.uuid4().hex[:10]}"


def spec(identifier: str, **overrides) -> ClusterSpec:
    return ClusterSpec(identifier=identifier, master_password=PASSWORD, iam_role_arns=[ROLE], **overrides)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "redshift", "cluster", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_client_honours_aws_endpoint_url(aws: str) -> None:
    client = redshift_client()
    assert client.meta.endpoint_url == aws
    assert client.meta.region_name == "us-east-1"


def test_create_then_describe(aws: str) -> None:
    client, identifier = redshift_client(), cluster_id()
    created = create_cluster(client, spec(identifier))
    assert created.identifier == identifier and not created.existed
    assert created.status in ("creating", "available")

    info = describe_cluster(client, identifier)
    assert info.identifier == identifier
    assert info.node_type == "dc2.large"
    assert info.status == "available"
    assert (info.master_username, info.db_name) == ("amzn_admin", "amzn")
    assert info.endpoint_address and info.endpoint_address.startswith(identifier)
    assert info.endpoint_port == 5439
    assert info.number_of_nodes == 2
    assert info.vpc_id is None  # no subnet group: moto puts the cluster in no VPC
    assert info.iam_roles == [ROLE]

    rows = info.as_rows()
    assert rows[0] == f"identifier:  {identifier}"
    assert len({len(row) - len(row.split(":", 1)[1].lstrip()) for row in rows}) == 1  # values line up
    assert f"endpoint:    {info.endpoint_address}:5439" in rows


def test_single_node_in_a_vpc_with_wait(aws: str) -> None:
    import boto3

    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    client, identifier = redshift_client(), cluster_id()
    group = f"{identifier}-subnets"
    client.create_cluster_subnet_group(ClusterSubnetGroupName=group, Description="test", SubnetIds=[subnet])

    info = create_cluster(client, spec(identifier, number_of_nodes=1, subnet_group=group), wait=True, timeout=20)
    assert (info.status, info.number_of_nodes, info.vpc_id) == ("available", 1, vpc)
    assert describe_cluster(client, identifier).vpc_id == vpc


def test_create_is_idempotent(aws: str) -> None:
    client, identifier = redshift_client(), cluster_id()
    create_cluster(client, spec(identifier))
    again = create_cluster(client, spec(identifier, node_type="ra3.xlplus"))
    assert again.existed
    assert (again.identifier, again.node_type, again.status) == (identifier, "dc2.large", "available")


def test_describe_missing_cluster(aws: str) -> None:
    with pytest.raises(ClusterNotFound, match="no-such-cluster.*not found"):
        describe_cluster(redshift_client(), "no-such-cluster")
    with pytest.raises(ClusterNotFound):
        delete_cluster(redshift_client(), "no-such-cluster")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt", "8 to 64 characters"),
        ("A1" + "a" * 63, "8 to 64 characters"),
        ("alllower1", "upper-case"),
        ("ALLUPPER1", "lower-case"),
        ("NoDigitsHere", "digit"),
        ("Has Space1", "' '"),
        ("Has@Sign1", "'@'"),
        ("Has/Slash1", "'/'"),
        ("Has\\Back1", "'\\\\'"),
        ("Has'Quote1", "\"'\""),
        ('Has"Quote1', "'\"'"),
        ("", "required"),
    ],
)
def test_password_rules(password: str, problem: str) -> None:
    with pytest.raises(InvalidClusterSpec, match="master password") as raised:
        ClusterSpec(identifier="amzn", master_password=password)
    assert problem in str(raised.value)


def spec_from_env(env: dict, **overrides) -> ClusterSpec:
    return ClusterSpec.from_settings(Settings.from_env(env).redshift, **overrides)


def test_spec_from_env_and_other_rules() -> None:
    env = {
        "AMZN_REDSHIFT_CLUSTER_ID": "warehouse-1",
        "AMZN_REDSHIFT_NODE_TYPE": "ra3.xlplus",
        "AMZN_REDSHIFT_NODES": "1",
        "AMZN_REDSHIFT_DB": "reviews",
        "AMZN_REDSHIFT_USER": "loader",
        "AMZN_REDSHIFT_PASSWORD": PASSWORD,
        "AMZN_REDSHIFT_IAM_ROLE": f"{ROLE}, arn:aws:iam::123456789012:role/other",
    }
    got = spec_from_env(env)
    assert (got.identifier, got.node_type, got.number_of_nodes, got.cluster_type) == (
        "warehouse-1", "ra3.xlplus", 1, "single-node"
    )
    assert (got.db_name, got.master_username, got.port, got.publicly_accessible) == ("reviews", "loader", 5439, False)
    assert got.iam_role_arns == [ROLE, "arn:aws:iam::123456789012:role/other"]
    assert PASSWORD not in repr(got)
    assert spec_from_env(env, identifier="other", number_of_nodes=None).identifier == "other"

    defaults = spec_from_env({"AMZN_REDSHIFT_PASSWORD": PASSWORD})
    assert (defaults.identifier, defaults.node_type, defaults.number_of_nodes) == ("amzn-assets", "dc2.large", 2)
    assert defaults.cluster_type == "multi-node" and defaults.iam_role_arns == []
    with pytest.raises(InvalidClusterSpec, match="AMZN_REDSHIFT_PASSWORD"):
        spec_from_env({})
    with pytest.raises(ValueError, match="whole number"):
        spec_from_env({**env, "AMZN_REDSHIFT_NODES": "two"})
    with pytest.raises(InvalidClusterSpec, match="identifier 'Bad_Name'"):
        ClusterSpec(identifier="Bad_Name", master_password=PASSWORD)
    with pytest.raises(InvalidClusterSpec, match="number of nodes"):
        ClusterSpec(identifier="ok", master_password=PASSWORD, number_of_nodes=0)


def test_delete_with_wait(aws: str) -> None:
    client, identifier = redshift_client(), cluster_id()
    create_cluster(client, spec(identifier))
    gone = delete_cluster(client, identifier, final_snapshot=f"{identifier}-final", wait=True, timeout=20)
    assert gone.status == "deleted"
    with pytest.raises(ClusterNotFound):
        describe_cluster(client, identifier)
    snapshots = client.describe_cluster_snapshots(SnapshotIdentifier=f"{identifier}-final")["Snapshots"]
    assert [s["ClusterIdentifier"] for s in snapshots] == [identifier]


def test_cli_create_describe_delete(aws: str) -> None:
    identifier = cluster_id()
    env = {"AMZN_REDSHIFT_PASSWORD": PASSWORD, "AMZN_REDSHIFT_IAM_ROLE": ROLE}

    created = cli("create", "--identifier", identifier, "--nodes", "3", "--wait", "--timeout", "20", env=env)
    assert created.returncode == 0, created.stderr
    assert f"created cluster {identifier}" in created.stdout
    again = cli("create", "--identifier", identifier, env=env)
    assert again.returncode == 0, again.stderr
    assert f"cluster {identifier} already exists" in again.stdout
    assert "note: it has 3 x dc2.large, not 2 x dc2.large" in again.stdout

    described = cli("describe", env={"AMZN_REDSHIFT_CLUSTER_ID": identifier})
    assert described.returncode == 0, described.stderr
    for expected in (
        f"identifier:  {identifier}",
        "node type:   dc2.large",
        "status:      available",
        "master user: amzn_admin",
        "db name:     amzn",
        f"endpoint:    {identifier}.",
        "nodes:       3",
        "vpc id:      -",
        f"iam roles:   {ROLE}",
    ):
        assert expected in described.stdout

    refused = cli("delete", "--identifier", identifier)
    assert refused.returncode == 2
    assert f"would delete cluster {identifier} (no final snapshot); add --yes" in refused.stderr
    assert f"identifier:  {identifier}" in refused.stdout
    assert cli("describe", "--identifier", identifier).returncode == 0  # still there

    deleted = cli("delete", "--identifier", identifier, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert f"deleting cluster {identifier}" in deleted.stdout
    after = cli("describe", "--identifier", identifier)
    if after.returncode == 0:  # a real cluster lingers while it is deleted
        assert "status:      deleting" in after.stdout
    else:
        assert after.returncode == 1
        assert f"cluster '{identifier}' not found" in after.stderr and "Traceback" not in after.stderr


def test_cli_errors(aws: str) -> None:
    bad = cli("create", "--identifier", cluster_id(), env={"AMZN_REDSHIFT_PASSWORD": "weak"})
    assert bad.returncode == 2
    assert "needs an upper-case letter" in bad.stderr and "Traceback" not in bad.stderr
    missing_pw = cli("create", "--identifier", cluster_id())
    assert missing_pw.returncode == 2 and "AMZN_REDSHIFT_PASSWORD" in missing_pw.stderr

    missing = cli("delete", "--identifier", "no-such-cluster", "--yes")
    assert missing.returncode == 1 and "not found" in missing.stderr and "Traceback" not in missing.stderr
    assert cli("create", "--nodes", "two").returncode == 2  # argparse

    unreachable = cli("describe", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})  # port 9: no one
    assert unreachable.returncode == 1
    assert "Could not connect" in unreachable.stderr and "Traceback" not in unreachable.stderr


def test_the_query_url_survives_any_password():
    import psycopg2.extensions

    from amzn_assets.backends.redshift import libpq_url_of
    from amzn_assets.settings import RedshiftSettings

    settings = RedshiftSettings(host="h.example", port=5439, user="amzn admin", password="p#a:s%s@w/d?x", database="amzn")
    parsed = psycopg2.extensions.parse_dsn(libpq_url_of(settings))
    assert parsed == {"user": "amzn admin", "password": "p#a:s%s@w/d?x", "host": "h.example", "port": "5439", "dbname": "amzn"}
