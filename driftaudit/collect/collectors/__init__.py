"""The registry of resource types, each listed once here.

A type whose items AWS gives as they are kept is declared right here with
:func:`~driftaudit.collect.collectors.base.passthrough` (service call, result key, id field,
canonical-form spec); a type that reshapes what AWS gives has a module of its own. Adding a
type: its declaration or module, its line in ``REGISTRY``, ``schemas/<name>.schema.json``, a
test (README's contributor section has the checklist).
"""

from __future__ import annotations

from typing import Any

from driftaudit.canonical import Spec
from driftaudit.collect.collectors import (
    accounts,
    auto_scaling_groups,
    elastic_ips,
    instances,
    launch_templates,
    load_balancers,
    managed_prefix_lists,
    nat_gateways,
    network_interfaces,
    security_groups,
)
from driftaudit.collect.collectors.base import Call, ConfigRecord, ResourceType, passthrough

VOLUMES = passthrough(
    "volumes",
    "volume",
    Call("ec2", "DescribeVolumes", "Volumes"),
    "VolumeId",
    spec=Spec(sort_by={"Attachments": ("InstanceId", "Device")}),
    encryption_path="Encrypted",
    config=ConfigRecord({"AWS::EC2::Volume": ("ec2", "Volume")}),
)
VPCS = passthrough(
    "vpcs",
    "VPC",
    Call("ec2", "DescribeVpcs", "Vpcs"),
    "VpcId",
    spec=Spec(
        sort_by={
            "CidrBlockAssociationSet": ("CidrBlock",),
            "Ipv6CidrBlockAssociationSet": ("Ipv6CidrBlock",),
        }
    ),
    config=ConfigRecord({"AWS::EC2::VPC": ("ec2", "Vpc")}),
)
SUBNETS = passthrough(
    "subnets",
    "subnet",
    Call("ec2", "DescribeSubnets", "Subnets"),
    "SubnetId",
    spec=Spec(
        # Moves whenever any instance, interface or endpoint in the subnet comes or goes.
        drop=frozenset({"AvailableIpAddressCount"}),
        sort_by={"Ipv6CidrBlockAssociationSet": ("Ipv6CidrBlock",)},
    ),
    volatile_doc=(
        "AvailableIpAddressCount (free addresses: changes whenever anything in the subnet "
        "starts or stops)"
    ),
    config=ConfigRecord({"AWS::EC2::Subnet": ("ec2", "Subnet")}),
)
ROUTE_TABLES = passthrough(
    "route_tables",
    "route table",
    Call("ec2", "DescribeRouteTables", "RouteTables"),
    "RouteTableId",
    spec=Spec(
        # AWS returns routes and associations in no documented order. A route is identified
        # by its destination (IPv4 CIDR, IPv6 CIDR or prefix list): IPv4 routes sort first.
        # Each route is written on one line.
        sort_by={
            "Routes": (
                "DestinationPrefixListId",
                "DestinationIpv6CidrBlock",
                "DestinationCidrBlock",
            ),
            "Associations": ("Main", "SubnetId", "GatewayId", "RouteTableAssociationId"),
            "PropagatingVgws": ("GatewayId",),
        },
        one_line=frozenset({"Routes"}),
    ),
    config=ConfigRecord({"AWS::EC2::RouteTable": ("ec2", "RouteTable")}),
)
NETWORK_ACLS = passthrough(
    "network_acls",
    "network ACL",
    Call("ec2", "DescribeNetworkAcls", "NetworkAcls"),
    "NetworkAclId",
    spec=Spec(
        # An ACL is evaluated per direction in RuleNumber order, so (Egress, RuleNumber)
        # identifies an entry: inbound entries first, then outbound, each by number; each
        # entry is written on one line.
        sort_by={
            "Entries": ("Egress", "RuleNumber"),
            "Associations": ("SubnetId", "NetworkAclAssociationId"),
        },
        one_line=frozenset({"Entries"}),
    ),
    config=ConfigRecord({"AWS::EC2::NetworkAcl": ("ec2", "NetworkAcl")}),
)
INTERNET_GATEWAYS = passthrough(
    "internet_gateways",
    "internet gateway",
    Call("ec2", "DescribeInternetGateways", "InternetGateways"),
    "InternetGatewayId",
    spec=Spec(sort_by={"Attachments": ("VpcId",)}),
    config=ConfigRecord({"AWS::EC2::InternetGateway": ("ec2", "InternetGateway")}),
)
# Public key material is never requested (IncludePublicKey stays off): the fingerprint
# already shows a key change. DescribeKeyPairs has no paginator: one call returns them all.
KEY_PAIRS = passthrough(
    "key_pairs",
    "key pair",
    Call("ec2", "DescribeKeyPairs", "KeyPairs"),
    "KeyPairId",
    spec=Spec(drop=frozenset({"PublicKey"})),
    volatile_doc="PublicKey (never requested; the fingerprint shows a key change)",
    name_keys=("KeyName",),
)
# The account's own AMIs. Without IncludeDisabled, disabling an image would look like
# deleting it.
IMAGES = passthrough(
    "images",
    "AMI",
    Call("ec2", "DescribeImages", "Images"),
    "ImageId",
    params={"Owners": ["self"], "IncludeDisabled": True},
    spec=Spec(
        drop=frozenset({"LastLaunchedTime"}),
        sort_by={"BlockDeviceMappings": ("DeviceName",), "ProductCodes": ("ProductCodeId",)},
    ),
    volatile_doc="LastLaunchedTime (changes every time an instance is launched from the image)",
    name_keys=("Name",),
    encryption_path="BlockDeviceMappings.Ebs.Encrypted",
)
# EBS snapshots owned by the account: without OwnerIds, DescribeSnapshots also lists every
# public snapshot and every snapshot shared with the account.
SNAPSHOTS = passthrough(
    "snapshots",
    "EBS snapshot",
    Call("ec2", "DescribeSnapshots", "Snapshots"),
    "SnapshotId",
    params={"OwnerIds": ["self"]},
    spec=Spec(drop=frozenset({"Progress"})),
    volatile_doc="Progress (changes continuously while a snapshot is pending)",
    encryption_path="Encrypted",
)

