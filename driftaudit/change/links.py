"""What one resource's two versions say about the resources it is tied to (pure): the facts
:mod:`driftaudit.change.collapse` folds derived changes by, read from the documents only.

* an interface or a volume names the instance it is attached to (``Attachment.InstanceId``,
  ``Attachments[].InstanceId``);
* an elastic IP names the instance and interface it is associated with (``InstanceId``,
  ``NetworkInterfaceId``), on each side of the change;
* an instance launched by an Auto Scaling group carries the group's name in the tag
  ``aws:autoscaling:groupName`` (AWS sets it), and a group document names itself
  (``AutoScalingGroupName``).

Both versions count (old and new): an interface detached by the change was attached before
it. Nothing here reads another file or calls AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The tag AWS puts on every instance an Auto Scaling group launches.
ASG_TAG = "aws:autoscaling:groupName"


@dataclass(frozen=True)
class Links:
    """The ties of one changed resource, from both its versions."""

    #: Instances it is attached to (an interface's or a volume's attachment).
    attached_to: frozenset[str] = frozenset()
    #: An elastic IP's association before and after: instance and interface ids.
    associated_before: frozenset[str] = frozenset()
    associated_after: frozenset[str] = frozenset()
    #: An instance's Auto Scaling group (its tag), or a group's own name.
    group: str = ""

    @property
    def moved(self) -> bool:
        """Whether an elastic IP's association changed (made, moved or ended)."""
        return self.associated_before != self.associated_after


NO_LINKS = Links()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ids(*values: Any) -> frozenset[str]:
    return frozenset(v for v in values if isinstance(v, str) and v)


def _attached(rtype: str, resource: Mapping[str, Any]) -> frozenset[str]:
    if rtype == "network_interfaces":
        return _ids(_mapping(resource.get("Attachment")).get("InstanceId"))
    if rtype == "volumes":
        attachments = resource.get("Attachments")
        if isinstance(attachments, list):
            return _ids(*(_mapping(a).get("InstanceId") for a in attachments))
    return frozenset()


def _associated(resource: Mapping[str, Any]) -> frozenset[str]:
    return _ids(resource.get("InstanceId"), resource.get("NetworkInterfaceId"))


def _group(rtype: str, resource: Mapping[str, Any]) -> str:
    if rtype == "auto_scaling_groups":
        name = resource.get("AutoScalingGroupName")
    elif rtype == "instances":
        name = _mapping(resource.get("Tags")).get(ASG_TAG)
    else:
        return ""
    return name if isinstance(name, str) else ""


def links_of(rtype: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Links:
    """The ties of a resource whose versions are ``old`` and ``new`` (None: absent)."""
    sides = [s for s in (old, new) if isinstance(s, Mapping)]
    if not sides:
        return NO_LINKS
    attached = frozenset().union(*(_attached(rtype, s) for s in sides))
    before = _associated(old) if rtype == "elastic_ips" and isinstance(old, Mapping) else None
    after = _associated(new) if rtype == "elastic_ips" and isinstance(new, Mapping) else None
    group = next((g for g in (_group(rtype, s) for s in reversed(sides)) if g), "")
    return Links(attached, before or frozenset(), after or frozenset(), group)
