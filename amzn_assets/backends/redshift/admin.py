"""Create, describe and delete the Redshift cluster the warehouse loads into (boto3, no Dagster).

Connection settings come from the usual AWS_* variables (AWS_ENDPOINT_URL included, which
points boto3 at a local emulator); the cluster's own settings from AMZN_REDSHIFT_*.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from amzn_assets.settings import RedshiftSettings

RedshiftClient = Any  # botocore builds the client class at runtime; no stubs are installed

DEFAULT_TIMEOUT_S = 1800.0  # a new multi-node cluster usually needs 5 to 15 minutes
WAIT_DELAY_S = 30.0

_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,63}$")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+.@-]{0,127}$")
_PASSWORD_FORBIDDEN = set("'\"\\/@ ")


class RedshiftAdminError(Exception):
    """An AWS call failed or a cluster is not in the state asked for; `code` is AWS's error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ClusterNotFound(RedshiftAdminError):
    """No cluster has the identifier given."""

    def __init__(self, identifier: str) -> None:
        super().__init__(f"Redshift cluster {identifier!r} not found", code="ClusterNotFound")
        self.identifier = identifier


class InvalidClusterSpec(ValueError):
    """A cluster setting breaks Redshift's rules; raised before any AWS call."""


def password_problems(password: str) -> list[str]:
    """Every way `password` breaks Redshift's master password rules (empty when it is fine)."""
    problems = []
    if not 8 <= len(password) <= 64:
        problems.append(f"must be 8 to 64 characters long (got {len(password)})")
    if not any(c.isascii() and c.isupper() for c in password):
        problems.append("needs an upper-case letter")
    if not any(c.isascii() and c.islower() for c in password):
        problems.append("needs a lower-case letter")
    if not any(c.isascii() and c.isdigit() for c in password):
        problems.append("needs a digit")
    bad = sorted({c for c in password if c in _PASSWORD_FORBIDDEN or not 32 <= ord(c) <= 126})
    if bad:
        problems.append("must not contain " + " ".join(repr(c) for c in bad) + " (no quotes, \\, /, @ or spaces)")
    return problems


@dataclass(frozen=True)
class ClusterSpec:
    """What to create; validated on construction so mistakes surface before any AWS call."""

    identifier: str
    master_password: str = field(repr=False)
    node_type: str = "dc2.large"
    number_of_nodes: int = 2
    db_name: str = "amzn"
    master_username: str = "amzn_admin"
    iam_role_arns: list[str] = field(default_factory=list)  # lets COPY read from S3
    subnet_group: str | None = None  # the cluster subnet group, which picks the VPC
    port: int = 5439
    publicly_accessible: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not _IDENTIFIER.match(self.identifier):
            problems.append(
                f"cluster identifier {self.identifier!r}: 1-63 lower-case letters, digits or hyphens, "
                "starting with a letter, no trailing or double hyphen"
            )
        if not 1 <= self.number_of_nodes <= 128:
            problems.append(f"number of nodes must be 1 to 128 (got {self.number_of_nodes})")
        if not _DB_NAME.match(self.db_name):
            problems.append(f"database name {self.db_name!r}: lower-case letters, digits, _ or $, at most 64")
        if not _USERNAME.match(self.master_username):
            problems.append(f"master user {self.master_username!r}: a letter, then letters, digits or _+.@-")
        if not self.master_password:
            problems.append("master password is required (set AMZN_REDSHIFT_PASSWORD)")
        else:
            problems.extend(f"master password {p}" for p in password_problems(self.master_password))
        if not 1150 <= self.port <= 65535:
            problems.append(f"port must be 1150 to 65535 (got {self.port})")
        if problems:
            raise InvalidClusterSpec("invalid Redshift cluster settings:\n  " + "\n  ".join(problems))

    @property
    def cluster_type(self) -> str:
        return "single-node" if self.number_of_nodes == 1 else "multi-node"

    @classmethod
    def from_settings(cls, redshift: RedshiftSettings, **overrides: Any) -> ClusterSpec:
        """The cluster of the AMZN_REDSHIFT_* settings; keyword overrides that are not None win (the CLI's flags)."""
        spec: dict[str, Any] = {
            "identifier": redshift.cluster_id,
            "master_password": redshift.password,
            "node_type": redshift.node_type,
            "number_of_nodes": redshift.nodes,
            "db_name": redshift.database,
            "master_username": redshift.user,
            "iam_role_arns": [a.strip() for a in redshift.iam_role.split(",") if a.strip()],
            "subnet_group": redshift.subnet_group or None,
        }
        spec.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**spec)


