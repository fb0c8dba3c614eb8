"""Launch templates (DescribeLaunchTemplates + the default version's data).

A template's data may carry user data, which often holds secrets: it is removed inside
``fetch`` right after the call that returned it, and only ``UserDataPresent`` is kept.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Call, Clients, Raw, ResourceType, field_id, paginate

# The default version's own fields; it repeats the template's id, name and default flag.
VERSION_FIELDS = (
    "VersionNumber",
    "LaunchTemplateData",
    "VersionDescription",
    "CreateTime",
    "CreatedBy",
    "Operator",
)
LISTING = Call("ec2", "DescribeLaunchTemplates", "LaunchTemplates")
VERSIONS = Call("ec2", "DescribeLaunchTemplateVersions")
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
        # The version repeats the template's id, name and flags; keep what is its own.
        out["DefaultVersionData"] = {k: version[k] for k in VERSION_FIELDS if k in version}
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
    volatile_doc=(
        "LaunchTemplateData.UserData (secret-prone; replaced by UserDataPresent), the default "
        "version's repeated template id/name"
    ),
    name_keys=("LaunchTemplateName",),
)
