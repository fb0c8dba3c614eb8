"""A synthetic snapshot history for bench/history_bench.py (issue 5).

A deterministic fleet (random.Random(seed)) of describe-shaped instances (private and public
IPv4, secondary private addresses, some IPv6, interfaces) and security groups (with their
DescribeSecurityGroupRules ``sgr-`` ids) lives through ``days`` daily snapshots with about
``churn`` (1%) of resources changing each day: instances launched and terminated, released
private and public addresses handed to new instances, stop/start changing public IPs,
secondary addresses moved, rules added and removed, tags edited, groups created and deleted.
Every changed resource goes through the real collectors' ``transform``,
``canonical.normalize`` with the type's Spec (``snapshot.build_resources``),
``snapshot.document`` and ``canonical.dumps``, into
``DIR/<account>/<region>/<type>/<id>.yaml``. The whole history is written by one
``git fast-import`` stream: one commit per day, committer dates one day apart, only the files
that changed; one more day goes on the branch ``bench-next`` (the incremental update).

A story is planted in us-east-1 so the queries have known answers (days scale with ``days``):
``10.191.12.13`` is held by ``i-05f0a1c0000000001`` (primary address) from day 8% to 82%, then
by ``i-05f0a1c0000000002`` (a secondary address) from day 93%; the group ``sg-05f0a1c00000000b1``
gets an SSH rule from ``10.191.12.0/24`` at day 3% (kept) and one from ``10.191.12.13/32`` from
day 55% to 90%; no other rule covers that address on port 22. The public address
``54.161.12.13`` belongs to the first until a stop/start at day 40%, then to
``i-05f0a1c0000000003`` from day 60% to 70%. ``bench-next`` terminates the second.

Issue 11's network model has its own part of the story. The managed prefix list
``pl-05f0a1c00000000c1`` ("office") holds ``10.191.12.40/32`` from the first day, and the
story's group lets SSH in from the list from day 20%. The group ``sg-05f0a1c00000000d1``
(db-access) lets 5432 in from ``sg-05f0a1c00000000e1`` (web-tier), which the first instance is
in (and no other holder of ``10.191.12.13``), so the address is let in on 5432 through the
group reference while that instance holds it. A second account (``210987654321``) has a VPC
with the same CIDR as us-east-1's, where ``i-05f0a1c0000000004`` holds ``10.191.12.99`` from
the first day; the story's group lets SSH in from ``10.191.12.99/32`` from day 30%: not ours
for that rule (another, unconnected network) until the two VPCs are peered at day 75% (both
route tables route through ``pcx-05f0a1c00000000f1``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driftaudit.canonical import dumps  # noqa: E402
from driftaudit.collect.collectors import REGISTRY  # noqa: E402
from driftaudit.collect.engine import Part, build_resources, document  # noqa: E402

#: Bump when the generated repository or its meta data change: it is part of the cache key.
GENERATOR_VERSION = 3
ACCOUNT = "123456789012"
#: Region -> (second octet of its VPC's 10.x.0.0/16, public IPv4 prefix, share of the fleet).
REGIONS = {
    "us-east-1": (191, "54.161", 0.5),
    "eu-west-1": (192, "34.240", 0.3),
    "ap-southeast-2": (193, "13.236", 0.2),
}
#: Instances per /20 subnet before a region gets another one (3 at least, 16 at most).
SUBNET_LOAD = 2500
#: The first snapshot's time; snapshot ``d`` is taken ``d`` days later.
START = dt.datetime(2024, 3, 4, 6, 0, 0, tzinfo=dt.timezone.utc)
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]

TEAMS = ("payments", "search", "platform", "data", "web", "identity", "ml", "infra")
ENVS = ("prod", "staging", "dev")
ROLES = ("api", "worker", "web", "db", "cache", "batch")
INSTANCE_TYPES = ("t3.micro", "t3.small", "t3.medium", "m5.large", "m6i.xlarge", "c5.xlarge")
APP_PORTS = (8080, 8443, 5432, 6379, 3306, 9200)

# The planted story (see the module docstring).
STORY_IP = "10.191.12.13"
STORY_PUBLIC = "54.161.12.13"
# Hex, like every AWS id (the schemas check it), and easy to spot.
STORY_GROUP = "sg-05f0a1c00000000b1"
STORY_1, STORY_2, STORY_3, STORY_4 = (f"i-05f0a1c000000000{n}" for n in (1, 2, 3, 4))
# Issue 11: a prefix list, a group reference, an overlapping range in a second account.
STORY_LIST, LIST_IP = "pl-05f0a1c00000000c1", "10.191.12.40"
STORY_DB, STORY_WEB = "sg-05f0a1c00000000d1", "sg-05f0a1c00000000e1"
STAGING, STAGE_IP = "210987654321", "10.191.12.99"
STAGING_VPC, PEERING = "vpc-05f0a1c00000000a2", "pcx-05f0a1c00000000f1"
STORY_DAYS = {  # event -> fraction of --days
    "rule24": 0.03,
    "launch1": 0.08,
    "rule_list": 0.20,
    "rule99": 0.30,
    "public_moved": 0.40,
    "rule32": 0.55,
    "launch3": 0.60,
    "terminate3": 0.70,
    "peered": 0.75,
    "terminate1": 0.82,
    "rule32_gone": 0.90,
    "launch2": 0.93,
}
RESERVED = {STORY_IP, STORY_PUBLIC, LIST_IP, STAGE_IP}
#: No random rule references them and no random instance is in them.
STORY_GROUPS = frozenset({STORY_GROUP, STORY_DB, STORY_WEB})

#: Share of each kind of change among one day's changes (instances ~72%, groups ~28%: about
#: 1% of each population per day).
CHANGE_MIX = {
    "launch": 0.17,
    "terminate": 0.17,
    "instance_tags": 0.15,
    "stop_start": 0.08,
    "secondary_ip": 0.06,
    "instance_type": 0.05,
    "instance_groups": 0.04,
    "rule_added": 0.12,
    "rule_removed": 0.08,
    "group_tags": 0.05,
    "group_created": 0.015,
    "group_deleted": 0.015,
}


def _hex(rng: random.Random, n: int = 17) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def day_time(day: int) -> dt.datetime:
    return START + dt.timedelta(days=day)


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the fleet model --------------------------------------------------------------------


@dataclass
class Rule:
    rule_id: str
    egress: bool
    protocol: str  # "tcp", "udp", "-1"
    ports: tuple[int, int] | None
    kind: str  # "cidr", "cidr6", "group", "prefix_list"
    source: str
    description: str = ""


@dataclass
class Group:
    group_id: str
    region: str
    name: str
    rules: list[Rule]
    tags: dict[str, str]


@dataclass
class Instance:
    instance_id: str
    region: str
    subnet: int
    private_ip: str
    public_ip: str | None
    groups: list[str]
    instance_type: str
    launched: dt.datetime
    tags: dict[str, str]
    fixed: dict[str, str]  # ids and names that never change (eni, mac, volumes, ...)
    secondary: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    state: str = "running"
    wants_public: bool = False
    stopped_since: dt.datetime | None = None


@dataclass
class RegionNet:
    name: str
    octet: int
    public_prefix: str
    vpc: str
    subnets: list[tuple[str, str]]  # (subnet id, AZ); subnet k is 10.octet.(16k).0/20
    used: set[str] = field(default_factory=set)
    released: list[str] = field(default_factory=list)  # private addresses given back
    released_public: list[str] = field(default_factory=list)


class Fleet:
    """The whole estate on one day, and the random changes from one day to the next."""

    def __init__(self, rng: random.Random, instances: int, groups: int) -> None:
        self.rng = rng
        self.regions = {
            name: RegionNet(
                name,
                octet,
                prefix,
                f"vpc-{_hex(rng)}",
                [(f"subnet-{_hex(rng)}", f"{name}{az}") for az in "abc"],
            )
            for name, (octet, prefix, _) in REGIONS.items()
        }
        # A /20 holds about 4,000 addresses: a large fleet (--instances 50000) gets more
        # subnets, named without drawing from rng so smaller fleets stay as they were.
        for name, share in zip(REGIONS, self._spread_counts(instances), strict=True):
            net = self.regions[name]
            while len(net.subnets) < min(16, -(-share // SUBNET_LOAD)):
                k = len(net.subnets)
                net.subnets.append((f"subnet-{net.octet:03x}{k:014x}", f"{name}{'abc'[k % 3]}"))
        self.public_used: set[str] = set(RESERVED)
        self.groups: dict[str, Group] = {}
        self.instances: dict[str, Instance] = {}
        self.counter = 0
        self.protected = {STORY_GROUP, STORY_DB, STORY_WEB, STORY_1, STORY_2, STORY_3}
        # The story's other groups: db-access lets 5432 in from web-tier (the group reference).
        self.groups[STORY_DB] = Group(
            STORY_DB,
            "us-east-1",
            "db-access",
            [
                self._rule(True, "-1", None, "cidr", "0.0.0.0/0"),
                self._rule(False, "tcp", (5432, 5432), "group", STORY_WEB, "from web"),
            ],
            {"Name": "db-access", "team": "data", "env": "prod"},
        )
        self.groups[STORY_WEB] = Group(
            STORY_WEB,
            "us-east-1",
            "web-tier",
            [self._rule(True, "-1", None, "cidr", "0.0.0.0/0")],
            {"Name": "web-tier", "team": "web", "env": "prod"},
        )
        #: Documents of the issue-11 story outside the random fleet, by (account, region,
        #: type, id): the prefix list, the route tables, the second account's instance.
        self.extra: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._network_story(peered=False)
        for k, region in enumerate(self._spread(groups)):
            self.new_group(region, in_use=k < groups * 0.7)
        for region in self._spread(instances):
            self.launch(region, START - dt.timedelta(seconds=rng.randrange(300 * 86400)))
        # The story's group: an ordinary bastion group, present from the first day.
        self.groups[STORY_GROUP] = Group(
            STORY_GROUP,
            "us-east-1",
            "bastion-access",
            [self._rule(True, "-1", None, "cidr", "0.0.0.0/0")],
            {"Name": "bastion-access", "team": "infra", "env": "prod"},
        )

    def _spread_counts(self, count: int) -> list[int]:
        spread = self._spread(count)
        return [spread.count(name) for name in REGIONS]

    def _spread(self, count: int) -> list[str]:
        names = list(REGIONS)
        weights = [REGIONS[n][2] for n in names]
        return [names[min(i, len(names) - 1)] for i in _quota(count, weights)]

    # -- addresses --

    def _private_ip(self, net: RegionNet, subnet: int) -> str:
        """A free address of the subnet; AWS hands recently released ones out again."""
        lo = subnet * 16
        recent = [ip for ip in net.released[-200:] if int(ip.split(".")[2]) // 16 == subnet]
        if recent and self.rng.random() < 0.4:
            ip = self.rng.choice(recent)
            net.released.remove(ip)
        else:
            while True:
                ip = f"10.{net.octet}.{lo + self.rng.randrange(16)}.{self.rng.randrange(4, 255)}"
                if ip not in net.used and ip not in RESERVED:
                    break
        net.used.add(ip)
        return ip

    def _release(self, net: RegionNet, ip: str) -> None:
        net.used.discard(ip)
        if ip not in RESERVED:
            net.released.append(ip)

    def _public_ip(self, net: RegionNet) -> str:
        if net.released_public and self.rng.random() < 0.2:
            ip = net.released_public.pop(self.rng.randrange(len(net.released_public)))
        else:
            while True:
                ip = f"{net.public_prefix}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
                if ip not in self.public_used:
                    break
        self.public_used.add(ip)
        return ip

    def _release_public(self, net: RegionNet, ip: str | None) -> None:
        if ip and ip not in RESERVED:
            self.public_used.discard(ip)
            net.released_public.append(ip)

    # -- resources --

    def _rule(
        self,
        egress: bool,
        protocol: str,
        ports: tuple[int, int] | None,
        kind: str,
        source: str,
        description: str = "",
    ) -> Rule:
        return Rule(f"sgr-{_hex(self.rng)}", egress, protocol, ports, kind, source, description)

    def random_rule(self, group: Group) -> Rule:
        """An ingress rule as teams write them. Port 22 only ever from office /32s or groups:
        the story's address is covered on port 22 by the planted rules alone."""
        rng, net = self.rng, self.regions[group.region]
        pick = rng.random()
        if pick < 0.25:
            port = rng.choice((443, 443, 80))
            return self._rule(False, "tcp", (port, port), "cidr", "0.0.0.0/0")
        if pick < 0.30:
            return self._rule(False, "tcp", (443, 443), "cidr6", "::/0")
        if pick < 0.55:
            port = rng.choice(APP_PORTS)
            source = f"10.{net.octet}.0.0/16" if rng.random() < 0.6 else self._subnet_cidr(net)
            return self._rule(False, "tcp", (port, port), "cidr", source, rng.choice(("", "vpc")))
        if pick < 0.60:
            return self._rule(False, "tcp", (30000, 32767), "cidr", f"10.{net.octet}.0.0/16")
        if pick < 0.75:
            office = f"{rng.choice(('203.0.113', '198.51.100'))}.{rng.randrange(1, 255)}/32"
            return self._rule(False, "tcp", (22, 22), "cidr", office, rng.choice(("office", "vpn")))
        peers = [
            g
            for g in self.groups.values()
            if g.region == group.region and "stale" not in g.tags and g.group_id not in STORY_GROUPS
        ] or [group]
        port = rng.choice((*APP_PORTS, 22))
        peer = rng.choice(peers).group_id
        return self._rule(False, "tcp", (port, port), "group", peer, rng.choice(("", "app")))

    def _subnet_cidr(self, net: RegionNet) -> str:
        return f"10.{net.octet}.{16 * self.rng.randrange(len(net.subnets))}.0/20"

    def new_group(self, region: str, in_use: bool = True) -> Group:
        rng = self.rng
        self.counter += 1
        name = f"{rng.choice(TEAMS)}-{rng.choice(ROLES)}-{self.counter}"
        group = Group(f"sg-{_hex(rng)}", region, name, [], {})
        group.rules.append(self._rule(True, "-1", None, "cidr", "0.0.0.0/0"))
        if rng.random() < 0.2:
            group.rules.append(self._rule(True, "-1", None, "cidr6", "::/0"))
        if rng.random() < 0.3:
            group.rules.append(self._rule(False, "-1", None, "group", group.group_id, "self"))
        for _ in range(rng.randrange(1, 6)):
            group.rules.append(self.random_rule(group))
        group.tags = {"Name": name, "team": rng.choice(TEAMS), "env": rng.choice(ENVS)}
        if not in_use:
            group.tags["stale"] = "true"
        self.groups[group.group_id] = group
        return group

    def _usable_groups(self, region: str) -> list[str]:
        return [
            g.group_id
            for g in self.groups.values()
            if g.region == region and "stale" not in g.tags and g.group_id not in STORY_GROUPS
        ]

    def launch(
        self,
        region: str,
        when: dt.datetime,
        instance_id: str | None = None,
        private_ip: str | None = None,
        public_ip: str | None = None,
        public: bool | None = None,
        subnet: int | None = None,
        groups: list[str] | None = None,
    ) -> Instance:
        rng, net = self.rng, self.regions[region]
        self.counter += 1
        if subnet is None:
            subnet = (
                rng.randrange(len(net.subnets))
                if private_ip is None
                else int(private_ip.split(".")[2]) // 16
            )
        ip = private_ip or self._private_ip(net, subnet)
        net.used.add(ip)
        wants_public = rng.random() < 0.3 if public is None else public
        if wants_public and public_ip is None:
            public_ip = self._public_ip(net)
        team, role = rng.choice(TEAMS), rng.choice(ROLES)
        name = f"{team}-{role}-{self.counter}"
        usable = self._usable_groups(region)
        fixed = {
            "eni": f"eni-{_hex(rng)}",
            "attachment": f"eni-attach-{_hex(rng)}",
            "mac": ":".join(["02"] + [_hex(rng, 2) for _ in range(5)]),
            "root": f"vol-{_hex(rng)}",
            "data": f"vol-{_hex(rng)}" if rng.random() < 0.4 else "",
            "ami": f"ami-{_hex(rng)}",
            "reservation": f"r-{_hex(rng)}",
            "key": f"deploy-{rng.choice(ENVS)}",
            "token": f"terraform-{_hex(rng, 26)}",
            "profile": f"AIPA{_hex(rng, 17).upper()}",
        }
        inst = Instance(
            instance_id or f"i-{_hex(rng)}",
            region,
            subnet,
            ip,
            public_ip,
            groups
            if groups is not None
            else sorted(rng.sample(usable, min(len(usable), rng.randrange(1, 4)))),
            rng.choice(INSTANCE_TYPES),
            when,
            {"Name": name, "team": team, "role": role, "env": rng.choice(ENVS), "Version": "1"},
            fixed,
            wants_public=wants_public,
        )
        if region == "us-east-1" and rng.random() < 0.1:
            inst.ipv6 = [f"2600:1f18:4a3:9c{subnet:02x}:{_hex(rng, 4)}:{_hex(rng, 4)}::1"]
        self.instances[inst.instance_id] = inst
        return inst

    def terminate(self, instance_id: str) -> None:
        inst = self.instances.pop(instance_id)
        net = self.regions[inst.region]
        for ip in (inst.private_ip, *inst.secondary):
            self._release(net, ip)
        self._release_public(net, inst.public_ip)

    def _network_story(self, peered: bool) -> set[tuple[str, str]]:
        """The documents of the issue-11 story outside the random fleet (see the module's
        docstring); the (``extra``, key) of each one written."""
        east = self.regions["us-east-1"]
        self.extra[(ACCOUNT, "us-east-1", "managed_prefix_lists", STORY_LIST)] = {
            "PrefixListId": STORY_LIST,
            "AddressFamily": "IPv4",
            "State": "create-complete",
            "PrefixListArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:prefix-list/{STORY_LIST}",
            "PrefixListName": "office",
            "MaxEntries": 10,
            "Version": 1,
            "Tags": [],
            "OwnerId": ACCOUNT,
            "Entries": [{"Cidr": f"{LIST_IP}/32", "Description": "office desk"}],
        }
        for account, vpc, rtb in (
            (ACCOUNT, east.vpc, "rtb-05f0a1c00000000b1"),
            (STAGING, STAGING_VPC, "rtb-05f0a1c00000000b2"),
        ):
            routes = [
                {"DestinationCidrBlock": f"10.{east.octet}.0.0/16", "GatewayId": "local",
                 "Origin": "CreateRouteTable", "State": "active"},
            ]  # fmt: skip
            if peered:
                routes.append(
                    {"DestinationCidrBlock": "10.0.0.0/8", "VpcPeeringConnectionId": PEERING,
                     "Origin": "CreateRoute", "State": "active"}
                )  # fmt: skip
            self.extra[(account, "us-east-1", "route_tables", rtb)] = {
                "RouteTableId": rtb,
                "VpcId": vpc,
                "OwnerId": account,
                "Routes": routes,
                "Associations": [],
                "PropagatingVgws": [],
                "Tags": [],
            }
        staging = RegionNet("us-east-1", east.octet, "3.80", STAGING_VPC, east.subnets)
        inst = Instance(
            STORY_4,
            "us-east-1",
            0,
            STAGE_IP,
            None,
            [],
            "t3.small",
            START,
            {"Name": "staging-debug", "team": "infra", "role": "debug", "env": "staging",
             "Version": "1"},
            {"eni": "eni-05f0a1c00000000a4", "attachment": "eni-attach-05f0a1c00000000a4",
             "mac": "02:00:00:00:00:04", "root": "vol-05f0a1c00000000a4", "data": "",
             "ami": "ami-05f0a1c00000000a4", "reservation": "r-05f0a1c00000000a4",
             "key": "deploy-staging", "token": "staging", "profile": "AIPA05F0A1C0000000004"},
        )  # fmt: skip
        raw = raw_instance(inst, staging, {})
        raw["OwnerId"] = raw["NetworkInterfaces"][0]["OwnerId"] = STAGING
        self.extra[(STAGING, "us-east-1", "instances", STORY_4)] = raw
        return {("extra", "|".join(key)) for key in self.extra}

    # -- one day's random changes --

    def churn(self, day: int, rate: float) -> set[tuple[str, str]]:
        """Apply about ``rate`` of random changes; the (type, id) of what changed."""
        rng = self.rng
        when = day_time(day) - dt.timedelta(seconds=rng.randrange(86400))
        size = len(self.instances) + len(self.groups)
        total = round(size * rate * rng.uniform(0.7, 1.3))
        kinds = rng.choices(list(CHANGE_MIX), weights=list(CHANGE_MIX.values()), k=total)
        touched: set[tuple[str, str]] = set()
        for kind in kinds:
            touched |= self.change(kind, when)
        return touched

    def _pick_instance(self) -> Instance | None:
        ids = [i for i in self.instances if i not in self.protected]
        return self.instances[self.rng.choice(ids)] if ids else None

    def _pick_group(self) -> Group:
        ids = [g for g in self.groups if g not in self.protected]
        return self.groups[self.rng.choice(ids)]

    def change(self, kind: str, when: dt.datetime) -> set[tuple[str, str]]:
        rng = self.rng
        if kind == "launch":
            region = self._spread(1)[0] if rng.random() < 0.5 else rng.choice(list(REGIONS))
            return {("instances", self.launch(region, when).instance_id)}
        if kind.startswith("group_") or kind.startswith("rule_"):
            return self._change_group(kind)
        inst = self._pick_instance()
        if inst is None:
            return set()
        net = self.regions[inst.region]
        if kind == "terminate":
            self.terminate(inst.instance_id)
        elif kind == "instance_tags":
            inst.tags["Version"] = str(int(inst.tags["Version"]) + 1)
            if rng.random() < 0.2:
                inst.tags["owner"] = f"{rng.choice(TEAMS)}@example.com"
        elif kind == "stop_start":
            # A stop gives the public address back to AWS; the start draws a new one.
            if inst.state == "running":
                inst.state, inst.stopped_since = "stopped", when
                self._release_public(net, inst.public_ip)
                inst.public_ip = None
            else:
                inst.state, inst.stopped_since, inst.launched = "running", None, when
                if inst.wants_public:
                    inst.public_ip = self._public_ip(net)
        elif kind == "secondary_ip":
            if inst.secondary:
                self._release(net, inst.secondary.pop(rng.randrange(len(inst.secondary))))
            else:
                inst.secondary.append(self._private_ip(net, inst.subnet))
        elif kind == "instance_type":
            inst.instance_type = rng.choice([t for t in INSTANCE_TYPES if t != inst.instance_type])
        elif kind == "instance_groups":
            usable = self._usable_groups(inst.region)
            inst.groups = sorted(rng.sample(usable, min(len(usable), rng.randrange(1, 4))))
        return {("instances", inst.instance_id)}

    def _change_group(self, kind: str) -> set[tuple[str, str]]:
        rng = self.rng
        if kind == "group_created":
            group = self.new_group(rng.choice(list(REGIONS)), in_use=rng.random() < 0.5)
            return {("security_groups", group.group_id)}
        if kind == "group_deleted":
            # Only stale groups: no instance or rule uses them, so AWS would allow the delete.
            stale = [g for g, grp in self.groups.items() if "stale" in grp.tags]
            if not stale:
                return set()
            gone = rng.choice(stale)
            del self.groups[gone]
            return {("security_groups", gone)}
        group = self._pick_group()
        if kind == "rule_added":
            group.rules.append(self.random_rule(group))
        elif kind == "rule_removed":
            ingress = [r for r in group.rules if not r.egress]
            if ingress:
                group.rules.remove(rng.choice(ingress))
        else:
            group.tags["reviewed"] = iso(START + dt.timedelta(days=rng.randrange(400)))[:10]
        return {("security_groups", group.group_id)}

    # -- the planted story --

    def story(self, day: int, days: int) -> set[tuple[str, str]]:
        when = day_time(day) - dt.timedelta(hours=3)
        net = self.regions["us-east-1"]
        group = self.groups[STORY_GROUP]
        touched: set[tuple[str, str]] = set()
        for event in (e for e, f in STORY_DAYS.items() if story_day(f, days) == day):
            if event == "rule24":
                group.rules.append(
                    self._rule(False, "tcp", (22, 22), "cidr", "10.191.12.0/24", "vpn pool")
                )
            elif event == "rule32":
                group.rules.append(
                    self._rule(False, "tcp", (22, 22), "cidr", f"{STORY_IP}/32", "ops laptop")
                )
            elif event == "rule32_gone":
                group.rules = [r for r in group.rules if r.source != f"{STORY_IP}/32"]
            elif event == "launch1":
                self.launch(
                    "us-east-1", when, STORY_1, STORY_IP, STORY_PUBLIC, public=True,
                    groups=[STORY_WEB],
                )  # fmt: skip
                touched.add(("instances", STORY_1))
            elif event == "rule_list":
                group.rules.append(
                    self._rule(False, "tcp", (22, 22), "prefix_list", STORY_LIST, "office list")
                )
            elif event == "rule99":
                group.rules.append(
                    self._rule(False, "tcp", (22, 22), "cidr", f"{STAGE_IP}/32", "staging debug")
                )
            elif event == "peered":
                touched |= self._network_story(peered=True)
            elif event == "public_moved":
                inst = self.instances[STORY_1]
                inst.public_ip = self._public_ip(net)  # stop/start between two snapshots
                inst.launched = when
                touched.add(("instances", STORY_1))
            elif event == "launch3":
                self.launch("us-east-1", when, STORY_3, public_ip=STORY_PUBLIC, public=True)
                touched.add(("instances", STORY_3))
            elif event in ("terminate1", "terminate3"):
                target = STORY_1 if event == "terminate1" else STORY_3
                self.terminate(target)
                touched.add(("instances", target))
            elif event == "launch2":
                inst = self.launch("us-east-1", when, STORY_2, public=False, subnet=0, groups=[])
                inst.secondary.append(STORY_IP)
                net.used.add(STORY_IP)
                touched.add(("instances", STORY_2))
            if event.startswith("rule"):
                touched.add(("security_groups", STORY_GROUP))
        if day == days:  # bench-next, the commit of the incremental update
            self.terminate(STORY_2)
            touched.add(("instances", STORY_2))
        return touched