@dataclass(frozen=True)
class ClusterInfo:
    """The parts of a DescribeClusters answer worth printing."""

    identifier: str
    node_type: str
    status: str
    master_username: str
    db_name: str
    endpoint_address: str | None  # None until the cluster is first available
    endpoint_port: int | None
    number_of_nodes: int
    vpc_id: str | None
    iam_roles: list[str] = field(default_factory=list)
    existed: bool = False  # set by create_cluster when the cluster was already there

    @classmethod
    def from_api(cls, cluster: Mapping[str, Any], vpc_id: str | None = None) -> ClusterInfo:
        endpoint = cluster.get("Endpoint") or {}
        return cls(
            identifier=cluster["ClusterIdentifier"],
            node_type=cluster.get("NodeType", ""),
            status=cluster.get("ClusterStatus", "unknown"),
            master_username=cluster.get("MasterUsername", ""),
            db_name=cluster.get("DBName", ""),
            endpoint_address=endpoint.get("Address"),
            endpoint_port=endpoint.get("Port"),
            number_of_nodes=cluster.get("NumberOfNodes", 0),
            vpc_id=cluster.get("VpcId") or vpc_id,
            iam_roles=[r["IamRoleArn"] for r in cluster.get("IamRoles", [])],
        )

    def as_rows(self) -> list[str]:
        """Aligned "key: value" lines, one per field."""
        endpoint = f"{self.endpoint_address}:{self.endpoint_port}" if self.endpoint_address else "(not yet assigned)"
        pairs = [
            ("identifier", self.identifier),
            ("node type", self.node_type),
            ("status", self.status),
            ("master user", self.master_username),
            ("db name", self.db_name),
            ("endpoint", endpoint),
            ("nodes", str(self.number_of_nodes)),
            ("vpc id", self.vpc_id or "-"),
            ("iam roles", ", ".join(self.iam_roles) or "-"),
        ]
        width = max(len(key) for key, _ in pairs) + 1
        return [f"{key + ':':<{width}} {value}" for key, value in pairs]


def redshift_client() -> RedshiftClient:
    """A boto3 Redshift client; boto3 reads AWS_REGION/AWS_DEFAULT_REGION, credentials and AWS_ENDPOINT_URL."""
    import boto3

    with _aws_errors():
        return boto3.client("redshift")


