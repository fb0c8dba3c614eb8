"""Run moto's server with two changes: an EC2 resource's tags are looked up by its id, and
one thread race is closed (see the end of this file).

Stock moto (5.2) renders each resource's tags through ``describe_tags`` with a
``resource-id`` regex filter, scanning every tag in the region, so a describe of R resources
carrying T tags costs about R x T server CPU; at 1,000 instances per region that hides
everything the clients do. This lookup returns the same list (same order, same fields) in
O(tags of the resource). Every tool in one benchmark run talks to the same server, so ratios
stay fair; the benchmark output says when this launcher was used.

Usage: python bench/fast_moto.py -H 127.0.0.1 -p PORT   (the arguments of ``moto_server``)
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import never_return
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.server import main


def _tags_by_id(self: Any) -> list[dict[str, str]]:
    if not self.id:
        return []
    # .get, not [..]: the backend's tag store is a defaultdict and must not grow on reads.
    tags = self.ec2_backend.tags.get(self.id, {})
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": k, "value": v, "resource_type": kind}
        for k, v in tags.items()
    ]


TaggedEC2Resource.get_tags = _tags_by_id  # type: ignore[method-assign]
# Stock moto's first DescribeKeyPairs adds this key to a class-level dict that every EC2
# response iterates while serializing: a concurrent describe then fails with HTTP 500
# ("dictionary changed size during iteration"). Present from the start, the dict never grows.
EC2BaseResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER.setdefault(
    "DescribeKeyPairsResult.KeyPairs.KeyPairInfo.PublicKey", never_return
)

if __name__ == "__main__":
    main()