def _quota(count: int, weights: list[float]) -> Iterator[int]:
    """Region index for each of ``count`` items, in proportion to ``weights`` (deterministic)."""
    total = sum(weights)
    bounds, acc = [], 0.0
    for w in weights:
        acc += w / total
        bounds.append(acc)
    for i in range(count):
        x = (i + 0.5) / count
        yield next(k for k, b in enumerate(bounds) if x <= b or k == len(bounds) - 1)


def story_day(fraction: float, days: int) -> int:
    return max(1, round(fraction * days))


# --- describe-shaped raw items ----------------------------------------------------------


def _dns_private(ip: str, region: str) -> str:
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{suffix}"


def _dns_public(ip: str, region: str) -> str:
    suffix = (
        "compute-1.amazonaws.com" if region == "us-east-1" else f"{region}.compute.amazonaws.com"
    )
    return f"ec2-{ip.replace('.', '-')}.{suffix}"


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def raw_instance(inst: Instance, net: RegionNet, group_names: dict[str, str]) -> dict[str, Any]:
    """One DescribeInstances instance (with its reservation's id and owner, as fetch adds)."""
    f = inst.fixed
    subnet_id, az = net.subnets[inst.subnet]
    groups = [{"GroupId": g, "GroupName": group_names[g]} for g in inst.groups]
    association = (
        {
            "IpOwnerId": "amazon",
            "PublicDnsName": _dns_public(inst.public_ip, inst.region),
            "PublicIp": inst.public_ip,
        }
        if inst.public_ip
        else None
    )
    addresses: list[dict[str, Any]] = [
        {
            "Primary": True,
            "PrivateIpAddress": inst.private_ip,
            "PrivateDnsName": _dns_private(inst.private_ip, inst.region),
            "Association": association,
        }
    ] + [
        {
            "Primary": False,
            "PrivateIpAddress": ip,
            "PrivateDnsName": _dns_private(ip, inst.region),
        }
        for ip in inst.secondary
    ]
    devices = [("/dev/xvda", f["root"], True)] + (
        [("/dev/sdf", f["data"], False)] * bool(f["data"])
    )
    running = inst.state == "running"
    return {
        "AmiLaunchIndex": 0,
        "Architecture": "x86_64",
        "BlockDeviceMappings": [
            {
                "DeviceName": name,
                "Ebs": {
                    "AttachTime": inst.launched,
                    "DeleteOnTermination": root,
                    "Status": "attached",
                    "VolumeId": vol,
                },
            }
            for name, vol, root in devices
        ],
        "ClientToken": f["token"],
        "EbsOptimized": True,
        "EnaSupport": True,
        "Hypervisor": "xen",
        "IamInstanceProfile": {
            "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{inst.tags['role']}",
            "Id": f["profile"],
        },
        "ImageId": f["ami"],
        "InstanceId": inst.instance_id,
        "InstanceType": inst.instance_type,
        "Ipv6Address": inst.ipv6[0] if inst.ipv6 else None,
        "KeyName": f["key"],
        "LaunchTime": inst.launched,
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "HttpPutResponseHopLimit": 2,
            "HttpTokens": "required",
            "InstanceMetadataTags": "disabled",
            "State": "applied",
        },
        "Monitoring": {"State": "disabled"},
        "NetworkInterfaces": [
            {
                "Association": association,
                "Attachment": {
                    "AttachTime": inst.launched,
                    "AttachmentId": f["attachment"],
                    "DeleteOnTermination": True,
                    "DeviceIndex": 0,
                    "NetworkCardIndex": 0,
                    "Status": "attached",
                },
                "Description": "",
                "Groups": groups,
                "InterfaceType": "interface",
                "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": False} for a in inst.ipv6],
                "MacAddress": f["mac"],
                "NetworkInterfaceId": f["eni"],
                "OwnerId": ACCOUNT,
                "PrivateDnsName": _dns_private(inst.private_ip, inst.region),
                "PrivateIpAddress": inst.private_ip,
                "PrivateIpAddresses": addresses,
                "SourceDestCheck": True,
                "Status": "in-use",
                "SubnetId": subnet_id,
                "VpcId": net.vpc,
            }
        ],
        "OwnerId": ACCOUNT,
        "Placement": {"AvailabilityZone": az, "GroupName": "", "Tenancy": "default"},
        "PlatformDetails": "Linux/UNIX",
        "PrivateDnsName": _dns_private(inst.private_ip, inst.region),
        "PrivateIpAddress": inst.private_ip,
        "ProductCodes": [],
        "PublicDnsName": _dns_public(inst.public_ip, inst.region) if inst.public_ip else "",
        "PublicIpAddress": inst.public_ip,
        "ReservationId": f["reservation"],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": groups,
        "SourceDestCheck": True,
        "State": {"Code": 16 if running else 80, "Name": inst.state},
        "StateReason": None
        if running
        else {"Code": "Client.UserInitiatedShutdown", "Message": "User initiated shutdown"},
        "StateTransitionReason": ""
        if running
        else f"User initiated ({inst.stopped_since:%Y-%m-%d %H:%M:%S} GMT)",
        "SubnetId": subnet_id,
        "Tags": _tag_list(inst.tags),
        "UsageOperation": "RunInstances",
        "VirtualizationType": "hvm",
        "VpcId": net.vpc,
    }