@contextmanager
def _aws_errors(identifier: str | None = None) -> Iterator[None]:
    """Turn botocore's exceptions into RedshiftAdminError (ClusterNotFound where it applies)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code in ("ClusterNotFound", "ClusterNotFoundFault") and identifier:
            raise ClusterNotFound(identifier) from exc
        raise RedshiftAdminError(f"{code or 'error'}: {error.get('Message', exc)}", code=code or None) from exc
    except BotoCoreError as exc:  # no region or credentials, endpoint unreachable, ...
        raise RedshiftAdminError(str(exc)) from exc


def _wait(client: RedshiftClient, waiter: str, identifier: str, timeout: float) -> None:
    from botocore.exceptions import WaiterError

    delay = max(1, min(int(WAIT_DELAY_S), math.ceil(timeout)))
    config = {"Delay": delay, "MaxAttempts": max(1, math.ceil(timeout / delay))}
    try:
        with _aws_errors(identifier):
            client.get_waiter(waiter).wait(ClusterIdentifier=identifier, WaiterConfig=config)
    except RedshiftAdminError as exc:
        cause = exc.__cause__
        if not isinstance(cause, WaiterError):
            raise
        last = (cause.last_response or {}).get("Error", {}).get("Message")
        raise RedshiftAdminError(
            f"{waiter} for {identifier!r} did not succeed within {timeout:.0f}s: "
            f"{cause.kwargs.get('reason', cause)}" + (f" ({last})" if last else ""),
            code="WaiterError",
        ) from cause


def _subnet_group_vpc(client: RedshiftClient, cluster: Mapping[str, Any]) -> str | None:
    # Real DescribeClusters answers carry VpcId; where one does not (moto), the subnet group knows it.
    name = cluster.get("ClusterSubnetGroupName")
    if cluster.get("VpcId") or not name:
        return None
    try:
        with _aws_errors():
            groups = client.describe_cluster_subnet_groups(ClusterSubnetGroupName=name)["ClusterSubnetGroups"]
    except RedshiftAdminError:  # best effort: the VPC id is informational only
        return None
    return groups[0].get("VpcId") if groups else None


def describe_cluster(client: RedshiftClient, identifier: str) -> ClusterInfo:
    """The cluster's current state; ClusterNotFound when there is none."""
    with _aws_errors(identifier):
        clusters = client.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
    if not clusters:
        raise ClusterNotFound(identifier)
    return ClusterInfo.from_api(clusters[0], _subnet_group_vpc(client, clusters[0]))


def create_cluster(
    client: RedshiftClient, spec: ClusterSpec, wait: bool = False, timeout: float = DEFAULT_TIMEOUT_S
) -> ClusterInfo:
    """Create the cluster, or leave an existing one alone (then `existed` is True) and describe it.

    With wait, block until it is available (or raise RedshiftAdminError after `timeout` seconds).
    """
    params: dict[str, Any] = {
        "ClusterIdentifier": spec.identifier,
        "NodeType": spec.node_type,
        "ClusterType": spec.cluster_type,
        "DBName": spec.db_name,
        "MasterUsername": spec.master_username,
        "MasterUserPassword": spec.master_password,
        "Port": spec.port,
        "PubliclyAccessible": spec.publicly_accessible,
        "IamRoles": spec.iam_role_arns,
    }
    if spec.cluster_type == "multi-node":  # the API rejects NumberOfNodes for single-node clusters
        params["NumberOfNodes"] = spec.number_of_nodes
    if spec.subnet_group:
        params["ClusterSubnetGroupName"] = spec.subnet_group
    # Create first and treat "already exists" as success: checking first would race a parallel create.
    cluster: Mapping[str, Any] | None = None
    try:
        with _aws_errors(spec.identifier):
            cluster = client.create_cluster(**params)["Cluster"]
    except RedshiftAdminError as exc:
        if exc.code not in ("ClusterAlreadyExists", "ClusterAlreadyExistsFault"):
            raise
    if wait:
        _wait(client, "cluster_available", spec.identifier, timeout)
    if cluster is None or wait:
        return replace(describe_cluster(client, spec.identifier), existed=cluster is None)
    return ClusterInfo.from_api(cluster, _subnet_group_vpc(client, cluster))


def delete_cluster(
    client: RedshiftClient,
    identifier: str,
    final_snapshot: str | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> ClusterInfo:
    """Delete the cluster, first snapshotting it as `final_snapshot` when one is named.

    Returns the cluster as the delete call left it (status "deleting"); with wait, blocks until
    it is gone and reports status "deleted". ClusterNotFound when there is no such cluster.
    """
    params: dict[str, Any] = {"ClusterIdentifier": identifier, "SkipFinalClusterSnapshot": not final_snapshot}
    if final_snapshot:
        params["FinalClusterSnapshotIdentifier"] = final_snapshot
    with _aws_errors(identifier):
        info = ClusterInfo.from_api(client.delete_cluster(**params)["Cluster"])
    if wait:
        _wait(client, "cluster_deleted", identifier, timeout)
        info = replace(info, status="deleted")
    return info
