"""Launch templates (DescribeLaunchTemplates + the default version's data).

A template's data may carry user data, which often holds secrets: it is removed inside
``fetch`` right after the call that returned it, and only ``UserDataPresent`` is kept.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    Reshaped,
    ResourceType,
    field_id,
    paginate,
)

# What the default version repeats of its template: everything else is its own and kept
# (a member AWS adds is kept too, never silently dropped).
REPEATED = ("LaunchTemplateId", "LaunchTemplateName", "DefaultVersion")
LISTING = Call("ec2", "DescribeLaunchTemplates", "LaunchTemplates")
VERSIONS = Call(
    "ec2", "DescribeLaunchTemplateVersions", "LaunchTemplateVersions", "DefaultVersionData"
)
DATA = "DefaultVersionData.LaunchTemplateData"


def fetch(clients: Clients) -> list[Raw]:
    ec2 = clients("ec2")
    templates = paginate(ec2, LISTING.method, LISTING.result)
    out: list[Raw] = []
    for template in templates:
        # Naming one version ($Default) gives at most one item, so no paging is needed.
        versions = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"]
        )["LaunchTemplateVersions"]
        for version in versions:
            data = version.setdefault("LaunchTemplateData", {})
            data["UserDataPresent"] = bool(data.pop("UserData", None))
        out.append({**template, "DefaultVersionData": versions[0] if versions else None})
    return out


def transform(raw: Raw) -> Raw:
    out = dict(raw)
    version = raw.get("DefaultVersionData")
    if version is not None:
        out["DefaultVersionData"] = {k: v for k, v in version.items() if k not in REPEATED}
    return out


def from_config(configuration: Raw, item: Raw) -> Raw:
    """AWS Config records a launch template in CloudFormation's form: Id, the version
    numbers as text, and one LaunchTemplateData (without its user data), kept here as the
    default version's data."""
    got = {str(k).lower(): v for k, v in configuration.items()}
    out: Raw = {
        "launchTemplateId": got.get("id") or got.get("launchtemplateid"),
        "launchTemplateName": got.get("launchtemplatename"),
        "defaultVersionNumber": got.get("defaultversionnumber"),
        "latestVersionNumber": got.get("latestversionnumber"),
    }
    data = got.get("launchtemplatedata")
    if isinstance(data, dict):
        out["defaultVersionData"] = {
            "versionNumber": got.get("defaultversionnumber"),
            "launchTemplateData": {k: v for k, v in data.items() if str(k).lower() != "userdata"},
        }
    return out


RESOURCE = ResourceType(
    name="launch_templates",
    label="launch template",
    calls=(LISTING, VERSIONS),
    fetch=fetch,
    transform=transform,
    id_of=field_id("LaunchTemplateId"),
    spec=Spec(
        sort_by={
            f"{DATA}.BlockDeviceMappings": ("DeviceName",),
            f"{DATA}.NetworkInterfaces": ("NetworkCardIndex", "DeviceIndex"),
            f"{DATA}.TagSpecifications": ("ResourceType",),
        },
    ),
    reshaped={
        f"{DATA}.UserData": Reshaped("replaced by UserDataPresent: user data often holds secrets"),
        **{
            f"DefaultVersionData.{key}": Reshaped("left out: repeats the template's own")
            for key in REPEATED
        },
    },
    name_keys=("LaunchTemplateName",),
    config=ConfigRecord(
        {"AWS::EC2::LaunchTemplate": ("ec2", "LaunchTemplate")},
        extra={"DefaultVersionData": ("ec2", "LaunchTemplateVersion")},
        prepare=from_config,
        lacks={
            **{
                key: "not in Config's item, which has CloudFormation's form"
                for key in (
                    "CreateTime",
                    "CreatedBy",
                    "Operator",
                    "DefaultVersionData.CreateTime",
                    "DefaultVersionData.CreatedBy",
                    "DefaultVersionData.Operator",
                    "DefaultVersionData.VersionDescription",
                )
            },
            f"{DATA}.UserDataPresent": "Config's item holds no user data",
        },
    ),
)