def raw_group(group: Group, vpc: str) -> dict[str, Any]:
    """DescribeSecurityGroups' group plus its DescribeSecurityGroupRules rules, as fetch joins
    them: permissions grouped by (protocol, ports), one rule per source."""
    perms: dict[tuple[bool, str, tuple[int, int] | None], dict[str, Any]] = {}
    rules = []
    for r in group.rules:
        perm = perms.setdefault(
            (r.egress, r.protocol, r.ports),
            {
                "IpProtocol": r.protocol,
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
                **({"FromPort": r.ports[0], "ToPort": r.ports[1]} if r.ports else {}),
            },
        )
        desc = {"Description": r.description} if r.description else {}
        rule: dict[str, Any] = {
            "SecurityGroupRuleId": r.rule_id,
            "GroupId": group.group_id,
            "GroupOwnerId": ACCOUNT,
            "IsEgress": r.egress,
            "IpProtocol": r.protocol,
            "FromPort": r.ports[0] if r.ports else -1,
            "ToPort": r.ports[1] if r.ports else -1,
            "Tags": [],
            **desc,
        }
        if r.kind == "cidr":
            perm["IpRanges"].append({"CidrIp": r.source, **desc})
            rule["CidrIpv4"] = r.source
        elif r.kind == "cidr6":
            perm["Ipv6Ranges"].append({"CidrIpv6": r.source, **desc})
            rule["CidrIpv6"] = r.source
        elif r.kind == "prefix_list":
            perm["PrefixListIds"].append({"PrefixListId": r.source, **desc})
            rule["PrefixListId"] = r.source
        else:
            perm["UserIdGroupPairs"].append({"GroupId": r.source, "UserId": ACCOUNT, **desc})
            rule["ReferencedGroupInfo"] = {"GroupId": r.source, "UserId": ACCOUNT}
        rules.append(rule)
    return {
        "Description": f"{group.name} managed by terraform",
        "GroupId": group.group_id,
        "GroupName": group.name,
        "IpPermissions": [p for (egress, *_), p in perms.items() if not egress],
        "IpPermissionsEgress": [p for (egress, *_), p in perms.items() if egress],
        "OwnerId": ACCOUNT,
        "SecurityGroupArn": f"arn:aws:ec2:{group.region}:{ACCOUNT}:security-group/{group.group_id}",
        "SecurityGroupRules": rules,
        "Tags": _tag_list(group.tags),
        "VpcId": vpc,
    }


