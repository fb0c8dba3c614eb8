"""The account's own AMIs (DescribeImages, Owners=self)."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    # DescribeImages leaves disabled AMIs out unless asked: without IncludeDisabled, disabling
    # an image would look like deleting it.
    return paginate(
        clients("ec2"), "describe_images", "Images", Owners=["self"], IncludeDisabled=True
    )


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="images",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("ImageId"),
    spec=Spec(
        drop=frozenset({"LastLaunchedTime"}),
        sort_by={"BlockDeviceMappings": ("DeviceName",), "ProductCodes": ("ProductCodeId",)},
    ),
    volatile_doc="LastLaunchedTime (changes every time an instance is launched from the image)",
)