REGISTRY: dict[str, ResourceType] = {
    r.name: r
    for r in (
        instances.RESOURCE,
        security_groups.RESOURCE,
        VOLUMES,
        network_interfaces.RESOURCE,
        elastic_ips.RESOURCE,
        VPCS,
        SUBNETS,
        ROUTE_TABLES,
        NETWORK_ACLS,
        INTERNET_GATEWAYS,
        nat_gateways.RESOURCE,
        load_balancers.RESOURCE,
        auto_scaling_groups.RESOURCE,
        launch_templates.RESOURCE,
        KEY_PAIRS,
        IMAGES,
        SNAPSHOTS,
        accounts.RESOURCE,
        managed_prefix_lists.RESOURCE,
    )
}

#: Calls made once per account or run rather than per type (README's IAM policy lists them).
SETUP_ACTIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")


def iam_policy() -> dict[str, Any]:
    """README's read-only IAM policy: the set-up calls and every type's, sorted
    (``python -m driftaudit.collect.collectors`` prints it)."""
    actions = {*SETUP_ACTIONS, *(a for rtype in REGISTRY.values() for a in rtype.iam_actions)}
    statement = {
        "Sid": "DriftauditReadOnly",
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": "*",
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


#: What the credentials that run a snapshot need beyond the audit role's policy, when they
#: reach accounts through roles (--role-arn, the accounts file) and list the organization
#: (--org-role): they change nothing in any account.
CALLER_ACTIONS = ("organizations:ListAccounts", "sts:AssumeRole")


def caller_policy(role_name: str = "driftaudit-audit") -> dict[str, Any]:
    """README's policy of the credentials that run driftaudit in the management (or a
    delegated administrator) account: assume the audit role in every account, list the
    organization's accounts (``python -m driftaudit.collect.collectors caller``)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DriftauditAssumeTheAuditRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::*:role/{role_name}",
            },
            {
                "Sid": "DriftauditListTheOrganization",
                "Effect": "Allow",
                "Action": "organizations:ListAccounts",
                "Resource": "*",
            },
        ],
    }


def resource_type(name: str) -> ResourceType:
    return REGISTRY[name]