# --- the history, through one git fast-import stream ------------------------------------


def covers(cidr: str, address: str) -> bool:
    net, ip = ipaddress.ip_network(cidr), ipaddress.ip_address(address)
    return ip.version == net.version and ip in net


class Writer:
    """Canonical bytes of each changed resource; which files a day's commit must change."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.files: dict[tuple[str, str], tuple[str, bytes]] = {}
        #: Ground truth: groups that ever had an ingress CIDR rule covering STORY_IP.
        self.covering: set[str] = set()

    def render(self, rtype: str, rid: str) -> tuple[str, bytes] | None:
        fleet = self.fleet
        if rtype == "extra":
            account, region, kind, key = rid.split("|")
            extra = fleet.extra.get((account, region, kind, key))
            if extra is None:
                return None
            part = Part(account, region, kind)
            resource = build_resources(REGISTRY[kind], [extra])[key]
            return f"{account}/{region}/{kind}/{key}.yaml", dumps(document(part, key, resource))
        if rtype == "instances":
            inst = fleet.instances.get(rid)
            if inst is None:
                return None
            region = inst.region
            names = {g: fleet.groups[g].name for g in inst.groups}
            raw = raw_instance(inst, fleet.regions[region], names)
        else:
            group = fleet.groups.get(rid)
            if group is None:
                return None
            region = group.region
            raw = raw_group(group, fleet.regions[region].vpc)
            if any(
                not r.egress and r.kind in ("cidr", "cidr6") and covers(r.source, STORY_IP)
                for r in group.rules
            ):
                self.covering.add(rid)
        part = Part(ACCOUNT, region, rtype)
        resource = build_resources(REGISTRY[rtype], [raw])[rid]
        return f"{ACCOUNT}/{region}/{rtype}/{rid}.yaml", dumps(document(part, rid, resource))

    def changes(self, touched: set[tuple[str, str]]) -> list[tuple[str, bytes | None]]:
        out: list[tuple[str, bytes | None]] = []
        for key in sorted(touched):
            new, old = self.render(*key), self.files.get(key)
            if new is None:
                if old is not None:
                    out.append((old[0], None))
                    del self.files[key]
            elif old is None or old[1] != new[1]:
                out.append(new)
                self.files[key] = new
        return out


def _data(out: BinaryIO, payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def generate(repo: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write the whole history into a new repository; what was generated, for the report."""
    start = time.perf_counter()
    rng = random.Random(args.seed)
    fleet = Fleet(rng, args.instances, args.groups)
    writer = Writer(fleet)
    repo.mkdir(parents=True)
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=repo, check=True)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, stdin=subprocess.PIPE
    )
    out = proc.stdin
    assert out is not None
    files_changed: list[int] = []
    for day in range(args.days + 1):
        if day == 0:
            touched = {("instances", i) for i in fleet.instances}
            touched |= {("security_groups", g) for g in fleet.groups}
            touched |= {("extra", "|".join(key)) for key in fleet.extra}
        else:
            touched = fleet.churn(day, args.churn) | fleet.story(day, args.days)
        changes = writer.changes(touched)
        files_changed.append(len(changes))
        if day == args.days - 1:  # the tip of main: what queries before bench-next can see
            covering = sorted(writer.covering)
        stamp = int(day_time(day).timestamp())
        ref = "main" if day < args.days else "bench-next"
        out.write(f"commit refs/heads/{ref}\nmark :{day + 1}\n".encode())
        for who in ("author", "committer"):
            out.write(f"{who} bench <bench@localhost> {stamp} +0000\n".encode())
        added = sum(1 for _, data in changes if data is not None)
        subject = f"snapshot {iso(day_time(day))}: {added} written, {len(changes) - added} removed"
        _data(out, subject.encode() + b"\n")
        if day == args.days:
            out.write(f"from :{day}\n".encode())
        if day == 0:
            out.write(b"M 100644 inline .gitignore\n")
            _data(out, b".driftaudit/\n")
        for path, data in changes:
            if data is None:
                out.write(f"D {path}\n".encode())
            else:
                out.write(f"M 100644 inline {path}\n".encode())
                _data(out, data)
        out.write(b"\n")
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    generated = time.perf_counter() - start
    subprocess.run([*GIT, "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    subprocess.run([*GIT, "gc", "-q"], cwd=repo, check=True)
    return {
        "days": args.days,
        "instances": args.instances,
        "groups": args.groups,
        "churn": args.churn,
        "seed": args.seed,
        "generate_seconds": round(generated, 1),
        "gc_seconds": round(time.perf_counter() - start - generated, 1),
        "files_day0": files_changed[0],
        "files_changed_per_day": round(statistics.mean(files_changed[1:-1] or [0]), 1),
        "files_in_last_snapshot": sum(1 for _ in repo.glob("*/*/*/*.yaml")),
        "next_commit_files": files_changed[-1],
        "git_mb": round(
            sum(p.stat().st_size for p in (repo / ".git").rglob("*") if p.is_file()) / 2**20, 1
        ),
        "covering_groups": covering,
    }
